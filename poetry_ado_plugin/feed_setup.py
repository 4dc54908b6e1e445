"""What ``poetry ado add-feed`` changes: the pyproject source and the publish repository.

A plan is computed completely before anything is written, so a bad input changes no file, and a
dry run shows exactly what a real run would write."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from poetry_ado_plugin.errors import SourceConflictError
from poetry_ado_plugin.feed import default_source_name
from poetry_ado_plugin.feed import parse_feed_url
from poetry_ado_plugin.feed import validate_source_name
from poetry_ado_plugin.poetry_config import RepositoryChange
from poetry_ado_plugin.poetry_config import apply_repository
from poetry_ado_plugin.poetry_config import plan_repository
from poetry_ado_plugin.poetry_config import repository_diff
from poetry_ado_plugin.pyproject import PyprojectDocument


if TYPE_CHECKING:
    from pathlib import Path

    from poetry_ado_plugin.feed import Feed
    from poetry_ado_plugin.pyproject import Migration
    from poetry_ado_plugin.pyproject import SourceChange


PRIORITIES = ("supplemental", "explicit", "primary")
DEFAULT_PRIORITY = "supplemental"


@dataclass(frozen=True)
class FeedSetup:
    feed: Feed
    document: PyprojectDocument
    source: SourceChange
    migrations: list[Migration]
    repository: RepositoryChange | None

    @property
    def changed(self) -> bool:
        return self.document.changed or bool(self.repository and self.repository.changed)

    def diff(self) -> str:
        repository = repository_diff(self.repository) if self.repository else ""
        return self.document.diff() + repository


def plan_feed_setup(
    pyproject: Path,
    feed: Feed,
    *,
    name: str | None,
    priority: str | None,
    configure_repository: bool,
) -> FeedSetup:
    name = name or default_source_name(feed.name)
    validate_source_name(name)
    document = PyprojectDocument.read(pyproject)
    # Poetry matches source names case-insensitively, and so does set_source.
    existing = {source.name.lower(): source for source in document.sources()}
    for key, source in existing.items():
        if key != name.lower() and source.url and _points_at(source.url, feed):
            raise SourceConflictError(
                f"source '{source.name}' already points at this feed: use --name {source.name} "
                "to update it, or remove it first with `poetry source remove "
                f"{source.name}`"
            )
    if priority is None:
        # Re-running without --priority must not loosen a source the user made explicit.
        current = existing.get(name.lower())
        kept = current.priority if current else None
        priority = kept if kept in PRIORITIES else DEFAULT_PRIORITY
    migrations = document.migrate_legacy_sources()
    change = document.set_source(name, feed.index_url, priority)
    repository = plan_repository(name, feed.upload_url) if configure_repository else None
    return FeedSetup(feed, document, change, migrations, repository)


def apply_feed_setup(setup: FeedSetup) -> None:
    original = setup.document.original_text
    setup.document.write()
    if setup.repository is None:
        return
    try:
        apply_repository(setup.repository)
    except Exception:
        # Leave no half-done setup behind: the source without its repository would publish to
        # the index URL and get a 405.
        setup.document.restore(original)
        raise


def _points_at(url: str, feed: Feed) -> bool:
    from poetry_ado_plugin.errors import FeedUrlError

    try:
        return parse_feed_url(url).feed.is_same_feed(feed)
    except FeedUrlError:
        return False
