"""What ``poetry ado add-feed`` changes: the pyproject source and the publish repository.

A plan is computed completely before anything is written, so a bad input changes no file, and a
dry run shows exactly what a real run would write. Planning and writing happen under the locks of
pyproject.toml and config.toml (:func:`locked_for_setup`), so two add-feeds at once both keep
their changes. The two writes go all the way or not at all, Ctrl-C and SIGTERM included."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from poetry_ado_plugin import files
from poetry_ado_plugin.errors import SourceConflictError
from poetry_ado_plugin.feed import Feed
from poetry_ado_plugin.feed import default_source_name
from poetry_ado_plugin.feed import validate_source_name
from poetry_ado_plugin.http import redact_credentials
from poetry_ado_plugin.poetry_config import RepositoryChange
from poetry_ado_plugin.poetry_config import apply_repository
from poetry_ado_plugin.poetry_config import config_file
from poetry_ado_plugin.poetry_config import plan_repository
from poetry_ado_plugin.poetry_config import repository_diff
from poetry_ado_plugin.pyproject import PyprojectDocument


if TYPE_CHECKING:
    from contextlib import AbstractContextManager
    from pathlib import Path

    from poetry_ado_plugin.pyproject import Migration
    from poetry_ado_plugin.pyproject import SourceChange


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


def locked_for_setup(
    pyproject: Path, *, configure_repository: bool
) -> AbstractContextManager[None]:
    """The locks to hold from planning to writing (pyproject.toml first, then config.toml)."""
    paths = [pyproject, config_file()] if configure_repository else [pyproject]
    return files.locked(*paths)


def plan_feed_setup(
    pyproject: Path,
    feed: Feed,
    *,
    name: str | None,
    priority: str | None,
    configure_repository: bool,
) -> FeedSetup:
    """``priority=None`` keeps an existing source's priority: re-running must never loosen an
    explicit or primary source into a supplemental one."""
    name = default_source_name(feed.name) if name is None else name
    validate_source_name(name)
    document = PyprojectDocument.read(pyproject)
    # Poetry matches source names case-insensitively, and so does set_source.
    existing = {source.name.lower(): source for source in document.sources()}
    for key, source in existing.items():
        # A view reads the same packages, so it is the same feed here.
        if key != name.lower() and source.url and _points_at(source.url, feed):
            raise SourceConflictError(
                f"source '{source.name}' already points at this feed: use --name {source.name} "
                "to update it, or remove it first with `poetry source remove "
                f"{source.name}`"
            )
    current = existing.get(name.lower())
    if current is None and priority is None:
        priority = DEFAULT_PRIORITY
    index_url = feed.index_url
    if current is not None and current.url and _points_at(current.url, feed, exactly=True):
        # Another spelling of the same feed (case, trailing slash, upload URL) is no change.
        index_url = current.url
    migrations = document.migrate_legacy_sources()
    change = document.set_source(name, index_url, priority)
    repository = None
    if configure_repository:
        # The repository must carry the source's spelling: Poetry's config keys are
        # case-sensitive, and `poetry publish -r NAME` uses the name as written.
        repository = plan_repository(change.name, feed.upload_url)
        _refuse_taking_over(repository, feed, adding=change.kind == "added")
    return FeedSetup(feed, document, change, migrations, repository)


def _refuse_taking_over(repository: RepositoryChange, feed: Feed, *, adding: bool) -> None:
    """Poetry's repositories are global: a new source must not repoint a repository of the same
    name that another project publishes to."""
    if adding:
        refuse_taking_over(
            repository,
            feed,
            fix="choose another name with --name, or pass --no-repository to leave it alone",
        )


def refuse_taking_over(repository: RepositoryChange, feed: Feed, *, fix: str) -> None:
    """Refuse to repoint ``repositories.NAME.url`` when it names another feed (any view of
    ``feed`` is the same feed)."""
    old = repository.old_url
    if old is None or _points_at(old, feed):
        return
    raise SourceConflictError(
        f"Poetry's repository '{repository.name}' already points at another feed "
        f"({redact_credentials(old)}), which another project may publish to: {fix}"
    )


def apply_feed_setup(setup: FeedSetup) -> None:
    """Write config.toml, then pyproject.toml; when either fails, both are put back.

    config.toml comes first: killed in between, a repository without its source is harmless,
    while a source without its repository would publish to the index URL and get a 405."""
    paths = [setup.document.path]
    if setup.repository is not None:
        paths.append(config_file())
    with files.all_or_nothing(*paths):
        if setup.repository is not None:
            apply_repository(setup.repository)
        setup.document.write()


def _points_at(url: str, feed: Feed, *, exactly: bool = False) -> bool:
    """Whether ``url`` names ``feed``; views of it count too unless ``exactly``."""
    found = Feed.parse_or_none(url)
    if found is None:
        return False
    return found.is_same_feed(feed) if exactly else found.is_same_feed_ignoring_view(feed)
