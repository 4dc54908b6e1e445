"""The project's Azure sources: which ``[[tool.poetry.source]]`` entries are Azure Artifacts
feeds, as one model."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from poetry_ado_plugin.feed import Feed


# Poetry 2 treats a source without a priority as primary.
DEFAULT_PRIORITY = "primary"


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


def azure_sources(entries: Iterable[Any]) -> list[AzureSource]:
    """The Azure feed sources among ``entries``: mappings as in ``poetry.local_config["source"]``,
    or objects with ``name`` and ``url`` (and optionally ``priority``) attributes."""
    found = []
    for entry in entries:
        if isinstance(entry, Mapping):
            name, url, priority = entry.get("name"), entry.get("url"), entry.get("priority")
        else:
            name, url = getattr(entry, "name", None), getattr(entry, "url", None)
            priority = getattr(entry, "priority", None)
        feed = Feed.parse_or_none(url) if isinstance(url, str) else None
        if not isinstance(name, str) or feed is None:
            continue
        level = priority.lower() if isinstance(priority, str) and priority else DEFAULT_PRIORITY
        found.append(AzureSource(name, str(url), feed, level))
    return found
