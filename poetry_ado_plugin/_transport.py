"""The machinery behind ``http.make_session``: a total deadline per request, capped bodies and
a capped Retry-After. Imported only by ``http``'s functions (requests and urllib3 are heavy).

A per-read timeout does not bound a request: a server that sends one byte every few seconds
never trips it, in the headers or in the body. So every request gets a wall-clock deadline,
armed when the adapter sends it. A single watchdog thread shuts down the socket of a request
that is still using its connection when its deadline passes; the blocked read then returns,
and the request fails with ``DeadlineExceeded`` (a Timeout, and a ConnectionError so that code
which catches only connection errors, such as Poetry's uploader, still sees it). Time spent
sending a request body (an upload) and waiting for a Retry-After does not count against it."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
import weakref
from collections.abc import Callable
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any
from typing import cast

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.connectionpool import HTTPSConnectionPool
from urllib3.exceptions import InvalidHeader
from urllib3.exceptions import MaxRetryError
from urllib3.exceptions import ProtocolError
from urllib3.response import HTTPResponse
from urllib3.util.retry import Retry


if TYPE_CHECKING:
    from urllib3.poolmanager import PoolManager
    from urllib3.response import BaseHTTPResponse


class DeadlineExceeded(requests.exceptions.ConnectionError, requests.exceptions.Timeout):
    """The request as a whole took longer than its deadline."""

    def __init__(self, seconds: float, *args: Any, **kwargs: Any) -> None:
        super().__init__(f"no complete answer within {seconds:g} s", *args, **kwargs)
        self.seconds = seconds


class ResponseTooLarge(requests.exceptions.ConnectionError):
    """The answer's body was larger than the caller was willing to read."""

    def __init__(self, limit: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(f"the answer was larger than {limit:,} bytes", *args, **kwargs)
        self.limit = limit


# --------------------------------------------------------------------------------------------
# Deadlines and the watchdog


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expires = time.monotonic() + seconds
        self.fired = False
        self.paused = False
        self.lock = threading.Lock()
        self.connection: HTTPConnection | None = None
        # The socket the request went out on. Kept apart from the connection because
        # http.client hands the socket over to the response, and forgets it, when the
        # server says it will close (HTTP/1.0).
        self.sock: socket.socket | None = None

    @property
    def expired(self) -> bool:
        return self.fired or time.monotonic() >= self.expires

    def restart(self) -> None:
        """Count from now: the request body has just been sent."""
        with self.lock:
            if not self.fired:
                self.expires = time.monotonic() + self.seconds
        _WATCHDOG.arm(self)

    @contextlib.contextmanager
    def paused_while(self) -> Iterator[None]:
        """Stop the clock (a wait between attempts is no answer being late)."""
        started = time.monotonic()
        with self.lock:
            self.paused = True
        try:
            yield
        finally:
            with self.lock:
                self.paused = False
                if not self.fired:
                    self.expires += time.monotonic() - started
            _WATCHDOG.arm(self)

    def take(self, connection: HTTPConnection) -> None:
        with self.lock:
            self.connection = connection
        connection._ado_deadline = self  # type: ignore[attr-defined]

    def sent_on(self, sock: socket.socket | None) -> None:
        with self.lock:
            self.sock = sock

    def release(self, connection: HTTPConnection | None) -> None:
        with self.lock:
            if connection is not None and self.connection is connection:
                self.connection = None
                self.sock = None

    def fire(self) -> None:
        with self.lock:
            if self.fired or self.paused or time.monotonic() < self.expires:
                return
            self.fired = True
            connection = self.connection
            sock = self.sock
        if sock is None and connection is not None:
            sock = getattr(connection, "sock", None)
        if sock is not None:
            # The base class's shutdown: an SSLSocket's own would also drop its TLS state under
            # the reading thread's feet. Shutting down wakes the blocked recv() with EOF.
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread for every deadline of the process, sleeping until the next one."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, weakref.ref[Deadline]]] = []
        self._condition = threading.Condition()
        self._counter = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: Deadline) -> None:
        with self._condition:
            entry = (deadline.expires, next(self._counter), weakref.ref(deadline))
            heapq.heappush(self._heap, entry)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="poetry-ado-deadlines", daemon=True
                )
                self._thread.start()
            self._condition.notify()

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._heap:
                    self._condition.wait()
                when, _, reference = self._heap[0]
                delay = when - time.monotonic()
                if delay > 0:
                    self._condition.wait(delay)
                    continue
                heapq.heappop(self._heap)
            deadline = reference()
            # A deadline that was extended has a later entry of its own.
            if deadline is not None and deadline.expires <= when:
                deadline.fire()


_WATCHDOG = _Watchdog()
_local = threading.local()


def current_deadline() -> Deadline | None:
    deadline: Deadline | None = getattr(_local, "deadline", None)
    return deadline


@contextlib.contextmanager
def _deadline_scope(deadline: Deadline) -> Iterator[None]:
    previous = current_deadline()
    _local.deadline = deadline
    try:
        yield
    finally:
        _local.deadline = previous


# --------------------------------------------------------------------------------------------
# urllib3 classes that know the deadline

# Read at most this much of a body that is only drained so the connection can be reused; a
# larger one closes the connection instead.
_DRAIN_LIMIT = 64 * 1024


class _BoundedResponse(HTTPResponse):
    def drain_conn(self) -> None:
        drained = 0
        # urllib3 itself ignores any failure while draining.
        with contextlib.suppress(Exception):
            while drained <= _DRAIN_LIMIT:
                chunk = self._raw_read(16 * 1024)
                if not chunk:
                    return
                drained += len(chunk)
        connection = self._connection
        if connection is not None:
            connection.close()


def _request_sent(connection: HTTPConnection) -> None:
    deadline = current_deadline()
    if deadline is not None:
        deadline.sent_on(connection.sock)
        deadline.restart()


class _DeadlineConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        _request_sent(self)


class _DeadlineHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        _request_sent(self)


class _PoolMixin:
    def _get_conn(self, timeout: float | None = None) -> HTTPConnection:
        connection: HTTPConnection = super()._get_conn(timeout)  # type: ignore[misc]
        deadline = current_deadline()
        if deadline is not None:
            deadline.take(connection)
        return connection

    def _put_conn(self, conn: Any) -> None:
        deadline = getattr(conn, "_ado_deadline", None)
        if isinstance(deadline, Deadline):
            deadline.release(conn)
        super()._put_conn(conn)  # type: ignore[misc]


class _HTTPPool(_PoolMixin, HTTPConnectionPool):
    ConnectionCls = _DeadlineConnection
    ResponseCls = _BoundedResponse


class _HTTPSPool(_PoolMixin, HTTPSConnectionPool):
    ConnectionCls = _DeadlineHTTPSConnection
    ResponseCls = _BoundedResponse


def _use_our_pools(manager: PoolManager) -> PoolManager:
    manager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
    return manager


# --------------------------------------------------------------------------------------------
# Retry-After, capped for the whole command


Notify = Callable[[str], None]


class RetryAfterBudget:
    """Seconds of Retry-After this process may still wait, shared by every request."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self.reset(seconds)

    def reset(self, seconds: float) -> None:
        with self._lock:
            self.total = seconds
            self.remaining = seconds

    def take(self, requested: float, notify: Notify | None = None) -> bool:
        """Spend ``requested`` seconds if they fit in what is left; False (nothing spent) if
        not: then we do not wait, and do not retry early against the server's wish, and
        ``notify`` gets the note that says so."""
        with self._lock:
            fits = requested <= self.remaining
            if fits:
                self.remaining -= requested
        if not fits and notify is not None:
            notify(retry_after_note(requested, self.total))
        return fits


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header, a number or an HTTP-date; None when absent or bad."""
    if value is None or not value.strip():
        return None
    try:
        return float(Retry(retry_after_max=10**9).parse_retry_after(value.strip()))
    except (InvalidHeader, TypeError, ValueError, OverflowError):
        return None
    except Exception:  # urllib3 before 2.x has no retry_after_max
        try:
            return float(Retry().parse_retry_after(value.strip()))
        except Exception:
            return None


class CappedRetry(Retry):
    """urllib3's Retry, with Retry-After waits taken from the command's budget and no attempt
    after the request's deadline has passed."""

    budget: RetryAfterBudget | None = None
    notify: Notify | None = None

    def get_retry_after(self, response: BaseHTTPResponse) -> float | None:
        # Only reached for a wait that ``increment`` already took from the budget.
        return parse_retry_after(response.headers.get("Retry-After"))

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        deadline = current_deadline()
        if deadline is None:
            super().sleep(response)
            return
        with deadline.paused_while():
            super().sleep(response)

    def increment(self, *args: Any, **kwargs: Any) -> CappedRetry:
        pool = kwargs.get("_pool") or (args[4] if len(args) > 4 else None)
        url = kwargs.get("url") or (args[1] if len(args) > 1 else None)
        deadline = current_deadline()
        if deadline is not None and deadline.expired:
            raise MaxRetryError(cast("Any", pool), url, DeadlineExceeded(deadline.seconds))
        response = kwargs.get("response") or (args[2] if len(args) > 2 else None)
        if response is not None and self.respect_retry_after_header:
            requested = parse_retry_after(response.headers.get("Retry-After"))
            budget = type(self).budget
            refused = (
                requested is not None
                and budget is not None
                and not budget.take(requested, type(self).notify)
            )
            if refused:
                # With raise_on_status off, urllib3 hands this answer to the caller.
                raise MaxRetryError(cast("Any", pool), url, None)
        result: CappedRetry = super().increment(*args, **kwargs)
        return result


def retry_after_note(requested: float, cap: float) -> str:
    return (
        f"the server asked to wait {requested:.0f} s before retrying, more than the {cap:g} s "
        "a command waits in all (POETRY_ADO_RETRY_AFTER_MAX): not retrying"
    )


# --------------------------------------------------------------------------------------------
# The adapter

_deadlines: weakref.WeakKeyDictionary[requests.Response, Deadline] = weakref.WeakKeyDictionary()


class DeadlineAdapter(HTTPAdapter):
    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        total: float,
        max_body: int,
        fixed_timeout: bool,
        on_secret: Callable[[str], None] | None = None,
        **kwargs: Any,
    ) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total = total
        self.max_body = max_body
        self.fixed_timeout = fixed_timeout
        self.on_secret = on_secret
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        _use_our_pools(self.poolmanager)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> PoolManager:
        manager: PoolManager = super().proxy_manager_for(proxy, **proxy_kwargs)
        return _use_our_pools(manager)

    def _timeout(self, timeout: Any) -> tuple[float, float]:
        if self.fixed_timeout or timeout is None:
            return (self.connect_timeout, self.read_timeout)
        if isinstance(timeout, tuple):
            connect, read = timeout
        else:
            connect = read = timeout
        # A caller may ask for less, never for more (or for none at all).
        return (
            min(self.connect_timeout, connect or self.connect_timeout),
            min(self.read_timeout, read or self.read_timeout),
        )

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        self._register_credentials(request)
        deadline = Deadline(self.total)
        _WATCHDOG.arm(deadline)
        with _deadline_scope(deadline):
            try:
                response = super().send(
                    request,
                    stream=True,
                    timeout=self._timeout(timeout),
                    verify=verify,
                    cert=cert,
                    proxies=proxies,
                )
            except requests.RequestException as error:
                if deadline.expired and not isinstance(error, DeadlineExceeded):
                    raise DeadlineExceeded(self.total, request=request) from error
                raise
        _deadlines[response] = deadline
        if response.is_redirect:
            # requests reads a redirect's body whole before it follows it: read it here, capped.
            with contextlib.suppress(requests.RequestException):
                read_body(response, self.max_body, too_large="close")
        elif not stream:
            read_body(response, self.max_body)
        return response

    def _register_credentials(self, request: requests.PreparedRequest) -> None:
        if self.on_secret is None:
            return
        value = request.headers.get("Authorization")
        if not isinstance(value, str):
            return
        scheme, _, encoded = value.partition(" ")
        self.on_secret(encoded)
        if scheme.lower() == "basic":
            import base64
            import binascii

            with contextlib.suppress(binascii.Error, UnicodeDecodeError):
                decoded = base64.b64decode(encoded).decode("latin-1")
                self.on_secret(decoded.partition(":")[2])


class Session(requests.Session):
    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        try:
            return super().prepare_request(request)
        except UnicodeEncodeError:
            raise _not_latin1(request.auth or self.auth) from None


def _not_latin1(auth: object) -> Exception:
    """requests encodes HTTP Basic credentials as Latin-1 and fails on anything else."""
    from poetry_ado_plugin.errors import CredentialError

    username = auth[0] if isinstance(auth, tuple) and auth else None
    what = "token"
    if isinstance(username, str):
        try:
            username.encode("latin-1")
        except UnicodeEncodeError:
            what = "username"
    fix = (
        "pass a plain ASCII --username"
        if what == "username"
        else "check that you copied the whole token and nothing else"
    )
    return CredentialError(
        f"the {what} has characters that HTTP Basic authentication cannot send (only Latin-1 "
        f"can be sent): {fix}"
    )


# --------------------------------------------------------------------------------------------
# Reading bodies


def _consumed(response: requests.Response, value: bool | None = None) -> bool:
    """requests' private flag that the body has been read (``.content`` then returns it)."""
    if value is not None:
        response.__dict__["_content_consumed"] = value
    return bool(response.__dict__.get("_content_consumed"))


def _loaded(response: requests.Response) -> bool:
    # requests keeps False in _content until the body has been read.
    content: object = response.__dict__.get("_content", False)
    return _consumed(response) or isinstance(content, bytes)


def deadline_of(response: requests.Response) -> Deadline | None:
    return _deadlines.get(response)


def iter_body(response: requests.Response, limit: int, chunk_size: int) -> Iterator[bytes]:
    """The decoded body in chunks, failing with ResponseTooLarge past ``limit`` bytes and with
    DeadlineExceeded when the deadline cut it short (an HTTP/1.0 body just ends, then)."""
    if _loaded(response):  # already read, e.g. by the adapter
        content = response._content or b""
        if len(content) > limit:
            raise ResponseTooLarge(limit, response=response)
        if content:
            yield content
        return
    deadline = deadline_of(response)
    received = 0
    try:
        for chunk in response.iter_content(chunk_size):
            received += len(chunk)
            if received > limit:
                response.close()
                raise ResponseTooLarge(limit, response=response)
            yield chunk
    except (requests.exceptions.ChunkedEncodingError, ProtocolError) as error:
        if deadline is not None and deadline.expired:
            raise DeadlineExceeded(deadline.seconds, response=response) from error
        raise
    if deadline is not None and deadline.fired:
        raise DeadlineExceeded(deadline.seconds, response=response)


def read_body(response: requests.Response, limit: int, *, too_large: str = "raise") -> bytes:
    """The whole body, at most ``limit`` bytes, kept on the response so that ``.text`` and
    ``.content`` work afterwards. ``too_large="close"`` keeps what fit instead of raising."""
    if _loaded(response) and response._content:
        content: bytes = response._content
        if len(content) > limit and too_large == "raise":
            raise ResponseTooLarge(limit, response=response)
        return content
    chunks: list[bytes] = []
    try:
        for chunk in iter_body(response, limit, 64 * 1024):
            chunks.append(chunk)
    except ResponseTooLarge:
        response._content = b"".join(chunks)
        _consumed(response, True)
        response.close()
        if too_large == "raise":
            raise
        return response._content
    except requests.RequestException:
        response._content = b""
        _consumed(response, True)
        response.close()
        raise
    response._content = b"".join(chunks)
    _consumed(response, True)
    return response._content


def discard_body(response: requests.Response, limit: int) -> None:
    """Read and drop the body so the connection can serve the next request; past ``limit``
    bytes, close the connection instead of reading on."""
    with contextlib.suppress(requests.RequestException):
        for _ in iter_body(response, limit, 64 * 1024):
            pass
    response.close()
