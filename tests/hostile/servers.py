"""Tiny hostile HTTP servers on 127.0.0.1, written on raw sockets so they can misbehave in ways
a real HTTP server library would not allow: drip headers or a body a byte at a time, stream a
body of gigabytes (generated, never held in memory), ask for absurd Retry-After waits, put ANSI
escapes in the reason phrase, echo the token back, redirect to a sign-in page, or answer
HTTP/1.0 and just close.

Every server answers every path and method the same way (GET of an index page, POST of an
upload), except the sign-in redirect, which answers its own sign-in page."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from collections.abc import Iterator


ESC = "\x1b"
ANSI_TRAP = f"{ESC}[2K{ESC}[1A{ESC}]0;pwned{chr(7)}FAKE OK{ESC}[0m"
DRIP_INTERVAL = 0.2
BOMB_SIZE = 4 * 1024**3  # 4 GiB, announced and streamed until the client hangs up
_CHUNK = b"\0" * (256 * 1024)


@dataclass(frozen=True)
class Behaviour:
    name: str
    description: str
    # The status an index or feed request gets; None for a server that never finishes headers.
    status: int | None
    # What the server says to login's probe means the token is good (so login stores it).
    accepts_login: bool = False


BEHAVIOURS: dict[str, Behaviour] = {
    b.name: b
    for b in (
        Behaviour("drip-headers", "headers a byte at a time, never finished", None),
        Behaviour("drip-body", "200, then the body a byte at a time", 200, accepts_login=True),
        Behaviour("bomb-200", "200 with a 4 GiB body", 200, accepts_login=True),
        Behaviour("bomb-401", "401 with a 4 GiB body", 401),
        Behaviour("bomb-404-chunked", "404 with an endless chunked body", 404),
        Behaviour("retry-after-seconds", "503 with Retry-After: one day", 503),
        Behaviour("retry-after-date", "429 with Retry-After: an HTTP-date a day ahead", 429),
        Behaviour("ansi", "400 with escapes in the reason phrase and message", 400),
        Behaviour("token-echo", "418 (400 for uploads) whose message echoes the token", 418),
        Behaviour(
            "token-echo-upload",
            "no such package yet (404), then 400 for the upload, echoing the token",
            404,
            accepts_login=True,
        ),
        Behaviour("sign-in", "302 to a sign-in page", 302),
        Behaviour(
            "http10-close",
            "HTTP/1.0 200 without a length, dripped, then closed",
            200,
            accepts_login=True,
        ),
    )
}


class HostileServer:
    """Serves one ``behaviour`` on 127.0.0.1 until stopped. Use as a context manager."""

    def __init__(self, behaviour: str) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(behaviour)
        self.behaviour = behaviour
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.requests = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def index_url(self) -> str:
        """A simple index root, for check-name --index-url."""
        return f"{self.base_url}/simple/"

    @property
    def feed_url(self) -> str:
        """An on-premises style feed URL (any host with a _packaging segment)."""
        return f"{self.base_url}/tfs/DefaultCollection/_packaging/hostile/pypi/simple/"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.requests += 1
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    # -- one connection -----------------------------------------------------------------------

    def _handle(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError), connection:
            connection.settimeout(10)
            while not self._stop.is_set():
                request = _read_request(connection)
                if request is None:
                    return
                if not self._answer(connection, *request):
                    return

    def _answer(self, connection: socket.socket, method: str, path: str, auth: str) -> bool:
        """Send one answer; True when the connection may serve another request."""
        behaviour = self.behaviour
        send = connection.sendall
        if behaviour == "drip-headers":
            self._drip(connection, b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000)
            return False
        if behaviour == "drip-body":
            send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n")
            self._drip(connection, b"<html>" + b"x" * 99_994)
            return False
        if behaviour.startswith("bomb-"):
            status = BEHAVIOURS[behaviour].status
            reason = {200: "OK", 401: "Unauthorized", 404: "Not Found"}[status or 200]
            if behaviour.endswith("chunked"):
                send(
                    f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n".encode()
                )
                chunk = f"{len(_CHUNK):x}\r\n".encode() + _CHUNK + b"\r\n"
                self._flood(connection, chunk)
            else:
                send(
                    f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html\r\n"
                    f"Content-Length: {BOMB_SIZE}\r\n\r\n".encode()
                )
                self._flood(connection, _CHUNK)
            return False
        if behaviour == "retry-after-seconds":
            return _reply(connection, 503, "Service Unavailable", b"busy", {"Retry-After": "86400"})
        if behaviour == "retry-after-date":
            later = formatdate(time.time() + 86400, usegmt=True)
            headers = {"Retry-After": later}
            return _reply(connection, 429, "Too Many Requests", b"slow down", headers)
        if behaviour == "ansi":
            message = json.dumps({"message": f"Bad {ANSI_TRAP} request"}).encode()
            return _reply(
                connection,
                400,
                f"Bad Request {ANSI_TRAP}",
                message,
                {"Content-Type": "application/json"},
            )
        if behaviour == "token-echo":
            token = _token_of(auth)
            message = json.dumps({"message": f"I'm a teapot; your token is {token}"}).encode()
            status, reason = (400, "Bad Request") if method == "POST" else (418, "I'm a teapot")
            return _reply(
                connection,
                status,
                f"{reason} - {token}",
                message,
                {"Content-Type": "application/json"},
            )
        if behaviour == "token-echo-upload":
            if method != "POST":
                missing = {"message": "Cannot find the package 'x' in feed 'hostile'"}
                headers = {"Content-Type": "application/json"}
                return _reply(connection, 404, "Not Found", json.dumps(missing).encode(), headers)
            token = _token_of(auth)
            message = json.dumps({"message": f"Invalid package; token {token}"}).encode()
            headers = {"Content-Type": "application/json"}
            return _reply(connection, 400, f"Bad Request - {token}", message, headers)
        if behaviour == "sign-in":
            if "_signin" in path:
                page = b"<html><head><title>Sign in to your account</title></head></html>"
                return _reply(connection, 200, "OK", page, {"Content-Type": "text/html"})
            location = f"{self.base_url}/_signin?realm=dev.azure.com&reply_to={path}"
            return _reply(connection, 302, "Found", b"", {"Location": location})
        if behaviour == "http10-close":
            send(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n")
            self._drip(connection, b'<html><a href="x/">x</a>' + b" " * 10_000)
            return False
        raise AssertionError(behaviour)

    def _drip(self, connection: socket.socket, data: bytes) -> None:
        for byte in data:
            if self._stop.is_set():
                return
            connection.sendall(bytes([byte]))
            time.sleep(DRIP_INTERVAL)

    def _flood(self, connection: socket.socket, chunk: bytes) -> None:
        sent = 0
        while sent < BOMB_SIZE and not self._stop.is_set():
            connection.sendall(chunk)
            sent += len(chunk)


def _reply(
    connection: socket.socket, status: int, reason: str, body: bytes, headers: dict[str, str]
) -> bool:
    head = f"HTTP/1.1 {status} {reason}\r\nContent-Length: {len(body)}\r\n"
    head += "".join(f"{key}: {value}\r\n" for key, value in headers.items())
    connection.sendall(head.encode("latin-1") + b"\r\n" + body)
    return True


def _read_request(connection: socket.socket) -> tuple[str, str, str] | None:
    """(method, path, Authorization) of the next request, its body read and dropped."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
        if len(data) > 1024 * 1024:
            return None
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, *_ = [*lines[0].split(" "), "", ""][:3]
    headers = {}
    for line in lines[1:]:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    remaining = int(headers.get("content-length", "0") or 0) - len(rest)
    while remaining > 0:
        chunk = connection.recv(min(remaining, 65536))
        if not chunk:
            return None
        remaining -= len(chunk)
    return method, path, headers.get("authorization", "")


def _token_of(authorization: str) -> str:
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic":
        return value
    with contextlib.suppress(ValueError):
        return base64.b64decode(value).decode("latin-1").partition(":")[2]
    return value


@contextlib.contextmanager
def hostile_server(behaviour: str) -> Iterator[HostileServer]:
    with HostileServer(behaviour) as server:
        yield server
