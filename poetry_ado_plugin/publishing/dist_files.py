"""The files in dist/ that a publish sends: only the project's current version, each read as
Poetry's own uploader reads it, and checked against the upload rules Azure enforces."""

from __future__ import annotations

import hashlib
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from poetry_ado_plugin.errors import DistFileError
from poetry_ado_plugin.names import normalize
from poetry_ado_plugin.simple_index import filename_name_version
from poetry_ado_plugin.simple_index import same_version


if TYPE_CHECKING:
    from packaging.metadata import RawMetadata

    from poetry_ado_plugin.publishing.feed_index import FeedProject


class DistFile:
    """A wheel or sdist in dist/ whose metadata names the project at its version."""

    __slots__ = ("_sha256", "metadata", "name", "path", "version")

    def __init__(
        self, path: Path, name: str, version: str, metadata: RawMetadata | None = None
    ) -> None:
        self.path = path
        self.name = name
        self.version = version
        self.metadata: RawMetadata = metadata if metadata is not None else {}
        self._sha256: str | None = None

    def __repr__(self) -> str:
        return f"DistFile({self.path.name!r})"

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def is_sdist(self) -> bool:
        return not self.filename.endswith(".whl")

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            digest = hashlib.sha256()
            with self.path.open("rb") as stream:
                for chunk in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(chunk)
            self._sha256 = digest.hexdigest()
        return self._sha256


@dataclass(frozen=True)
class IgnoredFile:
    path: Path
    reason: str


@dataclass(frozen=True)
class DistSelection:
    files: tuple[DistFile, ...]
    ignored: tuple[IgnoredFile, ...] = ()


def read_metadata(path: Path) -> RawMetadata:
    """A wheel's METADATA or an sdist's PKG-INFO, parsed as Poetry's own uploader parses it
    (``packaging.metadata.parse_email``), so the checks see the fields the upload sends.

    Raises DistFileError when the archive cannot be read or names no project or version."""
    from packaging.metadata import parse_email

    text: str | None = None
    try:
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    parts = member.split("/")
                    if (
                        len(parts) == 2
                        and parts[0].endswith(".dist-info")
                        and parts[1] == "METADATA"
                    ):
                        text = archive.read(member).decode("utf-8")
                        break
        else:
            with tarfile.open(path, "r:*") as archive:
                for info in archive:
                    parts = info.name.split("/")
                    if len(parts) == 2 and parts[1] == "PKG-INFO" and info.isfile():
                        extracted = archive.extractfile(info)
                        text = extracted.read().decode("utf-8") if extracted else None
                        break
    except (OSError, EOFError, UnicodeDecodeError, zipfile.BadZipFile, tarfile.TarError) as error:
        raise DistFileError(
            f"cannot read {path.name} ({type(error).__name__}): delete it and rebuild with "
            "poetry build"
        ) from None
    what = "METADATA" if path.name.endswith(".whl") else "PKG-INFO"
    if text is None:
        raise DistFileError(
            f"{path.name} has no {what}, so it is not a valid distribution: delete it and "
            "rebuild with poetry build"
        )
    metadata, _unparsed = parse_email(text)
    if not metadata.get("name") or not metadata.get("version"):
        raise DistFileError(
            f"the {what} of {path.name} names no project or version: delete it and rebuild "
            "with poetry build"
        )
    return metadata


def select_dist_files(dist_dir: Path, name: str, version: str) -> DistSelection:
    """The wheels and sdists in ``dist_dir`` of project ``name`` at ``version``.

    Files of the project at other versions are ignored (and listed); files of other projects are
    not looked at. A file whose name says ``version`` but whose metadata disagrees stops the
    run, as does finding nothing to publish."""
    project = normalize(name)
    files: list[DistFile] = []
    ignored: list[IgnoredFile] = []
    others: list[str] = []
    candidates = sorted(dist_dir.iterdir()) if dist_dir.is_dir() else []
    for path in candidates:
        if not path.is_file() or not path.name.endswith((".whl", ".tar.gz")):
            continue
        parsed = filename_name_version(path.name)
        if parsed is None or normalize(parsed[0]) != project:
            continue
        file_version = parsed[1]
        if not same_version(file_version, version):
            ignored.append(
                IgnoredFile(path, f"it is version {file_version}; the project is {version}")
            )
            others.append(file_version)
            continue
        metadata = read_metadata(path)
        meta_name, meta_version = metadata["name"].strip(), metadata["version"].strip()
        if normalize(meta_name) != project or not same_version(meta_version, version):
            what = "METADATA" if path.name.endswith(".whl") else "PKG-INFO"
            raise DistFileError(
                f"{path.name} says it is {meta_name} {meta_version} in its {what}, but the "
                f"project is {name} {version}: delete the file and rebuild with poetry build "
                "(or --build)"
            )
        files.append(DistFile(path, meta_name, meta_version, metadata))
    if not files:
        found = f" (found only other versions: {', '.join(sorted(set(others)))})" if others else ""
        raise DistFileError(
            f"no files of {name} {version} in {dist_dir}{found}: run poetry build first, or "
            "pass --build"
        )
    # sdist first, as Poetry 2.3+ uploads them
    files.sort(key=lambda f: (f.filename.endswith(".whl"), f.filename))
    return DistSelection(tuple(files), tuple(ignored))


# Azure's upload rules that a build can break (docs/azure-artifacts.md, "Upload"). Each is
# checked before the first byte is sent: Azure would read the whole file and then answer 400.
MAX_FILE_BYTES = 524_288_000
MAX_PROJECT_URL_LABEL = 32
MAX_SUMMARY = 511


def check_azure_rules(selection: DistSelection, feed_project: FeedProject) -> None:
    """Raise DistFileError, naming the rule and the fix, for the first rule a file breaks."""
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement
    from packaging.version import InvalidVersion
    from packaging.version import Version

    for dist in selection.files:
        size = dist.path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DistFileError(
                f"{dist.filename} is {size:,} bytes, and Azure Artifacts takes files of at most "
                f"{MAX_FILE_BYTES:,} bytes (500 MB): leave large data out of the package"
            )
        try:
            local = Version(dist.version).local
        except InvalidVersion:
            local = None
        if local:
            public = dist.version.split("+", 1)[0]
            raise DistFileError(
                f"{dist.name} {dist.version} has a local version segment (+{local}), which Azure "
                f"Artifacts refuses: publish a public version instead (poetry version {public})"
            )
        for line in dist.metadata.get("requires_dist", []):
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if requirement.url:
                raise DistFileError(
                    f"{dist.filename} requires {requirement.name} by a direct URL reference "
                    f"({requirement.name} @ ...), which Azure Artifacts refuses: depend on a "
                    "released version from an index instead"
                )
        for label in dist.metadata.get("project_urls", {}):
            if len(label) > MAX_PROJECT_URL_LABEL:
                raise DistFileError(
                    f"the project URL label {label[:40]!r} of {dist.filename} is {len(label)} "
                    f"characters long, and Azure Artifacts takes at most "
                    f"{MAX_PROJECT_URL_LABEL}: shorten it in pyproject.toml's URLs"
                )
        summary = dist.metadata.get("summary", "")
        if len(summary) > MAX_SUMMARY or "\n" in summary:
            shape = "spans several lines" if "\n" in summary else f"is {len(summary)} characters"
            raise DistFileError(
                f"the summary of {dist.filename} {shape}, and Azure Artifacts takes one line of "
                f"at most {MAX_SUMMARY} characters: shorten the description in pyproject.toml"
            )
    sdists = [d for d in selection.files if d.is_sdist]
    version = selection.files[0].version
    theirs = [
        f.filename
        for f in feed_project.files_of_version(version)
        if not f.filename.endswith(".whl")
        and all(f.filename.casefold() != d.filename.casefold() for d in sdists)
    ]
    if len(sdists) > 1 or (sdists and theirs):
        others = ", ".join([*(d.filename for d in sdists[1:]), *theirs])
        where = f"feed {feed_project.feed}" if theirs else "dist/"
        raise DistFileError(
            f"Azure Artifacts takes one sdist per version, and {where} already has another "
            f"one of {sdists[0].name} {version} ({others}): publish the wheels only, or remove "
            "the extra sdist"
        )
