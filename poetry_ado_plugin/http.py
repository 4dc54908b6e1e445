"""One place for HTTP sessions: deadlines, capped bodies, retries and Retry-After. What an
answer means is ``answers.py``'s job.

Only commands import this (``requests`` is heavy); the plugin entry point never does."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import urlsplit


if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator
    from collections.abc import Mapping

    import requests

    from poetry_ado_plugin._transport import RetryAfterBudget


# (connect, read) seconds. Azure answers index pages in well under a second; a read timeout this
# long only trips on a server that has really stopped answering. POETRY_REQUESTS_TIMEOUT, when
# set, replaces both for every request we send.
DEFAULT_TIMEOUT = (10.0, 30.0)
# A request as a whole (connect, headers, body) may take this many read timeouts, unless
# POETRY_ADO_REQUEST_DEADLINE says otherwise.
DEADLINE_FACTOR = 3.0
# What a command waits in all for Retry-After, unless POETRY_ADO_RETRY_AFTER_MAX says otherwise.
DEFAULT_RETRY_AFTER_MAX = 60.0

# The most we read of a page or an error body. Larger answers fail with "sent more than ...".
MAX_BODY = 1024 * 1024

# Asks Azure DevOps for a plain 401 instead of a 203 sign-in page or a redirect to it.
SUPPRESS_SIGN_IN = {"X-TFS-FedAuthRedirect": "Suppress"}


@cache
def user_agent() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version

    try:
        return f"poetry-ado-plugin/{version('poetry-ado-plugin')}"
    except PackageNotFoundError:
        return "poetry-ado-plugin"


@dataclass(frozen=True)
class Deadlines:
    """Seconds: to connect, for each read, and for a request as a whole."""

    connect: float
    read: float
    total: float
    from_environment: bool = False


def deadlines(environ: Mapping[str, str] | None = None) -> Deadlines:
    """The deadlines every request gets, from POETRY_REQUESTS_TIMEOUT and
    POETRY_ADO_REQUEST_DEADLINE (a bad value is a one-line UsageError)."""
    from poetry_ado_plugin.environment import REQUEST_DEADLINE
    from poetry_ado_plugin.environment import REQUESTS_TIMEOUT
    from poetry_ado_plugin.environment import env_number

    connect, read = DEFAULT_TIMEOUT
    timeout = env_number(
        REQUESTS_TIMEOUT, 0.0, maximum=3600, exclusive_minimum=True, environ=environ
    )
    if timeout:
        connect = read = timeout
    total = env_number(
        REQUEST_DEADLINE,
        DEADLINE_FACTOR * read,
        maximum=24 * 3600,
        exclusive_minimum=True,
        environ=environ,
    )
    return Deadlines(connect, read, total, from_environment=bool(timeout))


def request_timeout() -> tuple[float, float]:
    """(connect, read) for a call that passes ``timeout=`` itself."""
    limits = deadlines()
    return (limits.connect, limits.read)


# -- notes: one-line remarks the transport makes (a capped Retry-After); commands print them --

_notice_handler: Callable[[str], None] | None = None
_notices_seen: set[str] = set()


def set_notice_handler(handler: Callable[[str], None] | None) -> None:
    """Where notes go (a command's warning line); each note is passed on once per run."""
    global _notice_handler
    _notice_handler = handler
    _notices_seen.clear()


def notice(text: str) -> None:
    handler = _notice_handler
    if handler is None or text in _notices_seen:
        return
    _notices_seen.add(text)
    handler(text)


@cache
def _retry_after_budget() -> RetryAfterBudget:
    from poetry_ado_plugin._transport import RetryAfterBudget

    return RetryAfterBudget(DEFAULT_RETRY_AFTER_MAX)


def reset_retry_after_budget(environ: Mapping[str, str] | None = None) -> None:
    """Start a command's Retry-After allowance (POETRY_ADO_RETRY_AFTER_MAX seconds in all)."""
    from poetry_ado_plugin.environment import RETRY_AFTER_MAX
    from poetry_ado_plugin.environment import env_number

    seconds = env_number(RETRY_AFTER_MAX, DEFAULT_RETRY_AFTER_MAX, maximum=3600, environ=environ)
    _retry_after_budget().reset(seconds)


def retry_after_wait(response: requests.Response) -> float | None:
    """Seconds to wait before retrying, from the answer's Retry-After (seconds or an
    HTTP-date), taken from the command's allowance. None when the answer has no usable
    Retry-After. Raises ``RetryAfterRefused`` when the wait does not fit in what is left of the
    allowance; a note says so."""
    from poetry_ado_plugin._transport import parse_retry_after

    requested = parse_retry_after(response.headers.get("Retry-After"))
    if requested is None:
        return None
    if not _retry_after_budget().take(requested, notice):
        raise RetryAfterRefused(requested)
    return requested


class RetryAfterRefused(Exception):
    """The server asked for a longer wait than the command may still spend."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"the server asked to wait {seconds:.0f} s before retrying")
        self.seconds = seconds


def make_session(
    *,
    retries: int = 3,
    pool_size: int = 10,
    backoff: float = 0.5,
    max_body: int = MAX_BODY,
) -> requests.Session:
    """A pooled session for everything we send.

    - Every request has a connect timeout, a per-read timeout and a total deadline
      (``deadlines()``), whatever ``timeout=`` the call passes; a server that drips its answer
      fails with ``requests.Timeout`` when the deadline passes.
    - A body is read at most ``max_body`` bytes: without ``stream=True`` a larger one fails;
      with it, read through ``read_body``/``iter_body``/``discard_body``.
    - Idempotent requests are retried on connection errors and 5xx answers; Retry-After waits
      come out of the command's allowance. POST is never retried here: uploads decide for
      themselves what is safe to repeat.
    - Every credential sent is registered with ``redact``, so no message can print it."""
    from poetry_ado_plugin import redact
    from poetry_ado_plugin._transport import CappedRetry
    from poetry_ado_plugin._transport import DeadlineAdapter
    from poetry_ado_plugin._transport import Session

    limits = deadlines()
    CappedRetry.budget = _retry_after_budget()
    CappedRetry.notify = notice
    retry = CappedRetry(
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
    adapter = DeadlineAdapter(
        connect_timeout=limits.connect,
        read_timeout=limits.read,
        total=limits.total,
        max_body=max_body,
        fixed_timeout=limits.from_environment,
        on_secret=redact.register_secret,
        max_retries=retry,
        pool_connections=pool_size,
        pool_maxsize=pool_size,
    )
    session: requests.Session = Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = user_agent()
    return session


def read_body(response: requests.Response, limit: int = MAX_BODY) -> bytes:
    """The body of a ``stream=True`` answer, at most ``limit`` bytes (``requests`` fails with a
    ConnectionError past it, or a Timeout past the request's deadline). Afterwards
    ``.content`` and ``.text`` hold it."""
    from poetry_ado_plugin._transport import read_body as read

    return read(response, limit)


def iter_body(
    response: requests.Response, limit: int, chunk_size: int = 256 * 1024
) -> Iterator[bytes]:
    """``read_body`` in chunks, for a large body read with progress."""
    from poetry_ado_plugin._transport import iter_body as chunks

    return chunks(response, limit, chunk_size)


def discard_body(response: requests.Response, limit: int = MAX_BODY) -> None:
    """Drop the body of a ``stream=True`` answer whose status is all that matters: the
    connection is reused when the body is small, closed when it is larger than ``limit``."""
    from poetry_ado_plugin._transport import discard_body as discard

    discard(response, limit)


def host_of(url: str) -> str:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or url
    return host if port is None else f"{host}:{port}"


def redact_credentials(text: str) -> str:
    """``text`` as it may be printed: see ``redact.safe_text``."""
    from poetry_ado_plugin.redact import safe_text

    return safe_text(text)


def describe_connection_error(error: Exception, url: str) -> str:
    """A one-line reason for a failed connection that names the host, never the credentials."""
    import requests
    from urllib3.exceptions import NewConnectionError
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    from poetry_ado_plugin._transport import DeadlineExceeded
    from poetry_ado_plugin._transport import ResponseTooLarge

    host = host_of(url)
    found = in_chain(error, (DeadlineExceeded, ResponseTooLarge))
    if isinstance(found, DeadlineExceeded):
        return f"{host} did not answer in time (no complete answer within {found.seconds:g} s)"
    if isinstance(found, ResponseTooLarge):
        return f"{host} sent an answer larger than {found.limit:,} bytes"
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


def in_chain(error: BaseException, kinds: tuple[type[BaseException], ...]) -> object:
    """The first exception of ``kinds`` among ``error``, its arguments and its causes."""
    seen: list[BaseException] = []
    pending: list[object] = [error]
    while pending:
        item = pending.pop(0)
        if not isinstance(item, BaseException) or any(item is s for s in seen):
            continue
        if isinstance(item, kinds):
            return item
        seen.append(item)
        pending.extend([*item.args, getattr(item, "reason", None), item.__cause__])
        pending.append(item.__context__)
    return None
