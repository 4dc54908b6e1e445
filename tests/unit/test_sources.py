"""The one model of a project's Azure sources and the one way every command chooses among
them: the same "none / several / unknown / not an Azure feed" lines for login, env, publish and
the release commands."""

from __future__ import annotations

import pytest

from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.pyproject import Source
from poetry_ado_plugin.sources import azure_sources
from poetry_ado_plugin.sources import named_azure_source
from poetry_ado_plugin.sources import select_azure_source


HOSTED = "https://pkgs.dev.azure.com/contoso/Web/_packaging/team-feed/pypi/simple/"
OTHER = HOSTED.replace("team-feed", "other-feed")
PUBLISH = "poetry ado publish"


def test_the_only_azure_source_is_chosen_and_other_sources_are_ignored() -> None:
    sources = [
        Source("mirror", "https://mirror.example.com/simple/", "supplemental"),
        Source("team-feed", HOSTED, "explicit"),
    ]
    chosen = select_azure_source(sources, None, command=PUBLISH)
    assert (chosen.name, chosen.feed.name, chosen.priority) == (
        "team-feed",
        "team-feed",
        "explicit",
    )


def test_sources_come_from_poetrys_parsed_tool_poetry_table() -> None:
    entries = [{"name": "team-feed", "url": HOSTED}, {"name": "pypi-like"}, "junk"]
    assert [s.name for s in azure_sources(entries)] == ["team-feed"]
    assert azure_sources([]) == []
    assert select_azure_source(entries, None, command=PUBLISH).name == "team-feed"


def test_a_source_without_priority_is_primary_and_legacy_keys_mean_poetry_2s() -> None:
    legacy = Source("team-feed", HOSTED, None, ("secondary",), (True,))
    assert azure_sources([{"name": "team-feed", "url": HOSTED}])[0].priority == "primary"
    assert azure_sources([legacy])[0].priority == legacy.modern_priority


def test_no_azure_source_points_to_add_feed_and_the_command() -> None:
    mirror = [Source("mirror", "https://mirror.example.com/simple/", None)]
    with pytest.raises(UsageError) as caught:
        select_azure_source(mirror, None, command=PUBLISH)
    assert str(caught.value) == (
        "pyproject.toml has no Azure Artifacts feed source: add one with poetry ado add-feed "
        "<feed URL>, then run poetry ado publish again"
    )


@pytest.mark.parametrize(
    ("command", "option", "example"),
    [
        (PUBLISH, None, "poetry ado publish team-feed"),
        ("poetry ado versions", "--feed", "poetry ado versions --feed team-feed"),
    ],
)
def test_several_azure_sources_are_listed_with_an_example(
    command: str, option: str | None, example: str
) -> None:
    sources = [Source("team-feed", HOSTED, "explicit"), Source("other-feed", OTHER, "explicit")]
    with pytest.raises(UsageError) as caught:
        select_azure_source(sources, None, command=command, option=option)
    assert str(caught.value) == (
        f"pyproject.toml has 2 Azure feed sources (team-feed, other-feed): name one, e.g. {example}"
    )
    assert select_azure_source(sources, "other-feed", command=command).feed.name == "other-feed"


def test_unknown_or_non_azure_name_is_refused() -> None:
    sources = [
        Source("team-feed", HOSTED, None),
        Source("mirror", "https://m.example/simple/", None),
    ]
    with pytest.raises(
        UsageError, match=r"no source named 'nope' \(Azure feed sources: team-feed\)"
    ):
        select_azure_source(sources, "nope", command=PUBLISH)
    with pytest.raises(UsageError, match="source mirror is not an Azure Artifacts feed"):
        select_azure_source(sources, "mirror", command=PUBLISH)


def test_a_name_matches_case_insensitively_and_keeps_the_files_spelling() -> None:
    sources = [Source("Team-Feed", HOSTED, None)]
    assert select_azure_source(sources, "team-FEED", command=PUBLISH).name == "Team-Feed"
    assert named_azure_source(sources, "nope") is None


def test_a_token_in_a_non_azure_source_url_is_not_echoed() -> None:
    sources = [Source("mirror", "https://build:s3cret@m.example/simple/", None)]
    with pytest.raises(UsageError) as caught:
        named_azure_source(sources, "mirror")
    assert "s3cret" not in str(caught.value)
