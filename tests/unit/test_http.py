from __future__ import annotations

import resource
import time
from collections.abc import Iterator

import pytest
import requests
from requests.adapters import HTTPAdapter

from poetry_ado_plugin import http
from poetry_ado_plugin.answers import server_message
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.http import make_session
from poetry_ado_plugin.http import redact_credentials
from tests.hostile.servers import hostile_server


def html_response(body: str) -> requests.Response:
    response = requests.Response()
    response.status_code = 400
    response._content = body.encode()
    response.headers["Content-Type"] = "text/html"
    return response


def test_server_message_of_a_page_without_title_is_its_text_only() -> None:
    page = (
        "<html><head><style>body{font-family:Segoe UI}.x{color:red}</style>"
        "<script>var a = '<b>'; window.x = 1;</script></head>"
        "<body><h1>Bad Request</h1><p>Metadata-Version 2.4 is not supported.</p></body></html>"
    )

    assert server_message(html_response(page)) == (
        "Bad Request Metadata-Version 2.4 is not supported."
    )


def test_server_message_prefers_the_title_and_json_message() -> None:
    titled = "<html><head><title>Sign In</title></head><body>lots</body></html>"
    assert server_message(html_response(titled)) == "Sign In"
    json_response = html_response('{"message": "The feed with ID \'x\' doesn\'t exist."}')
    json_response.headers["Content-Type"] = "application/json"
    assert server_message(json_response) == "The feed with ID 'x' doesn't exist."


def test_a_read_timeout_is_retried_once_whatever_the_retry_budget() -> None:
    adapter = make_session(retries=3).get_adapter("https://feed.example.com/")
    assert isinstance(adapter, HTTPAdapter)
    retry = adapter.max_retries

    assert (retry.connect, retry.read, retry.status) == (3, 1, 3)


def test_redact_credentials_masks_userinfo_only() -> None:
    text = "url = https://build:s3cret@pkgs.dev.azure.com/x and http://a.b/c@d"

    assert redact_credentials(text) == "url = https://***@pkgs.dev.azure.com/x and http://a.b/c@d"


# -- deadlines, caps and Retry-After (servers from tests/hostile) --------------------------------


@pytest.fixture
def short_deadlines(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    monkeypatch.setenv("POETRY_REQUESTS_TIMEOUT", "1")
    monkeypatch.setenv("POETRY_ADO_REQUEST_DEADLINE", "0.8")
    monkeypatch.setenv("POETRY_ADO_RETRY_AFTER_MAX", "2")
    notes: list[str] = []
    http.set_notice_handler(notes.append)
    http.reset_retry_after_budget()
    yield notes
    http.set_notice_handler(None)


@pytest.mark.parametrize("behaviour", ["drip-headers", "drip-body", "http10-close"])
@pytest.mark.parametrize("stream", [False, True])
def test_a_dripping_server_fails_at_the_deadline(
    short_deadlines: list[str], behaviour: str, stream: bool
) -> None:
    with hostile_server(behaviour) as server, http.make_session() as session:
        started = time.monotonic()
        with pytest.raises(requests.exceptions.Timeout) as raised:
            response = session.get(server.index_url, stream=stream)
            http.read_body(response)
        elapsed = time.monotonic() - started

    assert elapsed < 2.5  # one deadline, not one per retry
    assert isinstance(raised.value, requests.exceptions.ConnectionError)  # Poetry's uploader
    reason = http.describe_connection_error(raised.value, server.index_url)
    assert "did not answer in time" in reason


@pytest.mark.parametrize("behaviour", ["bomb-200", "bomb-401", "bomb-404-chunked"])
def test_a_huge_body_is_read_at_most_to_the_cap(short_deadlines: list[str], behaviour: str) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with hostile_server(behaviour) as server, http.make_session() as session:
        with pytest.raises(requests.exceptions.ConnectionError) as raised:
            session.get(server.index_url)
        streamed = session.get(server.index_url, stream=True)
        # The error reader reads at most MAX_BODY and never fails.
        assert server_message(streamed) == streamed.reason
        streamed = session.get(server.index_url, stream=True)
        with pytest.raises(requests.exceptions.ConnectionError):
            b"".join(http.iter_body(streamed, 3 * 1024 * 1024))

    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 64
    assert "larger than 1,048,576 bytes" in http.describe_connection_error(
        raised.value, server.index_url
    )


@pytest.mark.parametrize("behaviour", ["retry-after-seconds", "retry-after-date"])
def test_a_huge_retry_after_is_not_waited_for(short_deadlines: list[str], behaviour: str) -> None:
    with hostile_server(behaviour) as server, http.make_session() as session:
        started = time.monotonic()
        response = session.get(server.index_url)

    assert time.monotonic() - started < 1
    assert response.status_code in (429, 503)
    assert len(short_deadlines) == 1
    assert "POETRY_ADO_RETRY_AFTER_MAX" in short_deadlines[0]


def test_retry_after_as_an_http_date_is_understood(short_deadlines: list[str]) -> None:
    response = requests.Response()
    response.headers["Retry-After"] = "Wed, 21 Oct 2015 07:28:00 GMT"  # in the past: no wait
    assert http.retry_after_wait(response) == 0
    response.headers["Retry-After"] = "1"
    assert http.retry_after_wait(response) == 1
    response.headers["Retry-After"] = "5"  # more than the 1 s left of the 2 s allowance
    with pytest.raises(http.RetryAfterRefused):
        http.retry_after_wait(response)
    assert len(short_deadlines) == 1


def test_server_text_comes_back_without_escapes_or_the_token(short_deadlines: list[str]) -> None:
    with hostile_server("ansi") as server, http.make_session() as session:
        message = server_message(session.get(server.index_url))
    assert message == "Bad FAKE OK request"

    with hostile_server("token-echo") as server, http.make_session() as session:
        session.auth = ("user", "CANARY-token-in-basic")
        message = server_message(session.get(server.index_url))
    assert message is not None
    assert "CANARY" not in message
    assert message.endswith("your token is ***")


def test_poetry_requests_timeout_applies_to_every_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POETRY_REQUESTS_TIMEOUT", "7")
    monkeypatch.delenv("POETRY_ADO_REQUEST_DEADLINE", raising=False)

    limits = http.deadlines()

    assert (limits.connect, limits.read, limits.total) == (7, 7, 21)
    adapter = http.make_session().get_adapter("https://feed.example.com/")
    assert adapter._timeout((60, 600)) == (7, 7)  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", ["inf", "nan", "abc", "-1", "0", "1e9"])
@pytest.mark.parametrize(
    "variable",
    ["POETRY_REQUESTS_TIMEOUT", "POETRY_ADO_REQUEST_DEADLINE", "POETRY_ADO_RETRY_AFTER_MAX"],
)
def test_a_bad_number_in_the_environment_is_one_usage_error(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    if variable == "POETRY_ADO_RETRY_AFTER_MAX" and value == "0":
        pytest.skip("0 is a valid allowance: never wait")
    monkeypatch.setenv(variable, value)

    with pytest.raises(UsageError) as raised:
        http.deadlines()
        http.reset_retry_after_budget()

    assert str(raised.value).startswith(f"{variable} must be")
    assert "\n" not in str(raised.value)


def test_a_non_latin1_credential_is_one_line_not_a_unicode_error() -> None:
    from poetry_ado_plugin.errors import CredentialError

    with http.make_session() as session, pytest.raises(CredentialError) as raised:
        session.get("http://127.0.0.1:9/", auth=("李", "token"))
    assert "username" in str(raised.value)
    with http.make_session() as session, pytest.raises(CredentialError) as raised:
        session.get("http://127.0.0.1:9/", auth=("user", "李-token"))
    assert "token" in str(raised.value)
