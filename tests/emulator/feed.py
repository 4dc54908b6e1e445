"""One emulated Azure Artifacts feed: names, URLs, storage and its pypiserver app."""

from __future__ import annotations

import re
import shutil
import threading
import uuid
from collections.abc import Sequence
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
    from tests.emulator.emulator import FeedEmulator


DEFAULT_VIEWS: tuple[str, ...] = ("Local", "Prerelease", "Release")
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
    """One Azure Artifacts feed: its URLs, its storage and its pypiserver app."""

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
    ) -> None:
        self._emulator = emulator
        self.organization = organization
        self.project = project
        self.name = name
        self.views: tuple[str, ...] = tuple(views)
        self.prefix = "/" + "/".join(segments(prefix)) if segments(prefix) else ""
        self.storage = storage
        self.guid_links = guid_links
        scope = "/".join(s.casefold() for s in (*segments(prefix), organization or ""))
        self.project_id: str | None = (
            str(uuid.uuid5(_GUID_NAMESPACE, f"{scope}/{project.casefold()}")) if project else None
        )
        self.feed_id = str(
            uuid.uuid5(_GUID_NAMESPACE, f"{scope}/{project or ''}/{name}".casefold())
        )
        self._deleted: set[tuple[str, Version | str]] = set()
        self.upload_lock = threading.Lock()
        self.app = _pypiserver.make_app(storage)

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

    def view_name(self, view: str) -> str | None:
        """The configured spelling of `view` (views are case-insensitive), or None."""
        return next((v for v in self.views if v.casefold() == view.casefold()), None)

    def path(self, view: str | None = None, *, by_guid: bool = False) -> str:
        """The percent-encoded feed path ending in `/pypi` (no host, no trailing slash)."""
        scope = list(self.scope_segments)
        if by_guid and self.project_id:
            scope[-1] = self.project_id
        feed = self.feed_id if by_guid else self.name
        if view is not None:
            if self.view_name(view) is None:
                raise ValueError(f"feed {self.name!r} has no view {view!r}")
            feed = f"{feed}@{view}"
        parts = [quote(s, safe="") for s in scope] + [quote(feed, safe="@"), "pypi"]
        parts.insert(len(scope), "_packaging")
        return "/" + "/".join(parts)

    @property
    def url(self) -> str:
        """`{base}/.../_packaging/{feed}/pypi` (no trailing slash)."""
        return self._emulator.base_url + self.path()

    @property
    def index_url(self) -> str:
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

    def download_path(self, filename: str) -> str:
        """Azure's download path for a stored file: `.../pypi/download/{name}/{version}/{file}`."""
        guessed = _pypiserver.name_and_version(filename)
        name, version = guessed if guessed else ("unknown", "0")
        tail = "/".join(quote(p, safe="") for p in (canonicalize_name(name), version, filename))
        return f"{self.path(by_guid=self.guid_links)}/download/{tail}"

    def download_url(self, filename: str) -> str:
        return self._emulator.base_url + self.download_path(filename)

    # -- storage --------------------------------------------------------------------------

    def stored_files(self) -> list[str]:
        """File names in the feed's storage, sorted."""
        return sorted(
            p.name for p in self.storage.iterdir() if p.is_file() and not p.name.startswith(".")
        )

    def has_file(self, filename: str) -> bool:
        return any(f.casefold() == filename.casefold() for f in self.stored_files())

    def add_file(self, path: Path) -> Path:
        """Seed: copy a distribution file straight into the feed's storage (no upload recorded)."""
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

    def delete_version(self, name: str, version: str) -> list[str]:
        """Delete every file of `name` `version`; the version can never be published again.

        Returns the names of the removed files.
        """
        key = (canonicalize_name(name), _version_key(version))
        removed = []
        with self.upload_lock:
            self._deleted.add(key)
            for filename in self.stored_files():
                guessed = _pypiserver.name_and_version(filename)
                if guessed and (canonicalize_name(guessed[0]), _version_key(guessed[1])) == key:
                    (self.storage / filename).unlink()
                    removed.append(filename)
        return removed

    def is_deleted(self, name: str, version: str) -> bool:
        return (canonicalize_name(name), _version_key(version)) in self._deleted

    def uploads(self) -> list[RecordedUpload]:
        return self._emulator.uploads(self)

    def requests(self) -> list[RecordedRequest]:
        return [r for r in self._emulator.requests if r.feed is self]
