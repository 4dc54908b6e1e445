"""The project's Azure sources: which ``[[tool.poetry.source]]`` entries are Azure Artifacts
feeds, as one model, and the one way every command chooses among them."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.feed import Feed
from poetry_ado_plugin.redact import safe_text


# Poetry 2 treats a source without a priority as primary.
DEFAULT_PRIORITY = "primary"
ADD_FEED = "poetry ado add-feed <feed URL>"


@dataclass(frozen=True)
class AzureSource:
    """A ``[[tool.poetry.source]]`` entry whose URL is an Azure Artifacts feed."""

    name: str
    url: str
    feed: Feed
    priority: str = DEFAULT_PRIORITY

    @property
    def index_url(self) -> str:
        """The feed's own index (never a view's): what the feed holds, promoted or not."""
        return self.feed.without_view().index_url


def _fields(entry: Any) -> tuple[object, object, object]:
    """(name, url, priority) of a mapping as in ``poetry.local_config["source"]``, or of an
    object with those attributes (``pyproject.Source``)."""
    if isinstance(entry, Mapping):
        return entry.get("name"), entry.get("url"), entry.get("priority")
    return getattr(entry, "name", None), getattr(entry, "url", None), _priority_of(entry)


def _priority_of(entry: Any) -> object:
    # pyproject.Source says what a legacy ``secondary = true`` means in Poetry 2 terms.
    modern = getattr(entry, "modern_priority", None)
    return modern if modern is not None else getattr(entry, "priority", None)


def azure_sources(entries: Iterable[Any]) -> list[AzureSource]:
    """The Azure feed sources among ``entries``, in file order."""
    found = []
    for entry in entries:
        name, url, priority = _fields(entry)
        feed = Feed.parse_or_none(url) if isinstance(url, str) else None
        if not isinstance(name, str) or feed is None:
            continue
        level = priority.lower() if isinstance(priority, str) and priority else DEFAULT_PRIORITY
        found.append(AzureSource(name, str(url), feed, level))
    return found


def named_azure_source(entries: Iterable[Any], name: str) -> AzureSource | None:
    """The Azure source called ``name`` (case-insensitively, as Poetry matches source names),
    with the file's spelling; None when no source has that name.

    Raises UsageError when the name is a source that is not an Azure Artifacts feed."""
    listed = list(entries)
    for entry in listed:
        entry_name, url, _priority = _fields(entry)
        if not isinstance(entry_name, str) or entry_name.casefold() != name.casefold():
            continue
        match = next((s for s in azure_sources([entry]) if s.name == entry_name), None)
        if match is None:
            shown = safe_text(url) if isinstance(url, str) and url else "no URL"
            raise UsageError(
                f"source {entry_name} is not an Azure Artifacts feed ({shown}): name an Azure "
                f"feed source, or add one with {ADD_FEED}"
            )
        return match
    return None


def select_azure_source(
    entries: Iterable[Any], name: str | None, *, command: str, option: str | None = None
) -> AzureSource:
    """The Azure source called ``name``, or the project's only one when ``name`` is None.

    ``command`` is the command as a user types it (``poetry ado publish``) and ``option`` the
    option that names a source, when it is not the first argument: they make the example in
    the message for several sources."""
    listed = list(entries)
    feeds = azure_sources(listed)
    if name is not None:
        match = named_azure_source(listed, name)
        if match is None:
            known = ", ".join(f.name for f in feeds) or "none"
            raise UsageError(
                f"pyproject.toml has no source named {name!r} (Azure feed sources: {known}): "
                f"check the name, or add the feed with {ADD_FEED}"
            )
        return match
    if not feeds:
        raise UsageError(
            f"pyproject.toml has no Azure Artifacts feed source: add one with {ADD_FEED}, then "
            f"run {command} again"
        )
    if len(feeds) > 1:
        names = ", ".join(f.name for f in feeds)
        example = " ".join(part for part in (command, option, feeds[0].name) if part)
        raise UsageError(
            f"pyproject.toml has {len(feeds)} Azure feed sources ({names}): name one, "
            f"e.g. {example}"
        )
    return feeds[0]
