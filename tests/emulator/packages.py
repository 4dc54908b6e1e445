"""Build tiny, valid distributions and upload them the way twine and Poetry do.

`build_wheel` makes an installable pure-Python wheel (METADATA, WHEEL, RECORD with hashes)
without any build tool; `build_sdist` makes a matching source archive. `upload_fields` is the
multipart form of the legacy upload API (`:action=file_upload`); `upload_file` posts it.
"""

from __future__ import annotations

import base64
import email.message
import email.parser
import hashlib
import io
import re
import tarfile
import zipfile
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path

import requests


_EPOCH = (2020, 1, 1, 0, 0, 0)


def distribution_name(name: str) -> str:
    """The file-name form of a project name (PEP 427/625): runs of `-_.` become `_`, lower case."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _metadata(
    name: str,
    version: str,
    *,
    summary: str,
    requires: Sequence[str],
    requires_python: str | None,
    metadata_version: str = "2.1",
) -> str:
    lines = [
        f"Metadata-Version: {metadata_version}",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary}",
    ]
    if requires_python:
        lines.append(f"Requires-Python: {requires_python}")
    lines.extend(f"Requires-Dist: {requirement}" for requirement in requires)
    return "\n".join(lines) + "\n\n"


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode('ascii')}"


def build_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    summary: str = "A tiny package built for tests.",
    modules: Mapping[str, str] | None = None,
    metadata_version: str = "2.1",
) -> Path:
    """Write `{dist}-{version}-py3-none-any.whl` into `directory` and return its path.

    `modules` maps file paths inside the wheel to their text; by default one module named after the
    distribution, defining `__version__`. The archive is byte-for-byte reproducible.
    """
    dist = distribution_name(name)
    info = f"{dist}-{version}.dist-info"
    files: dict[str, bytes] = {
        path: text.encode("utf-8")
        for path, text in (
            modules or {f"{dist}/__init__.py": f'__version__ = "{version}"\n'}
        ).items()
    }
    files[f"{info}/METADATA"] = _metadata(
        name,
        version,
        summary=summary,
        requires=requires,
        requires_python=requires_python,
        metadata_version=metadata_version,
    ).encode("utf-8")
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: tests.emulator\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode("utf-8")

    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            entry = zipfile.ZipInfo(path, date_time=_EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, data)
    return target


def build_sdist(
    directory: Path,
    name: str,
    version: str,
    *,
    requires: Sequence[str] = (),
    requires_python: str | None = None,
    summary: str = "A tiny package built for tests.",
    metadata_version: str = "2.1",
) -> Path:
    """Write `{dist}-{version}.tar.gz` (PKG-INFO, pyproject.toml, one module) into `directory`."""
    dist = distribution_name(name)
    root = f"{dist}-{version}"
    dependencies = ", ".join(f'"{requirement}"' for requirement in requires)
    python_line = f'requires-python = "{requires_python}"\n' if requires_python else ""
    pyproject = (
        "[project]\n"
        f'name = "{name}"\n'
        f'version = "{version}"\n'
        f'description = "{summary}"\n'
        f"dependencies = [{dependencies}]\n"
        f"{python_line}"
        "\n[build-system]\n"
        'requires = ["poetry-core>=2.0,<3"]\n'
        'build-backend = "poetry.core.masonry.api"\n'
        "\n[tool.poetry]\n"
        f'packages = [{{ include = "{dist}" }}]\n'
    )
    files = {
        f"{root}/PKG-INFO": _metadata(
            name,
            version,
            summary=summary,
            requires=requires,
            requires_python=requires_python,
            metadata_version=metadata_version,
        ),
        f"{root}/pyproject.toml": pyproject,
        f"{root}/{dist}/__init__.py": f'__version__ = "{version}"\n',
    }
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{root}.tar.gz"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, text in files.items():
            data = text.encode("utf-8")
            entry = tarfile.TarInfo(path)
            entry.size = len(data)
            entry.mode = 0o644
            entry.mtime = 1577836800
            archive.addfile(entry, io.BytesIO(data))
    target.write_bytes(buffer.getvalue())
    return target


FormFields = dict[str, str | list[str]]


def upload_fields(path: Path, *, name: str | None = None, version: str | None = None) -> FormFields:
    """The form fields twine and Poetry send with `:action=file_upload` for the file at `path`.

    The core metadata fields (`metadata_version`, `summary`, `requires_python`, `requires_dist`,
    `project_urls`, ...) come from the archive's METADATA/PKG-INFO, named as the upload API
    names them; name and version default to what the archive says.
    """
    data = path.read_bytes()
    guessed_name, guessed_version = _read_name_and_version(path)
    is_wheel = path.name.endswith(".whl")
    fields: FormFields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "metadata_version": "2.1",
    }
    metadata = read_core_metadata(path)
    if metadata is not None:
        for key in set(metadata.keys()):
            values = [str(v) for v in metadata.get_all(key) or []]
            field = key.lower().replace("-", "_")
            if field in _MULTIPLE_USE:
                fields[_MULTIPLE_USE[field]] = values
            elif values:
                fields[field] = values[0]
        body = metadata.get_payload()
        if isinstance(body, str) and body.strip():
            fields["description"] = body
    fields.update(
        {
            "name": name or guessed_name,
            "version": version or guessed_version,
            "filetype": "bdist_wheel" if is_wheel else "sdist",
            "pyversion": "py3" if is_wheel else "source",
            "md5_digest": hashlib.md5(data, usedforsecurity=False).hexdigest(),
            "sha256_digest": hashlib.sha256(data).hexdigest(),
            "blake2_256_digest": hashlib.blake2b(data, digest_size=32).hexdigest(),
        }
    )
    return fields


# Core metadata fields that may repeat, and their upload-API form field names.
_MULTIPLE_USE = {
    "classifier": "classifiers",
    "requires_dist": "requires_dist",
    "provides_extra": "provides_extra",
    "project_url": "project_urls",
    "platform": "platform",
    "supported_platform": "supported_platform",
    "license_file": "license_file",
    "dynamic": "dynamic",
    "requires_external": "requires_external",
    "provides_dist": "provides_dist",
    "obsoletes_dist": "obsoletes_dist",
}


def upload_file(
    url: str,
    path: Path,
    *,
    auth: tuple[str, str] | None,
    headers: Mapping[str, str] | None = None,
    fields: Mapping[str, str | list[str]] | None = None,
    timeout: float = 30,
) -> requests.Response:
    """POST `path` to `url` as a twine-style multipart upload and return the response."""
    form = upload_fields(path)
    form.update(fields or {})
    with path.open("rb") as stream:
        return requests.post(
            url,
            data=form,
            files={"content": (path.name, stream, "application/octet-stream")},
            auth=auth,
            headers=dict(headers or {}),
            timeout=timeout,
            allow_redirects=False,
        )


def read_core_metadata(path: Path) -> email.message.Message | None:
    """The METADATA (wheel) or PKG-INFO (sdist) of a distribution file; None when unreadable."""
    text = ""
    try:
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as archive:
                member = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
                text = archive.read(member).decode("utf-8")
        elif path.name.endswith((".tar.gz", ".tgz")):
            with tarfile.open(path) as archive:
                info = next(
                    m
                    for m in archive.getmembers()
                    if m.name.count("/") == 1 and m.name.endswith("/PKG-INFO")
                )
                extracted = archive.extractfile(info)
                text = extracted.read().decode("utf-8") if extracted else ""
    except (OSError, StopIteration, UnicodeDecodeError, zipfile.BadZipFile, tarfile.TarError):
        text = ""
    return email.parser.Parser().parsestr(text) if text else None


def _read_name_and_version(path: Path) -> tuple[str, str]:
    """Name and version from the archive's METADATA/PKG-INFO, else from the file name."""
    headers = read_core_metadata(path)
    if headers is not None and headers.get("Name") and headers.get("Version"):
        return str(headers["Name"]), str(headers["Version"])
    return _name_and_version(path.name)


def _name_and_version(filename: str) -> tuple[str, str]:
    if filename.endswith(".whl"):
        parts = filename[: -len(".whl")].split("-")
        return parts[0], parts[1]
    for suffix in (".tar.gz", ".zip", ".tar.bz2", ".tgz"):
        if filename.endswith(suffix):
            stem = filename[: -len(suffix)]
            name, _, version = stem.rpartition("-")
            return name, version
    raise ValueError(f"not a distribution file name: {filename!r}")
