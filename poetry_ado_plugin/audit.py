"""Which dependencies come from an Azure Artifacts feed, and how firmly they are tied to it.

Dependency confusion needs two things: a private name that also exists (or can be registered)
on the public index, and a resolver that may take it from there. Poetry resolves a dependency
with ``source = "<name>"`` from that source only; one without the pin is looked up in every
primary and supplemental source and the implicit PyPI, so the public one can win. This module
finds the private dependencies (declared with a pin in pyproject.toml, or recorded in
poetry.lock as coming from a feed) and says how each is pinned; ``name_check`` asks the public
index about them and words the verdicts.

Pure: it reads plain data (``PyprojectDocument.data``, a parsed poetry.lock)."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from poetry_ado_plugin.errors import PyprojectError
from poetry_ado_plugin.feed import is_feed_url
from poetry_ado_plugin.names import normalize
from poetry_ado_plugin.pyproject import load_toml
from poetry_ado_plugin.sources import AzureSource
from poetry_ado_plugin.sources import azure_sources


if TYPE_CHECKING:
    from poetry_ado_plugin.pyproject import Source


PYPROJECT = "pyproject.toml"
LOCK = "poetry.lock"
EXPOSED_PRIORITIES = frozenset({"primary", "supplemental"})


@dataclass(frozen=True)
class PrivateDependency:
    name: str
    normalized: str
    source: str
    """The source name, as the pin or the lock file spells it."""
    source_url: str | None
    source_priority: str | None
    """None when the source is not (or no longer) in pyproject.toml."""
    pinned: bool
    """Declared with ``source = ...`` naming this feed source."""
    found_in: tuple[str, ...]
    groups: tuple[str, ...] = ()
    locked_version: str | None = None
    locked_sha256: frozenset[str] = frozenset()
    """The sha256 digests poetry.lock records for the locked files (from the feed)."""

    @property
    def exposed(self) -> bool:
        """Resolvable from other sources too: not pinned, and its source takes part in every
        resolution (primary or supplemental)."""
        return not self.pinned and self.source_priority in EXPOSED_PRIORITIES


def feed_sources(sources: Iterable[Source]) -> dict[str, AzureSource]:
    """The Azure feed sources of a project, by lower-cased name (Poetry matches names so)."""
    return {source.name.lower(): source for source in azure_sources(sources)}


def declared_dependencies(data: Mapping[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(name, group, value) for each entry of Poetry's dependency tables; value as written."""
    poetry = _table(_table(data, "tool"), "poetry")
    tables: list[tuple[str, Mapping[str, Any]]] = [
        ("main", _table(poetry, "dependencies")),
        ("dev", _table(poetry, "dev-dependencies")),
    ]
    for group, body in _table(poetry, "group").items():
        if isinstance(body, Mapping):
            tables.append((str(group), _table(body, "dependencies")))
    for group, table in tables:
        for name, value in table.items():
            if name.lower() != "python":
                yield name, group, value


def _pinned_sources(value: Any) -> list[str]:
    constraints = value if isinstance(value, list) else [value]
    return [
        constraint["source"]
        for constraint in constraints
        if isinstance(constraint, Mapping) and isinstance(constraint.get("source"), str)
    ]


@dataclass
class _Found:
    name: str
    source: str
    source_url: str | None
    source_priority: str | None
    pinned: bool = False
    found_in: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    locked_version: str | None = None
    locked_sha256: frozenset[str] = frozenset()


def find_private_dependencies(
    pyproject_data: Mapping[str, Any],
    sources: Iterable[Source],
    lock_data: Mapping[str, Any] | None = None,
) -> list[PrivateDependency]:
    """Every dependency that comes from an Azure feed source, sorted by normal name."""
    feeds = feed_sources(sources)
    found: dict[str, _Found] = {}

    for name, group, value in declared_dependencies(pyproject_data):
        for pin in _pinned_sources(value):
            feed = feeds.get(pin.lower())
            if feed is None:
                continue
            entry = found.setdefault(
                normalize(name), _Found(name, feed.name, feed.url, feed.priority)
            )
            entry.pinned = True
            _add(entry.found_in, PYPROJECT)
            _add(entry.groups, group)

    for package in _lock_packages(lock_data):
        locked_name, source = package.get("name"), package.get("source")
        if not isinstance(locked_name, str) or not isinstance(source, Mapping):
            continue
        if source.get("type") != "legacy":
            continue
        url, reference = source.get("url"), source.get("reference")
        feed = feeds.get(reference.lower()) if isinstance(reference, str) else None
        if feed is None and not (isinstance(url, str) and is_feed_url(url)):
            continue
        entry = found.setdefault(
            normalize(locked_name),
            _Found(
                locked_name,
                feed.name if feed else str(reference or url),
                feed.url if feed else (url if isinstance(url, str) else None),
                feed.priority if feed else None,
            ),
        )
        _add(entry.found_in, LOCK)
        version = package.get("version")
        entry.locked_version = version if isinstance(version, str) else None
        entry.locked_sha256 = _locked_sha256(package)

    return [
        PrivateDependency(
            name=entry.name,
            normalized=normal,
            source=entry.source,
            source_url=entry.source_url,
            source_priority=entry.source_priority,
            pinned=entry.pinned,
            found_in=tuple(entry.found_in),
            groups=tuple(entry.groups),
            locked_version=entry.locked_version,
            locked_sha256=entry.locked_sha256,
        )
        for normal, entry in sorted(found.items())
    ]


def _locked_sha256(package: Mapping[str, Any]) -> frozenset[str]:
    """The sha256 digests of a lock entry's ``files = [{file, hash = "sha256:..."}]``."""
    files = package.get("files")
    digests = set()
    for entry in files if isinstance(files, list) else []:
        digest = entry.get("hash") if isinstance(entry, Mapping) else None
        if isinstance(digest, str) and digest.startswith("sha256:"):
            digests.add(digest[len("sha256:") :].lower())
    return frozenset(digests)


def _lock_packages(lock_data: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    packages = (lock_data or {}).get("package", [])
    if not isinstance(packages, list):
        return []
    return [package for package in packages if isinstance(package, Mapping)]


def read_lock(pyproject_path: Path) -> dict[str, Any] | None:
    """poetry.lock beside ``pyproject_path`` as plain data; None when there is none."""
    path = pyproject_path.with_name(LOCK)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise PyprojectError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        data = load_toml(raw.decode("utf-8"))
    except ValueError as error:  # UnicodeDecodeError or TOMLDecodeError
        raise PyprojectError(
            f"{path} is not valid TOML ({error}): run `poetry lock` to rewrite it"
        ) from None
    return data


def _table(data: Any, key: str) -> Mapping[str, Any]:
    value = data.get(key) if isinstance(data, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _add(items: list[str], item: str) -> None:
    if item not in items:
        items.append(item)
