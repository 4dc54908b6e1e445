"""A threaded, quiet wsgiref server that can drop a connection without answering."""

from __future__ import annotations

import logging
import sys
import threading
import time
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING
from typing import Any
from wsgiref.handlers import SimpleHandler
from wsgiref.simple_server import ServerHandler
from wsgiref.simple_server import WSGIRequestHandler
from wsgiref.simple_server import WSGIServer


if TYPE_CHECKING:
    from collections.abc import Iterable
    from collections.abc import Sequence

    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication


log = logging.getLogger("tests.emulator")


def respond(
    start_response: StartResponse,
    status: str,
    content_type: str,
    body: bytes,
    extra: Sequence[tuple[str, str]] = (),
) -> Iterable[bytes]:
    """One whole answer: its type, its length and the body."""
    start_response(
        status, [("Content-Type", content_type), ("Content-Length", str(len(body))), *extra]
    )
    return [body]


class DropConnection(Exception):
    """Raised by the application: close the socket without writing any response."""


class LogStream:
    """A text stream (for `wsgi.errors` and the handler's stderr) that writes into a logger, so
    nothing reaches the terminal."""

    def __init__(self, logger: logging.Logger, level: int) -> None:
        self._logger = logger
        self._level = level

    def write(self, text: str) -> int:
        if text.strip():
            self._logger.log(self._level, "%s", text.rstrip())
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass


_STREAM = LogStream(log, logging.DEBUG)


class _Handler(ServerHandler):
    os_environ: Any = {}  # noqa: RUF012 - do not copy the process environment into every request
    dropped = False

    def handle_error(self) -> None:
        if isinstance(sys.exc_info()[1], DropConnection):
            self.dropped = True
            return
        super().handle_error()

    def log_exception(self, exc_info: Any) -> None:
        log.error("emulator application error", exc_info=exc_info)

    def close(self) -> None:
        if self.dropped:
            SimpleHandler.close(self)  # reset state without logging a response that never was
            return
        super().close()


class _RequestHandler(WSGIRequestHandler):
    timeout = 60  # a stalled client cannot hold a worker forever

    def handle(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _Handler(
            self.rfile,
            self.wfile,  # type: ignore[arg-type]
            _STREAM,
            self.get_environ(),
            multithread=True,
        )
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]
        if handler.dropped:
            self.close_connection = True

    def get_environ(self) -> dict[str, str]:
        environ = super().get_environ()
        environ["RAW_URI"] = self.path  # the request target as sent, before percent-decoding
        return environ

    def get_stderr(self) -> Any:
        return _STREAM

    def log_message(self, format: str, *args: Any) -> None:
        if getattr(self.server, "verbose", False):
            log.info("%s - %s", self.address_string(), format % args)


class ThreadedWSGIServer(ThreadingMixIn, WSGIServer):
    """One daemon thread per connection; `stop()` waits for the running ones."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # ~300 concurrent lookups must not overflow the accept backlog

    def __init__(self, host: str, port: int, app: WSGIApplication, *, verbose: bool) -> None:
        super().__init__((host, port), _RequestHandler)
        self.set_app(app)
        self.verbose = verbose
        self._workers: set[threading.Thread] = set()
        self._workers_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        worker = threading.Thread(
            target=self._work,
            args=(request, client_address),
            name=f"ado-emulator-request-{client_address[1]}",
            daemon=True,
        )
        with self._workers_lock:
            self._workers.add(worker)
        worker.start()

    def _work(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._workers_lock:
                self._workers.discard(threading.current_thread())

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("connection error from %s", client_address, exc_info=True)

    def join_workers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self._workers_lock:
                workers = list(self._workers)
            if not workers:
                return
            for worker in workers:
                worker.join(max(0.0, deadline - time.monotonic()))
            if time.monotonic() >= deadline:
                return


class ServerThread:
    """Runs a `ThreadedWSGIServer` on 127.0.0.1 in a background thread."""

    def __init__(self, app: WSGIApplication, *, host: str, port: int, verbose: bool) -> None:
        self.server = ThreadedWSGIServer(host, port, app, verbose=verbose)
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"ado-emulator-{self.port}",
            daemon=True,
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout)
        self.server.join_workers(timeout)
