"""One emulated Azure Artifacts feed: names, GUIDs, URLs, storage and upstream bookkeeping."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion
from packaging.version import Version

from tests.emulator import _pypiserver
from tests.emulator.records import RecordedRequest
from tests.emulator.records import RecordedUpload


if TYPE_CHECKING:
    from tests.emulator._upstream import UpstreamSource
    from tests.emulator.emulator import FeedEmulator
    from tests.emulator.records import TokenGrant


DEFAULT_VIEWS: tuple[str, ...] = ("Local", "Prerelease", "Release")
# Azure's implicit view: every version published to the feed or saved from an upstream.
LOCAL_VIEW = "Local"
_GUID_NAMESPACE = uuid.UUID("5f1c0d3e-7a4b-4f7e-9a61-0d6a3c2b9e10")
_ORG_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,48}[A-Za-z0-9])?$")
_PROJECT_FORBIDDEN = set("/:\\~&%;@'\"?<>|#$*}{,+=[]")
_FEED_FORBIDDEN = set('@~;{}\\+=<>|/?:&$*"#[]')


def segments(prefix: str) -> tuple[str, ...]:
    return tuple(part for part in prefix.strip("/").split("/") if part)


def _version_key(version: str) -> Version | str:
    """PEP 440 identity: "1.0" and "1.0.0" are the same version."""
    try:
        return Version(version)
    except InvalidVersion:
        return version


def normalized_version(version: str) -> str:
    """The version as Azure writes it in download links: trailing `.0` release parts dropped."""
    try:
        parsed = Version(version)
    except InvalidVersion:
        return version
    release = list(parsed.release)
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    text = ".".join(str(part) for part in release)
    if parsed.epoch:
        text = f"{parsed.epoch}!{text}"
    if parsed.pre is not None:
        text += f"{parsed.pre[0]}{parsed.pre[1]}"
    if parsed.post is not None:
        text += f".post{parsed.post}"
    if parsed.dev is not None:
        text += f".dev{parsed.dev}"
    if parsed.local:
        text += f"+{parsed.local}"
    return text


def same_version(a: str, b: str) -> bool:
    return _version_key(a) == _version_key(b)


@dataclass(frozen=True)
class VersionRecord:
    """One version of a package as the REST API lists it (deleted ones included)."""

    name: str
    version: str
    published: float  # epoch seconds
    views: tuple[str, ...]
    deleted: bool
    from_upstream: bool


@dataclass(frozen=True)
class StoredFile:
    """A distribution file held by the feed."""

    filename: str
    name: str  # as the file name spells it
    version: str
    sha256: str
    requires_python: str | None
    from_upstream: bool


def validate(organization: str | None, project: str | None, feed: str) -> None:
    if organization is not None and not _ORG_RE.match(organization):
        raise ValueError(f"invalid organization name: {organization!r}")
    if project is not None and (
        not project
        or len(project) > 64
        or set(project) & _PROJECT_FORBIDDEN
        or project.startswith(("_", "."))
        or project.endswith(".")
    ):
        raise ValueError(f"invalid project name: {project!r}")
    if (
        not feed
        or len(feed) > 64
        or any(ch.isspace() for ch in feed)
        or set(feed) & _FEED_FORBIDDEN
        or feed.startswith(("_", "."))
        or feed.endswith(".")
    ):
        raise ValueError(f"invalid feed name: {feed!r}")


class EmulatedFeed:
    """One Azure Artifacts feed: its URLs, its storage and what came from its upstream."""

    def __init__(
        self,
        emulator: FeedEmulator,
        *,
        organization: str | None,
        project: str | None,
        name: str,
        views: Sequence[str],
        prefix: str,
        storage: Path,
        guid_links: bool,
        upstream: UpstreamSource | None = None,
    ) -> None:
        self._emulator = emulator
        self.organization = organization
        self.project = project
        self.name = name
        self.views: tuple[str, ...] = tuple(views)
        self.prefix = "/" + "/".join(segments(prefix)) if segments(prefix) else ""
        self.storage = storage
        self.guid_links = guid_links
        self.upstream = upstream
        scope = "/".join(s.casefold() for s in (*segments(prefix), organization or ""))
        self.project_id: str | None = (
            str(uuid.uuid5(_GUID_NAMESPACE, f"{scope}/{project.casefold()}")) if project else None
        )
        self.feed_id = str(
            uuid.uuid5(_GUID_NAMESPACE, f"{scope}/{project or ''}/{name}".casefold())
        )
        self._deleted: set[tuple[str, Version | str]] = set()
        self._external_allowed: set[str] = set()
        self._promoted: dict[tuple[str, Version | str], set[str]] = {}
        self._deleted_records: dict[tuple[str, Version | str], VersionRecord] = {}
        self._metadata_cache: dict[tuple[str, int, int], tuple[str, str | None]] = {}
        self.upload_lock = threading.Lock()
        # The retention policy (`set_retention`): keep this many versions per package.
        self.retention_count_limit: int | None = None
        self.retention_days_recently_downloaded: int | None = None
        self._origins_file = storage / ".upstream-origins.json"
        self._origins: dict[str, str] = (
            json.loads(self._origins_file.read_text(encoding="utf-8"))
            if self._origins_file.is_file()
            else {}
        )

    def token_grants(self) -> tuple[TokenGrant, ...]:
        """Every token the emulator knows (for the feed's permissions list)."""
        emulator = self._emulator
        with emulator._lock:
            return tuple(emulator._tokens.values())

    def set_retention(
        self, count_limit: int | None, days_recently_downloaded: int | None = None
    ) -> None:
        """What `GET .../Feeds/{feed}/retentionpolicies` answers (None: no limit). Nothing is
        deleted by it: `delete_version` plays a version that retention removed."""
        self.retention_count_limit = count_limit
        self.retention_days_recently_downloaded = days_recently_downloaded

    def __repr__(self) -> str:
        scope = "/".join(p for p in (self.organization, self.project, self.name) if p)
        return f"EmulatedFeed({self.prefix}/{scope})"

    # -- naming and URLs ------------------------------------------------------------------

    @property
    def scope_segments(self) -> tuple[str, ...]:
        """The path segments before `_packaging`: prefix, organization, project."""
        org = (self.organization,) if self.organization else ()
        project = (self.project,) if self.project else ()
        return (*segments(self.prefix), *org, *project)

    def matches(self, scope: Sequence[str], feed: str) -> bool:
        if feed.casefold() not in (self.name.casefold(), self.feed_id):
            return False
        wanted = [s.casefold() for s in self.scope_segments]
        given = [s.casefold() for s in scope]
        if len(wanted) != len(given):
            return False
        if self.project is None or self.project_id is None:
            return wanted == given
        return wanted[:-1] == given[:-1] and given[-1] in (wanted[-1], self.project_id)

    def view_id(self, view: str) -> str:
        """The GUID of one of the feed's views."""
        canonical = self.view_name(view)
        if canonical is None:
            raise ValueError(f"feed {self.name!r} has no view {view!r}")
        return self._view_guid(canonical)

    def _view_guid(self, view: str) -> str:
        return str(uuid.uuid5(_GUID_NAMESPACE, f"{self.feed_id}@{view.casefold()}"))

    def view_name(self, view: str) -> str | None:
        """The configured spelling of `view`, given by name (any case) or GUID; else None."""
        for candidate in self.views:
            if view.casefold() in (candidate.casefold(), self._view_guid(candidate)):
                return candidate
        return None

    def path(self, view: str | None = None, *, by_guid: bool = False) -> str:
        """The percent-encoded feed path ending in `/pypi` (no host, no trailing slash)."""
        scope = list(self.scope_segments)
        if by_guid and self.project_id:
            scope[-1] = self.project_id
        feed = self.feed_id if by_guid else self.name
        if view is not None:
            if self.view_name(view) is None:
                raise ValueError(f"feed {self.name!r} has no view {view!r}")
            feed = f"{feed}@{self.view_id(view) if by_guid else view}"
        parts = [quote(s, safe="") for s in scope] + [quote(feed, safe="@"), "pypi"]
        parts.insert(len(scope), "_packaging")
        return "/" + "/".join(parts)

    @property
    def url(self) -> str:
        """`{base}/.../_packaging/{feed}/pypi` (no trailing slash)."""
        return self._emulator.base_url + self.path()

    @property
    def index_url(self) -> str:
        """`.../pypi/simple/`: the URL users configure. Azure answers 404 on it by itself."""
        return f"{self.url}/simple/"

    @property
    def upload_url(self) -> str:
        return f"{self.url}/upload/"

    @property
    def guid_index_url(self) -> str:
        """The index URL with project and feed given by GUID (Azure accepts both)."""
        return f"{self._emulator.base_url}{self.path(by_guid=True)}/simple/"

    def view_url(self, view: str) -> str:
        """The index URL of `{feed}@{view}`."""
        return f"{self._emulator.base_url}{self.path(view)}/simple/"

    def view_upload_url(self, view: str) -> str:
        """The upload URL of a view: every upload to it is refused."""
        return f"{self._emulator.base_url}{self.path(view)}/upload/"

    def project_url(self, name: str, view: str | None = None) -> str:
        """The simple-index page of project `name` (PEP 503 normalised)."""
        base = self.view_url(view) if view else self.index_url
        return f"{base}{canonicalize_name(name)}/"

    def download_path(self, filename: str, view: str | None = None) -> str:
        """Azure's download path: `.../pypi/download/{name}/{normalized version}/{file}`."""
        guessed = _pypiserver.name_and_version(filename)
        name, version = guessed if guessed else ("unknown", "0")
        tail = "/".join(
            quote(p, safe="")
            for p in (canonicalize_name(name), normalized_version(version), filename)
        )
        return f"{self.path(view, by_guid=self.guid_links)}/download/{tail}"

    def download_url(self, filename: str, view: str | None = None) -> str:
        return self._emulator.base_url + self.download_path(filename, view)

    # -- storage --------------------------------------------------------------------------

    def stored_files(self) -> list[str]:
        """File names in the feed's storage (published, seeded and saved from upstream), sorted."""
        return sorted(
            p.name for p in self.storage.iterdir() if p.is_file() and not p.name.startswith(".")
        )

    def upstream_files(self) -> list[str]:
        """The stored files that were saved from the upstream source, sorted."""
        stored = set(self.stored_files())
        with self.upload_lock:
            return sorted(f for f in self._origins if f in stored)

    def own_files(self) -> list[str]:
        """The stored files published or seeded into the feed itself, sorted."""
        upstream = set(self.upstream_files())
        return [f for f in self.stored_files() if f not in upstream]

    def is_from_upstream(self, filename: str) -> bool:
        with self.upload_lock:
            return filename in self._origins

    def upstream_origin(self, filename: str) -> str | None:
        """The upstream URL a saved file was copied from, or None for the feed's own files."""
        with self.upload_lock:
            return self._origins.get(filename)

    def has_file(self, filename: str) -> bool:
        return any(f.casefold() == filename.casefold() for f in self.stored_files())

    def file_path(self, filename: str) -> Path | None:
        """The stored file `filename` (case-insensitive) unless its version was deleted."""
        match = next((f for f in self.stored_files() if f.casefold() == filename.casefold()), None)
        if match is None:
            return None
        guessed = _pypiserver.name_and_version(match)
        if guessed and self.is_deleted(*guessed):
            return None
        return self.storage / match

    def files_of(self, name: str) -> list[StoredFile]:
        """The stored, not deleted files of project `name`, in version order."""
        wanted = canonicalize_name(name)
        result = []
        for filename in self.stored_files():
            guessed = _pypiserver.name_and_version(filename)
            if guessed is None or canonicalize_name(guessed[0]) != wanted:
                continue
            if self.is_deleted(*guessed):
                continue
            sha256, requires_python = self._file_metadata(self.storage / filename)
            result.append(
                StoredFile(
                    filename,
                    guessed[0],
                    guessed[1],
                    sha256,
                    requires_python,
                    self.is_from_upstream(filename),
                )
            )
        result.sort(key=lambda f: (_sort_key(f.version), f.filename))
        return result

    def _file_metadata(self, path: Path) -> tuple[str, str | None]:
        from tests.emulator.packages import read_core_metadata

        stat = path.stat()
        key = (path.name, stat.st_mtime_ns, stat.st_size)
        cached = self._metadata_cache.get(key)
        if cached is None:
            data = path.read_bytes()
            metadata = read_core_metadata(path)
            requires = metadata.get("Requires-Python") if metadata is not None else None
            cached = (hashlib.sha256(data).hexdigest(), str(requires) if requires else None)
            self._metadata_cache[key] = cached
        return cached

    def add_file(self, path: Path) -> Path:
        """Seed: copy a distribution file straight into the feed's storage (no upload recorded).

        Seeded files count as published to the feed itself.
        """
        if _pypiserver.name_and_version(path.name) is None:
            raise ValueError(f"not a distribution file name: {path.name!r}")
        target = self.storage / path.name
        shutil.copyfile(path, target)
        return target

    def add_package(
        self,
        name: str,
        version: str,
        *,
        requires: Sequence[str] = (),
        requires_python: str | None = None,
        sdist: bool = False,
    ) -> Path:
        """Seed: build a tiny wheel (or sdist) of `name` `version` directly into the storage."""
        from tests.emulator.packages import build_sdist
        from tests.emulator.packages import build_wheel

        build = build_sdist if sdist else build_wheel
        return build(
            self.storage, name, version, requires=requires, requires_python=requires_python
        )

    def store(self, filename: str, content: bytes, *, origin: str | None = None) -> Path:
        """Write a file into the storage; `origin` marks it as saved from that upstream URL."""
        target = self.storage / filename
        target.write_bytes(content)
        if origin is not None:
            self._origins[filename] = origin
            self._origins_file.write_text(json.dumps(self._origins, indent=1), encoding="utf-8")
        return target

    def save_upstream_version(self, name: str, version: str) -> list[str]:
        """Save every upstream file of `name` `version` into the feed, as a Collaborator's
        download would. Returns the saved file names."""
        return self._emulator.save_upstream_version(self, name, version)

    def allow_external_versions(self, name: str, allowed: bool = True) -> None:
        """The per-package "Allow external versions" setting (off by default).

        Off: once `name` has a version published to the feed itself, its upstream versions are
        no longer offered. It can be set before the package exists.
        """
        key = canonicalize_name(name)
        with self.upload_lock:
            if allowed:
                self._external_allowed.add(key)
            else:
                self._external_allowed.discard(key)

    def allows_external_versions(self, name: str) -> bool:
        with self.upload_lock:
            return canonicalize_name(name) in self._external_allowed

    def delete_version(self, name: str, version: str) -> list[str]:
        """Delete every file of `name` `version`; the version can never be published again.

        Returns the names of the removed files.
        """
        key = (canonicalize_name(name), _version_key(version))
        removed = []
        before = next(
            (r for r in self.version_records(name) if same_version(r.version, version)), None
        )
        with self.upload_lock:
            if before is not None:
                self._deleted_records[key] = VersionRecord(
                    before.name,
                    before.version,
                    before.published,
                    before.views,
                    True,
                    before.from_upstream,
                )
            self._deleted.add(key)
            for filename in self.stored_files():
                guessed = _pypiserver.name_and_version(filename)
                if guessed and (canonicalize_name(guessed[0]), _version_key(guessed[1])) == key:
                    (self.storage / filename).unlink()
                    removed.append(filename)
        return removed

    # -- views and versions (the REST API's view of the feed) -----------------------------

    def promote(self, name: str, version: str, view: str) -> bool:
        """Add `name` `version` to `view`, as Azure's promotion does; False when it already was.

        Raises LookupError for a version the feed does not hold (or deleted) and ValueError for
        a view the feed does not have. Demotion does not exist."""
        canonical = self.view_name(view)
        if canonical is None:
            raise ValueError(f"feed {self.name!r} has no view {view!r}")
        if not any(same_version(f.version, version) for f in self.files_of(name)):
            raise LookupError(f"feed {self.name!r} has no {name} {version}")
        key = (canonicalize_name(name), _version_key(version))
        with self.upload_lock:
            views = self._promoted.setdefault(key, set())
            if canonical == LOCAL_VIEW or canonical in views:
                return False
            views.add(canonical)
            return True

    def views_of(self, name: str, version: str) -> tuple[str, ...]:
        """The views that show `name` `version`: Local for every held version, then the views
        it was promoted to, in the feed's order."""
        key = (canonicalize_name(name), _version_key(version))
        with self.upload_lock:
            promoted = set(self._promoted.get(key, ()))
        local = (LOCAL_VIEW,) if LOCAL_VIEW in self.views else ()
        return (*local, *(v for v in self.views if v in promoted and v != LOCAL_VIEW))

    def in_view(self, name: str, version: str, view: str | None) -> bool:
        """Whether `view` (None: the feed itself) shows `name` `version`."""
        if view is None:
            return True
        canonical = self.view_name(view)
        return canonical is not None and canonical in self.views_of(name, version)

    def version_records(self, name: str, *, include_deleted: bool = False) -> list[VersionRecord]:
        """The held versions of `name` (and the deleted ones), oldest version first."""
        by_version: dict[Version | str, list[StoredFile]] = {}
        for stored in self.files_of(name):
            by_version.setdefault(_version_key(stored.version), []).append(stored)
        records = []
        for files in by_version.values():
            first = files[0]
            published = min((self.storage / f.filename).stat().st_mtime for f in files)
            records.append(
                VersionRecord(
                    self._project_name(files),
                    first.version,
                    published,
                    self.views_of(first.name, first.version),
                    False,
                    all(f.from_upstream for f in files),
                )
            )
        if include_deleted:
            wanted = canonicalize_name(name)
            with self.upload_lock:
                records += [r for k, r in self._deleted_records.items() if k[0] == wanted]
        records.sort(key=lambda r: _sort_key(r.version))
        return records

    def _project_name(self, files: list[StoredFile]) -> str:
        """The name as the files' metadata spell it (``Name:``), else as their file names do."""
        from tests.emulator.packages import read_core_metadata

        for stored in files:
            metadata = read_core_metadata(self.storage / stored.filename)
            if metadata is not None and metadata.get("Name"):
                return str(metadata["Name"])
        return files[0].name

    def package_names(self) -> list[str]:
        """Normal names of every package the feed holds or held."""
        names = set()
        for filename in self.stored_files():
            guessed = _pypiserver.name_and_version(filename)
            if guessed is not None:
                names.add(str(canonicalize_name(guessed[0])))
        with self.upload_lock:
            names.update(k[0] for k in self._deleted_records)
        return sorted(names)

    def is_deleted(self, name: str, version: str) -> bool:
        return (canonicalize_name(name), _version_key(version)) in self._deleted

    def uploads(self) -> list[RecordedUpload]:
        return self._emulator.uploads(self)

    def requests(self) -> list[RecordedRequest]:
        return [r for r in self._emulator.requests if r.feed is self]


def _sort_key(version: str) -> tuple[int, Version, str]:
    try:
        return (0, Version(version), "")
    except InvalidVersion:
        return (1, Version("0"), version)
