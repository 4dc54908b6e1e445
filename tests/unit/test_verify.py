"""verify_token against the in-process feed emulator."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

import pytest

from poetry_ado_plugin.errors import AdoError
from poetry_ado_plugin.errors import FeedResponseError
from poetry_ado_plugin.errors import NoFeedAccessError
from poetry_ado_plugin.errors import TokenRejectedError
from poetry_ado_plugin.feed import parse_feed_url
from poetry_ado_plugin.http import make_session
from poetry_ado_plugin.verify import PROBE_PACKAGE
from poetry_ado_plugin.verify import verify_token


if TYPE_CHECKING:
    from tests.emulator.pytest_plugin import AdoEmulator


def feed_of(url: str):  # type: ignore[no-untyped-def]
    return parse_feed_url(url).feed


def _chain(error: BaseException) -> str:
    texts = []
    current: BaseException | None = error
    while current is not None:
        texts += [str(current), repr(current)]
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def test_accepted_on_a_project_page_never_the_feed_root(ado_emulator: AdoEmulator) -> None:
    # Azure answers the feed root with 404 for every feed; a project page of a package the feed
    # does not have answers 404 "Cannot find the package", which proves the token and the feed.
    verify_token(feed_of(ado_emulator.feed.index_url), "azure", ado_emulator.read_token)
    [request] = ado_emulator.requests
    assert request.raw_path == f"{ado_emulator.feed.path()}/simple/{PROBE_PACKAGE}/"
    assert (request.method, request.status, request.password) == (
        "GET",
        404,
        ado_emulator.read_token,
    )


def test_accepted_when_the_probe_page_exists(ado_emulator: AdoEmulator) -> None:
    ado_emulator.feed.add_package(PROBE_PACKAGE, "1.0")
    verify_token(feed_of(ado_emulator.feed.index_url), "azure", ado_emulator.read_token)
    assert [r.status for r in ado_emulator.requests] == [200]


def test_an_empty_username_is_accepted_as_azure_does(ado_emulator: AdoEmulator) -> None:
    verify_token(feed_of(ado_emulator.feed.index_url), "", ado_emulator.read_token)
    assert ado_emulator.requests[0].password == ado_emulator.read_token


def test_a_view_is_verified_through_the_view(ado_emulator: AdoEmulator) -> None:
    verify_token(feed_of(ado_emulator.feed.view_url("Release")), "azure", ado_emulator.read_token)
    assert ado_emulator.requests[0].view == "Release"


@pytest.mark.parametrize(
    ("setup", "error", "message"),
    [
        ("wrong", TokenRejectedError, "the token was rejected"),
        ("well-formed-pat", TokenRejectedError, "wrong, expired or missing the Packaging"),
        ("expired", TokenRejectedError, "the token has expired"),
        ("other-feed", NoFeedAccessError, "no read access to the feed 'team-feed'"),
        ("missing-feed", FeedResponseError, "feed not found"),
        ("missing-view", FeedResponseError, "feed not found"),
        ("503", FeedResponseError, "answered HTTP 503 after retries"),
    ],
)
def test_failures(
    ado_emulator: AdoEmulator, setup: str, error: type[AdoError], message: str
) -> None:
    canary = "CANARY-verify-0123456789"
    url = ado_emulator.feed.index_url
    if setup == "expired":
        ado_emulator.emulator.add_token(canary, expired=True)
    elif setup == "other-feed":
        ado_emulator.emulator.add_token(canary, feeds=[ado_emulator.org_feed])
    elif setup == "missing-feed":
        ado_emulator.emulator.add_token(canary)
        url = f"{ado_emulator.base_url}/contoso/_packaging/nope/pypi/simple/"
    elif setup == "missing-view":
        ado_emulator.emulator.add_token(canary)
        url = ado_emulator.feed.index_url.replace("/team-feed/", "/team-feed@Nope/")
    elif setup == "well-formed-pat":
        canary = "a" * 26 + "canary234" + "b" * 17  # 52 characters of [a-z2-7], like a PAT
    elif setup == "503":
        ado_emulator.emulator.add_token(canary)
        ado_emulator.emulator.fail_next(20, 503)
    with pytest.raises(error) as caught:
        verify_token(feed_of(url), "azure", canary, session=make_session(backoff=0))
    assert message in str(caught.value)
    assert error.exit_code == 1
    assert canary not in _chain(caught.value)


def test_sign_in_page_counts_as_rejected(ado_emulator: AdoEmulator) -> None:
    # Without the Suppress header Azure answers with a sign-in redirect or page, which
    # answers.read_answer maps too. Here the header is sent, so a plain 401 comes back.
    with pytest.raises(TokenRejectedError):
        verify_token(feed_of(ado_emulator.feed.index_url), "azure", "nope")
    assert ado_emulator.requests[0].status == 401


def test_unreachable_host() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/contoso/_packaging/feed/pypi/simple/"
    with pytest.raises(FeedResponseError) as caught:
        verify_token(feed_of(url), "azure", "CANARY-x", session=make_session(retries=1, backoff=0))
    assert f"could not connect to 127.0.0.1:{port}" in str(caught.value)
    assert "CANARY-x" not in _chain(caught.value)


def test_timeout(ado_emulator: AdoEmulator) -> None:
    ado_emulator.emulator.delay(5)
    with pytest.raises(FeedResponseError, match="did not answer in time"):
        verify_token(
            feed_of(ado_emulator.feed.index_url),
            "azure",
            ado_emulator.read_token,
            session=make_session(retries=1, backoff=0),
            timeout=0.5,
        )
