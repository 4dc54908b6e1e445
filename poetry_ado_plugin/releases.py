"""After publishing: which versions a feed holds, promotion of one into a view, and each
package's "versions from external upstreams" setting. Pure logic over a ``DevOpsClient``; the
``versions``, ``promote`` and ``protect`` commands and ``publish --promote`` render it.

Facts relied on (docs/azure-artifacts.md, "REST API" and "Upstream sources"): versions are
immutable, and a deleted number can never be published again; a view shows only the versions
promoted to it (``Local``, the implicit view, shows every version the feed holds); promotion
cannot be undone; ``auto`` means that once a name has a version of the feed's own, versions of
it from external upstreams (PyPI) are no longer offered, ``allowExternalVersions`` lets them in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal

from poetry_ado_plugin.devops_api import ALLOW_EXTERNAL
from poetry_ado_plugin.devops_api import AUTO
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.names import is_valid_name
from poetry_ado_plugin.names import normalize


if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterable

    from poetry_ado_plugin.audit import PrivateDependency
    from poetry_ado_plugin.devops_api import DevOpsClient
    from poetry_ado_plugin.devops_api import FeedPackage
    from poetry_ado_plugin.devops_api import PackageVersion
    from poetry_ado_plugin.name_check import UpstreamingRead


SCHEMA = 1
DEMOTION_IMPOSSIBLE = (
    "Azure Artifacts cannot take a version out of a view: promotion is final (demotion is "
    "impossible). Promote a newer version instead, or have consumers pin the version they want"
)
MAX_LISTED = 8

State = Literal["new", "published", "deleted", "upstream"]


# --------------------------------------------------------------------------------------------
# versions


@dataclass(frozen=True)
class VersionRow:
    version: str
    published: str | None
    views: tuple[str, ...]
    deleted: bool
    upstream: str | None
    """The upstream source it was saved from; None for the feed's own versions."""
    current: bool


@dataclass(frozen=True)
class VersionsReport:
    feed: str
    source: str
    name: str
    normalized: str
    found: bool
    rows: tuple[VersionRow, ...]
    current_version: str | None = None
    current_state: State | None = None

    @property
    def publishable(self) -> bool | None:
        """Whether the project's version can still be published; None without one."""
        return None if self.current_state is None else self.current_state == "new"

    def current_line(self) -> str | None:
        """One line about the project's own version, or None when it is not the project."""
        version, state = self.current_version, self.current_state
        if version is None or state is None:
            return None
        what = f"{self.name} {version}"
        if state == "new":
            return f"{what} (the project's version) is not on {self.feed}: it can be published."
        if state == "deleted":
            return (
                f"{what} (the project's version) was deleted from {self.feed}: a deleted version "
                "can never be published again; give the project a new version"
            )
        if state == "upstream":
            return (
                f"{what} (the project's version) is on {self.feed} from an upstream source: it "
                "cannot be published there; give the project a version the public package lacks"
            )
        return (
            f"{what} (the project's version) is already on {self.feed}: versions are immutable, "
            "so it cannot be published again; give the project a new version"
        )


def list_versions(
    client: DevOpsClient,
    name: str,
    *,
    current_version: str | None = None,
    include_deleted: bool = False,
) -> VersionsReport:
    """The versions of ``name`` on the client's feed, newest first. ``current_version`` (the
    project's) is marked and judged, also when it was deleted and deleted ones are not shown."""
    _require_valid(name)
    package = client.package(name, include_deleted=True)
    versions = package.versions if package is not None else ()
    upstream_names: dict[str, str] = {}
    if any(v.upstream_source_id for v in versions):
        feed = client.get_feed()
        upstream_names = {s.id: s.name for s in feed.upstream_sources}
    current = package.find(current_version) if package and current_version else None
    rows = tuple(
        VersionRow(
            version=v.version,
            published=v.publish_date,
            views=v.views,
            deleted=v.is_deleted,
            upstream=(
                upstream_names.get(v.upstream_source_id, v.upstream_source_id)
                if v.upstream_source_id
                else None
            ),
            current=v is current,
        )
        for v in _newest_first(versions)
        if include_deleted or not v.is_deleted
    )
    state: State | None = None
    if current_version is not None:
        state = _state(current)
    return VersionsReport(
        feed=client.feed.name,
        source=client.source,
        name=package.name if package is not None else name,
        normalized=normalize(name),
        found=package is not None,
        rows=rows,
        current_version=current_version,
        current_state=state,
    )


def _state(version: PackageVersion | None) -> State:
    if version is None:
        return "new"
    if version.is_deleted:
        return "deleted"
    if version.upstream_source_id:
        return "upstream"
    return "published"


def _newest_first(versions: Iterable[PackageVersion]) -> list[PackageVersion]:
    from packaging.version import InvalidVersion
    from packaging.version import Version

    def key(v: PackageVersion) -> tuple[int, Version, str]:
        try:
            return (1, Version(v.version), "")
        except InvalidVersion:
            return (0, Version("0"), v.version)

    return sorted(versions, key=key, reverse=True)


def versions_to_dict(report: VersionsReport) -> dict[str, Any]:
    """The ``versions --format json`` document (``schema`` 1, documented in the README)."""
    current = None
    if report.current_version is not None:
        current = {
            "version": report.current_version,
            "state": report.current_state,
            "publishable": report.publishable,
        }
    return {
        "schema": SCHEMA,
        "feed": report.feed,
        "source": report.source,
        "name": report.name,
        "normalized": report.normalized,
        "found": report.found,
        "current": current,
        "versions": [
            {
                "version": row.version,
                "published": row.published,
                "views": list(row.views),
                "deleted": row.deleted,
                "upstream": row.upstream,
                "current": row.current,
            }
            for row in report.rows
        ],
    }


# --------------------------------------------------------------------------------------------
# promote


@dataclass(frozen=True)
class PromoteResult:
    feed: str
    name: str
    version: str
    view: str
    changed: bool

    def message(self) -> str:
        if not self.changed:
            return (
                f"{self.name} {self.version} is already in view {self.view} of {self.feed}; "
                "nothing to do."
            )
        return f"Promoted {self.name} {self.version} to view {self.view} of {self.feed}."

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "feed": self.feed,
            "name": self.name,
            "version": self.version,
            "view": self.view,
            "changed": self.changed,
        }


def promote_version(client: DevOpsClient, name: str, version: str, view: str) -> PromoteResult:
    """Promote ``name`` ``version`` into ``view``; a version already there is a no-op.

    The view must exist (the error lists the feed's views) and the version must be on the feed
    and not deleted (the error lists the versions there)."""
    _require_valid(name)
    views = client.views()
    match = next(
        (v for v in views if view.casefold() in (v.name.casefold(), v.id.casefold())), None
    )
    feed = client.feed.name
    if match is None:
        listed = ", ".join(v.name for v in views) or "none"
        raise UsageError(
            f"feed {feed} has no view {view!r} (its views: {listed}): pass one of them to --view"
        )
    package = client.package(name, include_deleted=True)
    entry = package.find(version) if package is not None else None
    if package is None or entry is None:
        raise UsageError(
            f"{name} {version} is not on feed {feed} ({_versions_there(package)}): publish it "
            "first (poetry ado publish), or name a version the feed has"
        )
    if entry.is_deleted:
        raise UsageError(
            f"{name} {entry.version} was deleted from feed {feed}: restore it from the feed's "
            "recycle bin before promoting it"
        )
    if entry.in_view(match.name):
        return PromoteResult(feed, package.name, entry.version, match.name, changed=False)
    client.promote(package.name, entry.version, match.name)
    return PromoteResult(feed, package.name, entry.version, match.name, changed=True)


def _versions_there(package: FeedPackage | None) -> str:
    alive = [
        v.version for v in _newest_first(package.versions if package else ()) if not v.is_deleted
    ]
    if not alive:
        return "the feed has no version of it"
    shown = ", ".join(alive[:MAX_LISTED]) + (", …" if len(alive) > MAX_LISTED else "")
    return f"versions there: {shown}"


# --------------------------------------------------------------------------------------------
# protect


@dataclass(frozen=True)
class ProtectRow:
    name: str
    normalized: str
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


def describe_setting(value: str) -> str:
    if value == AUTO:
        return "auto (PyPI versions blocked once the feed has its own)"
    if value == ALLOW_EXTERNAL:
        return "allowExternalVersions (PyPI versions let in)"
    return value


def read_settings(client: DevOpsClient, names: Iterable[str]) -> dict[str, str]:
    """``versionsFromExternalUpstreams`` of each name, by name as given."""
    settings: dict[str, str] = {}
    for name in names:
        _require_valid(name)
        settings[name] = client.upstreaming(name)
    return settings


def apply_setting(client: DevOpsClient, before: dict[str, str], target: str) -> list[ProtectRow]:
    """Set ``target`` where ``before`` differs; the "after" column is read back from the feed."""
    rows = []
    for name, value in before.items():
        after = value
        if value != target:
            client.set_upstreaming(name, target)
            after = client.upstreaming(name)
        rows.append(ProtectRow(name, normalize(name), value, after))
    return rows


def protect_to_dict(feed: str, target: str, rows: Iterable[ProtectRow]) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "feed": feed,
        "setting": target,
        "packages": [
            {
                "name": row.name,
                "normalized": row.normalized,
                "before": row.before,
                "after": row.after,
                "changed": row.changed,
            }
            for row in rows
        ],
    }


def unique_names(names: Iterable[str]) -> list[str]:
    """``names`` without repeats by normal form, in order."""
    seen: set[str] = set()
    result = []
    for name in names:
        key = normalize(name)
        if key not in seen:
            seen.add(key)
            result.append(name)
    return result


def _require_valid(name: str) -> None:
    if not is_valid_name(name):
        raise UsageError(
            f"{name!r} is not a valid package name (letters, digits, '.', '_', '-', starting "
            "and ending with a letter or digit)"
        )


def render_json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# check-name --dependencies: the setting of each private dependency


def read_dependency_settings(
    dependencies: Iterable[PrivateDependency],
    open_client: Callable[[PrivateDependency], DevOpsClient],
) -> dict[str, UpstreamingRead]:
    """Each dependency's upstream setting on its feed, by normal name. ``open_client`` gives a
    client for a dependency's source (one per source) or raises AdoError (no credential...);
    a setting that cannot be read is recorded with the reason, never guessed."""
    from poetry_ado_plugin.errors import AdoError
    from poetry_ado_plugin.name_check import UpstreamingRead

    clients: dict[str, DevOpsClient | str] = {}
    found: dict[str, UpstreamingRead] = {}
    try:
        for dependency in dependencies:
            key = dependency.source.casefold()
            if key not in clients:
                try:
                    clients[key] = open_client(dependency)
                except AdoError as error:
                    clients[key] = str(error)
            client = clients[key]
            if isinstance(client, str):
                found[dependency.normalized] = UpstreamingRead(None, client)
                continue
            try:
                found[dependency.normalized] = UpstreamingRead(client.upstreaming(dependency.name))
            except AdoError as error:
                found[dependency.normalized] = UpstreamingRead(None, str(error))
    finally:
        for client in clients.values():
            if not isinstance(client, str):
                client.close()
    return found
