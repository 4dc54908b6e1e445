"""One place for HTTP sessions, timeouts, retries, and for reading Azure DevOps answers.

Only commands import this (``requests`` is heavy); the plugin entry point never does."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from html import unescape
from typing import TYPE_CHECKING
from urllib.parse import urlsplit


if TYPE_CHECKING:
    import requests


# (connect, read) seconds. Azure answers index pages in well under a second; a read timeout this
# long only trips on a server that has really stopped answering.
DEFAULT_TIMEOUT = (10.0, 30.0)

# Asks Azure DevOps for a plain 401 instead of a 203 sign-in page or a redirect to it.
SUPPRESS_SIGN_IN = {"X-TFS-FedAuthRedirect": "Suppress"}

MAX_MESSAGE_LENGTH = 300

_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


@cache
def user_agent() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version

    try:
        return f"poetry-ado-plugin/{version('poetry-ado-plugin')}"
    except PackageNotFoundError:
        return "poetry-ado-plugin"


def make_session(
    *, retries: int = 3, pool_size: int = 10, backoff: float = 0.5
) -> requests.Session:
    """A pooled session that retries idempotent requests on connection errors and 5xx answers.

    POST is never retried here: uploads decide for themselves what is safe to repeat."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    retry = Retry(
        total=retries,
        connect=retries,
        # A read timeout is a server that stopped answering: one more try, not `retries` more
        # times the full timeout.
        read=min(retries, 1),
        status=retries,
        backoff_factor=backoff,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=frozenset({"GET", "HEAD"}),
        raise_on_status=False,
        respect_retry_after_header=True,
    )
    adapter = HTTPAdapter(max_retries=retry, pool_connections=pool_size, pool_maxsize=pool_size)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent()
    return session


def host_of(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or url
    return host if parts.port is None else f"{host}:{parts.port}"


def redact_credentials(text: str) -> str:
    """``text`` with the ``user:password@`` part of every URL in it masked."""
    return _USERINFO.sub("***@", text)


def describe_connection_error(error: Exception, url: str) -> str:
    """A one-line reason for a failed connection that names the host, never the credentials."""
    import requests
    from urllib3.exceptions import NewConnectionError
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    host = host_of(url)
    # With retries, a read timeout reaches us as a ConnectionError around urllib3's
    # MaxRetryError, whose reason is the timeout. (NewConnectionError, a refused connection,
    # subclasses urllib3's TimeoutError for backwards compatibility.)
    reason = getattr(error.args[0], "reason", None) if error.args else None
    timed_out = isinstance(reason, Urllib3Timeout) and not isinstance(reason, NewConnectionError)
    if isinstance(error, requests.exceptions.Timeout) or timed_out:
        return f"{host} did not answer in time"
    if isinstance(error, requests.exceptions.SSLError):
        return f"the TLS connection to {host} failed (certificate problem?)"
    return f"could not connect to {host}"


@dataclass(frozen=True)
class FeedAnswer:
    """What an Azure DevOps (or PyPI) response means, decoded once for every caller."""

    status: int
    kind: str
    server_message: str | None

    @property
    def ok(self) -> bool:
        return self.kind == "ok"


# status -> kind; 203 is Azure's sign-in page, which means the token was not accepted
_KINDS = {
    200: "ok",
    201: "ok",
    203: "unauthorized",
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
}


def decode_answer(response: requests.Response) -> FeedAnswer:
    status = response.status_code
    kind = _KINDS.get(status)
    if kind is None:
        if 300 <= status < 400 and "_signin" in response.headers.get("Location", ""):
            kind = "unauthorized"
        elif status >= 500:
            kind = "server_error"
        elif 200 <= status < 300:
            kind = "ok"
        else:
            kind = "other"
    message = None if kind == "ok" else server_message(response)
    return FeedAnswer(status=status, kind=kind, server_message=message)


_TAG = re.compile(r"<[^>]+>")
_NOT_TEXT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def server_message(response: requests.Response) -> str | None:
    """The server's own reason, as one short line: Azure's JSON ``message``, an HTML page's
    title, or the start of a plain-text body. Never the raw HTML."""
    text = response.text or ""
    content_type = response.headers.get("Content-Type", "")
    message: str | None = None
    is_json = False
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            body = json.loads(text)
            is_json = True
        except ValueError:
            body = None
        if isinstance(body, dict):
            found = body.get("message") or body.get("Message") or body.get("detail")
            message = str(found) if found else None
    if is_json and message is None:
        return response.reason or None
    if message is None and "<" in text:
        title = _TITLE.search(text)
        markup = title.group(1) if title else _NOT_TEXT.sub(" ", text)
        message = unescape(_TAG.sub(" ", markup))
    if message is None:
        message = text
    message = " ".join(message.split())
    if not message:
        return response.reason or None
    if len(message) > MAX_MESSAGE_LENGTH:
        message = message[: MAX_MESSAGE_LENGTH - 1] + "…"
    return message
