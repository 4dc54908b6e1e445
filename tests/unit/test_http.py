from __future__ import annotations

import requests
from requests.adapters import HTTPAdapter

from poetry_ado_plugin.http import make_session
from poetry_ado_plugin.http import redact_credentials
from poetry_ado_plugin.http import server_message


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
