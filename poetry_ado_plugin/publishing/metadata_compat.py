"""Declaring Metadata-Version 2.1 in the upload for files that say a newer one, for Azure DevOps
Server, which refuses anything above 2.1."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from poetry_ado_plugin.errors import DistFileError
from poetry_ado_plugin.publishing.dist_files import DistSelection


# Azure DevOps Server 2022 takes these Metadata-Versions only, and decides from the upload's
# ``metadata_version`` form field, not from the file (docs/azure-artifacts.md, "Upload").
SERVER_METADATA_VERSIONS = ("1.0", "1.1", "1.2", "2.0", "2.1")
COMPAT_METADATA_VERSION = "2.1"


@dataclass(frozen=True)
class MetadataCompat:
    """An upload that declares Metadata-Version 2.1 for files that say a newer one.

    Declaring 2.1 in the form, rather than uploading a rewritten copy, was chosen because the
    server checks only the form field: the files on the feed stay byte for byte the ones in
    dist/ (their sha256 is what poetry.lock records), and nothing in dist/ is touched. It is
    done only when every field the files carry can be said in 2.1 (``notes`` says how)."""

    declared: str
    notes: tuple[str, ...]

    def describe(self) -> str:
        how = f": {'; '.join(self.notes)}" if self.notes else ""
        return (
            f"Declaring Metadata-Version {COMPAT_METADATA_VERSION} in the upload (the files say "
            f"{self.declared}; Azure DevOps Server takes {COMPAT_METADATA_VERSION} at most){how}."
            " The files themselves are uploaded unchanged."
        )


def downgrade_fields(fields: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``fields`` (upload form fields, or parsed metadata) as Metadata-Version 2.1 says them,
    and one note per change. Raises DistFileError when a field has no 2.1 equivalent."""
    from packaging.version import InvalidVersion
    from packaging.version import Version

    declared = str(fields.get("metadata_version") or "")
    try:
        too_new = Version(declared) > Version(COMPAT_METADATA_VERSION)
        major = Version(declared).major
    except InvalidVersion:
        too_new, major = True, 0
    result = dict(fields)
    if not too_new:
        return result, ()
    if major != 2:
        raise DistFileError(
            f"the files say Metadata-Version {declared or '(none)'}, which this publish cannot "
            f"state as {COMPAT_METADATA_VERSION}: build with a Poetry whose poetry-core writes "
            "Metadata-Version 2.x"
        )
    notes = []
    expression = result.pop("license_expression", None)
    if expression:
        license_text = result.get("license")
        if license_text and str(license_text).strip() != str(expression).strip():
            raise DistFileError(
                f"the files carry both License ({license_text!r}) and License-Expression "
                f"({expression!r}), and Metadata-Version {COMPAT_METADATA_VERSION} has room for "
                "one: keep only license = in pyproject.toml, or publish with "
                "--keep-metadata-version to a server that takes the newer metadata"
            )
        result["license"] = expression
        notes.append("License-Expression sent as License")
    if result.pop("license_files", None) or result.pop("license_file", None):
        notes.append("License-File left out (the license files stay in the archive)")
    if result.pop("dynamic", None):
        notes.append("Dynamic left out (it only tells an index what a wheel may change)")
    if result.pop("import_names", None) or result.pop("import_namespaces", None):
        notes.append("Import-Name left out (a hint for tools)")
    for key in ("license_files", "license_file", "dynamic", "import_names", "import_namespaces"):
        result.pop(key, None)
    result["metadata_version"] = COMPAT_METADATA_VERSION
    return result, tuple(notes)


def plan_metadata_compat(selection: DistSelection) -> MetadataCompat | None:
    """What declaring 2.1 changes for these files; None when they say 2.1 or older already.
    Raises DistFileError when a file says something 2.1 cannot."""
    declared = [str(d.metadata.get("metadata_version", "")) for d in selection.files]
    if all(version in SERVER_METADATA_VERSIONS for version in declared):
        return None
    notes: list[str] = []
    for dist in selection.files:
        for note in downgrade_fields(dist.metadata)[1]:
            if note not in notes:
                notes.append(note)
    newest = max(declared, key=_version_key)
    return MetadataCompat(newest, tuple(notes))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))
