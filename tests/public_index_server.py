"""A local stand-in for PyPI's simple API, for tests and the benchmark.

``GET /simple/`` lists the projects (HTML, or PEP 691 JSON when asked and ``json=True``) with an
``ETag`` and answers ``If-None-Match`` with 304; ``GET /simple/{name}/`` answers 200 for a known
project, 404 otherwise, and 301 to the normal name for any other spelling, like pypi.org. It
speaks HTTP/1.1 with keep-alive from a thread per connection, records every request, can add a
fixed latency to each answer, fail with 500 (all of it, or chosen names with 503), redirect
chosen names, and can be stopped so that its port refuses connections.

``add(*names)`` makes projects without files. ``add_package(name, version, ...)`` builds a tiny
real wheel (or sdist): the project page then links it as ``<a href="/files/{file}#sha256=...">``
(with ``data-requires-python`` when given; PEP 691 JSON in json mode) and ``GET /files/{file}``
serves it, so the feed emulator can use this server as its upstream "PyPI"."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class PublicFile:
    """One distribution file the index serves."""

    filename: str
    project: str  # normal name
    version: str
    requires_python: str | None
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    status: int


class PublicIndexServer:
    def __init__(
        self,
        projects: tuple[str, ...] | list[str] = (),
        *,
        latency: float = 0.0,
        json: bool = False,
    ) -> None:
        self._lock = threading.Lock()
        self._projects: dict[str, str] = {}
        self._files: dict[str, PublicFile] = {}  # file name -> file
        self.add(*projects)
        self.latency = latency
        self.json = json
        self.fail_all = False
        self.failing: set[str] = set()
        # normal name -> Location, for mirrors that redirect a project page elsewhere
        self.moved: dict[str, str] = {}
        self.requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # -- control --------------------------------------------------------------------------------

    def add(self, *names: str) -> None:
        with self._lock:
            for name in names:
                self._projects[normalize(name)] = name

    def add_package(
        self,
        name: str,
        version: str,
        requires_python: str | None = None,
        *,
        requires: Sequence[str] = (),
        sdist: bool = False,
    ) -> PublicFile:
        """Publish a tiny real wheel (or sdist) of `name` `version`; returns the served file."""
        from tests.emulator.packages import build_sdist
        from tests.emulator.packages import build_wheel

        build = build_sdist if sdist else build_wheel
        with tempfile.TemporaryDirectory(prefix="public-index-") as directory:
            path = build(
                Path(directory), name, version, requires=requires, requires_python=requires_python
            )
            data = path.read_bytes()
        public = PublicFile(path.name, normalize(name), version, requires_python, data)
        with self._lock:
            self._projects.setdefault(normalize(name), name)
            self._files[public.filename] = public
        return public

    def files(self, name: str | None = None) -> list[PublicFile]:
        """The files served (of project `name`, when given), sorted by file name."""
        with self._lock:
            found = [
                f for f in self._files.values() if name is None or f.project == normalize(name)
            ]
        return sorted(found, key=lambda f: f.filename)

    def file_url(self, filename: str) -> str:
        return f"http://127.0.0.1:{self.port}/files/{filename}"

    @property
    def etag(self) -> str:
        with self._lock:
            digest = hashlib.sha256("\n".join(sorted(self._projects)).encode()).hexdigest()
        return f'"{digest[:16]}"'

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/simple/"

    def start(self) -> PublicIndexServer:
        server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and cut open keep-alive connections: the port now refuses."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._server = None

    def __enter__(self) -> PublicIndexServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- inspection -----------------------------------------------------------------------------

    def count(self, path: str | None = None, status: int | None = None) -> int:
        with self._lock:
            return sum(
                1
                for request in self.requests
                if (path is None or request.path == path)
                and (status is None or request.status == status)
            )

    def root_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [request for request in self.requests if request.path == "/simple/"]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- answers --------------------------------------------------------------------------------

    def answer(
        self, method: str, path: str, headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        if self.latency:
            time.sleep(self.latency)
        if self.fail_all:
            return 500, {"Content-Type": "text/plain"}, b"Internal Server Error"
        if path == "/simple/":
            return self._root(headers)
        if path.startswith("/files/"):
            return self._file(path.removeprefix("/files/"))
        match = re.fullmatch(r"/simple/([^/]+)/?", path)
        if match is None:
            return 404, {"Content-Type": "text/plain"}, b"Not Found"
        name = match.group(1)
        normal = normalize(name)
        if name != normal or not path.endswith("/"):
            return 301, {"Location": f"/simple/{normal}/"}, b""
        if normal in self.moved:
            return 302, {"Location": self.moved[normal]}, b""
        if normal in self.failing:
            return 503, {"Content-Type": "text/plain"}, b"Service Unavailable"
        with self._lock:
            display = self._projects.get(normal)
        if display is None:
            return 404, {"Content-Type": "text/plain"}, b"Not Found"
        files = self.files(normal)
        if self.json and "application/vnd.pypi.simple.v1+json" in headers.get("accept", ""):
            document: dict[str, Any] = {
                "meta": {"api-version": "1.1"},
                "name": normal,
                "versions": sorted({f.version for f in files}),
                "files": [
                    {
                        "filename": f.filename,
                        "url": f"/files/{f.filename}",
                        "hashes": {"sha256": f.sha256},
                        "requires-python": f.requires_python,
                    }
                    for f in files
                ],
            }
            return (
                200,
                {"Content-Type": "application/vnd.pypi.simple.v1+json"},
                json.dumps(document).encode(),
            )
        anchors = "".join(
            f'<a href="/files/{escape(f.filename)}#sha256={f.sha256}"'
            + (f' data-requires-python="{escape(f.requires_python)}"' if f.requires_python else "")
            + f">{escape(f.filename)}</a><br/>"
            for f in files
        )
        body = (
            f"<!DOCTYPE html><html><body><h1>Links for {escape(display)}</h1>"
            f"{anchors}</body></html>"
        )
        return 200, {"Content-Type": "text/html"}, body.encode()

    def _file(self, filename: str) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            public = self._files.get(filename)
        if public is None:
            return 404, {"Content-Type": "text/plain"}, b"Not Found"
        return 200, {"Content-Type": "application/octet-stream"}, public.data

    def _root(self, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        etag = self.etag
        if headers.get("if-none-match") == etag:
            return 304, {"ETag": etag}, b""
        with self._lock:
            projects = sorted(self._projects.items())
        if self.json and "application/vnd.pypi.simple.v1+json" in headers.get("accept", ""):
            document: dict[str, Any] = {
                "meta": {"api-version": "1.1"},
                "projects": [{"name": display, "_last-serial": 1} for _, display in projects],
            }
            body = json.dumps(document).encode()
            content_type = "application/vnd.pypi.simple.v1+json"
        else:
            anchors = "\n".join(
                f'    <a href="/simple/{normal}/">{escape(display)}</a>'
                for normal, display in projects
            )
            body = (
                "<!DOCTYPE html>\n<html>\n  <head><title>Simple index</title></head>\n"
                f"  <body>\n{anchors}\n  </body>\n</html>\n"
            ).encode()
            content_type = "text/html"
        return 200, {"Content-Type": content_type, "ETag": etag}, body

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def _connected(self, connection: socket.socket, opened: bool) -> None:
        with self._lock:
            if opened:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)


class _QuietServer(ThreadingHTTPServer):
    # socketserver's default backlog of 5 drops the SYNs of a burst of pooled connections,
    # and each dropped one costs a 1 s retransmit.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that time out or stop mid-answer are part of the tests, not failures.
        pass


def _handler_for(server: PublicIndexServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; without this, Nagle plus delayed ACK
        # adds 40 ms to every keep-alive answer.
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            server._connected(self.connection, True)

        def finish(self) -> None:
            server._connected(self.connection, False)
            super().finish()

        def do_GET(self) -> None:
            self._respond(send_body=True)

        def do_HEAD(self) -> None:
            self._respond(send_body=False)

        def _respond(self, *, send_body: bool) -> None:
            headers = {key.lower(): value for key, value in self.headers.items()}
            status, answer_headers, body = server.answer(self.command, self.path, headers)
            server._record(RecordedRequest(self.command, self.path, headers, status))
            self.send_response(status)
            for key, value in answer_headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body and body:
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def closed_port_url() -> str:
    """A simple-index URL on a local port nothing listens on: connections are refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/simple/"
