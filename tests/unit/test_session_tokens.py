"""Session tokens: discovery from the feed's 401, the exchange, scopes and expiry, against the
emulator (whose advertised authorization endpoint is itself)."""

from __future__ import annotations

import base64
import json
import time
from typing import TYPE_CHECKING

import pytest
import requests

from poetry_ado_plugin import session_tokens
from poetry_ado_plugin.errors import CredentialError
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.feed import parse_feed_url
from tests.emulator.emulator import make_jwt


if TYPE_CHECKING:
    from poetry_ado_plugin.feed import Feed
    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.emulator.pytest_plugin import EmulatorFactory


OTHER_TENANT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


def feed_of(ado_emulator: AdoEmulator) -> Feed:
    return parse_feed_url(ado_emulator.feed.index_url).feed


def exchange(
    ado_emulator: AdoEmulator, entra: str, **options: object
) -> session_tokens.SessionToken:
    feed = feed_of(ado_emulator)
    challenge = session_tokens.discover(feed)
    arguments: dict[str, object] = {
        "scope": session_tokens.READ_SCOPE,
        "valid_for": 8 * 3600,
        "display_name": "test",
    }
    arguments.update(options)
    return session_tokens.exchange(feed, entra, challenge, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "seconds"), [("8h", 28800), ("7d", 604800), ("90m", 5400), ("2w", 1209600)]
)
def test_durations(text: str, seconds: int) -> None:
    assert session_tokens.parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "7", "7y", "-1d", "5m", "400d", "1.5h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(UsageError, match="--valid-for"):
        session_tokens.parse_duration(text)


def test_discovery_reads_tenant_and_endpoint(ado_emulator: AdoEmulator) -> None:
    challenge = session_tokens.discover(feed_of(ado_emulator))
    assert challenge.tenant == ado_emulator.emulator.tenant_id
    assert challenge.authorization_endpoint == f"{ado_emulator.base_url}/_vssps/contoso/"
    assert [r.password for r in ado_emulator.requests] == [None]  # nothing was sent


def test_server_mode_names_no_endpoint(ado_emulator_factory: EmulatorFactory) -> None:
    emulator = ado_emulator_factory(mode="server")
    feed = emulator.add_feed(None, "onprem")
    challenge = session_tokens.discover(parse_feed_url(feed.index_url).feed)
    assert not challenge.entra


def test_a_compact_read_token_reads_but_cannot_upload(ado_emulator: AdoEmulator) -> None:
    entra = make_jwt()
    ado_emulator.emulator.add_entra_token(entra)
    minted = exchange(ado_emulator, entra)

    assert len(minted.secret) == 52
    assert minted.scope == "vso.packaging"
    assert abs(minted.expires_on - (time.time() + 8 * 3600)) < 60
    (issued,) = ado_emulator.emulator.session_tokens
    assert issued.token == minted.secret
    assert issued.token_type == "Compact"
    assert issued.requested_valid_to is not None
    page = ado_emulator.feed.project_url("anything")
    assert (
        requests.get(page, auth=("VssSessionToken", minted.secret), timeout=10).status_code == 404
    )
    upload = requests.post(
        ado_emulator.feed.upload_url,
        auth=("VssSessionToken", minted.secret),
        files={"content": ("demo-1.0.tar.gz", b"x")},
        data={"name": "demo", "version": "1.0", ":action": "file_upload"},
        timeout=10,
    )
    assert upload.status_code == 403
    assert "vso.packaging_write" in upload.text
    # The Entra token itself is no feed credential in the emulator.
    assert requests.get(page, auth=("x", entra), timeout=10).status_code == 401


def test_a_write_token_uploads(ado_emulator: AdoEmulator) -> None:
    entra = make_jwt()
    ado_emulator.emulator.add_entra_token(entra)
    minted = exchange(ado_emulator, entra, scope=session_tokens.WRITE_SCOPE)
    ado_emulator.feed.add_package("seed", "1.0")  # a wheel to copy
    upload = requests.post(
        ado_emulator.feed.upload_url,
        auth=("VssSessionToken", minted.secret),
        files={"content": ("demo-1.0.tar.gz", b"not really a tarball")},
        data={"name": "demo", "version": "1.0", ":action": "file_upload"},
        timeout=10,
    )
    assert upload.status_code != 403, upload.text


def test_a_session_token_expires_at_valid_to(ado_emulator: AdoEmulator) -> None:
    entra = make_jwt()
    ado_emulator.emulator.add_entra_token(entra)
    minted = exchange(ado_emulator, entra, valid_for=3600)
    page = ado_emulator.feed.project_url("anything")
    assert requests.get(page, auth=("u", minted.secret), timeout=10).status_code == 404
    ado_emulator.emulator.advance_clock(3601)
    expired = requests.get(page, auth=("u", minted.secret), timeout=10)
    assert expired.status_code == 401
    assert "expired" in expired.text


def test_a_server_that_refuses_valid_to_is_asked_again_without(ado_emulator: AdoEmulator) -> None:
    entra = make_jwt()
    ado_emulator.emulator.add_entra_token(entra)
    ado_emulator.emulator.reject_valid_to = True
    minted = exchange(ado_emulator, entra)
    (issued,) = ado_emulator.emulator.session_tokens
    assert issued.requested_valid_to is None
    posts = [r for r in ado_emulator.requests if r.method == "POST"]
    assert [r.status for r in posts] == [400, 200]
    assert minted.expires_on > time.time() + 6 * 86400  # the server's default (7 days)


def test_self_describing_tokens_are_jwts(ado_emulator: AdoEmulator) -> None:
    entra = make_jwt()
    ado_emulator.emulator.add_entra_token(entra)
    endpoint = ado_emulator.emulator.authorization_endpoint("contoso")
    answer = requests.post(
        f"{endpoint}_apis/Token/SessionTokens?tokenType=SelfDescribing&api-version=5.0-preview.1",
        headers={"Authorization": f"Bearer {entra}"},
        json={"scope": "vso.packaging", "displayName": "x"},
        timeout=10,
    )
    token = answer.json()["token"]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["scp"] == "vso.packaging"
    # A self-describing token lives 24 hours at most, not a Compact token's default of days.
    assert claims["exp"] <= ado_emulator.emulator.now() + 24 * 3600


def test_an_entra_token_of_another_tenant_is_refused(ado_emulator: AdoEmulator) -> None:
    entra = make_jwt()
    ado_emulator.emulator.add_entra_token(entra, tenant=OTHER_TENANT)
    with pytest.raises(CredentialError, match="did not exchange the Entra token") as caught:
        exchange(ado_emulator, entra)
    assert entra not in str(caught.value)


def test_a_foreign_authorization_endpoint_gets_no_token(ado_emulator: AdoEmulator) -> None:
    feed = feed_of(ado_emulator)
    for endpoint in (
        "https://attacker.example/",
        "http://vssps.dev.azure.com/contoso/",
        "https://user@vssps.dev.azure.com/contoso/",
    ):
        challenge = session_tokens.Challenge("t", endpoint)
        with pytest.raises(CredentialError, match="not sent there"):
            session_tokens.exchange(
                feed, make_jwt(), challenge, scope="vso.packaging", valid_for=3600, display_name="x"
            )
    assert [r for r in ado_emulator.requests if r.method == "POST"] == []
    assert session_tokens.check_endpoint(feed, "https://vssps.dev.azure.com/contoso/")
    assert session_tokens.check_endpoint(feed, "https://app.vssps.visualstudio.com/")
