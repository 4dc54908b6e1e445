"""The "blob storage" host that hosted downloads redirect to, and file answers with Range.

Azure answers a download with 303 to a SAS-signed URL on `*.blob.core.windows.net`. This host
plays that part on a second loopback address (127.0.0.2), so that clients see a different host
name and must not send the feed's credentials along.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from datetime import timezone
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import quote
from urllib.parse import urlencode

from tests.emulator import _azure
from tests.emulator.records import BlobRequest


if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIEnvironment


SAS_LIFETIME = 3600
_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def file_response(
    environ: WSGIEnvironment,
    start_response: StartResponse,
    data: bytes,
    headers: list[tuple[str, str]],
) -> list[bytes]:
    """200 with `data`, or 206/416 for a `Range: bytes=a-b` request (one range)."""
    head = environ.get("REQUEST_METHOD", "GET").upper() == "HEAD"
    common = [*headers, ("Accept-Ranges", "bytes")]
    wanted = environ.get("HTTP_RANGE", "").strip()
    if wanted:
        match = _RANGE_RE.match(wanted)
        size = len(data)
        first: int | None = None
        if match and (match.group(1) or match.group(2)):
            if match.group(1):
                first = int(match.group(1))
                last = int(match.group(2)) if match.group(2) else size - 1
            else:
                first, last = max(0, size - int(match.group(2))), size - 1
            last = min(last, size - 1)
            if first > last:
                first = None
        if first is None:
            start_response(
                "416 Range Not Satisfiable",
                [*common, ("Content-Range", f"bytes */{size}"), ("Content-Length", "0")],
            )
            return [b""]
        part = data[first : last + 1]
        start_response(
            "206 Partial Content",
            [
                *common,
                ("Content-Range", f"bytes {first}-{last}/{size}"),
                ("Content-Length", str(len(part))),
            ],
        )
        return [b"" if head else part]
    start_response("200 OK", [*common, ("Content-Length", str(len(data)))])
    return [b"" if head else data]


class BlobStore:
    """Signs blob URLs for stored files and serves them (a WSGI app).

    A URL is valid for an hour and only without an `Authorization` header, as a SAS URL is.
    """

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._blobs: dict[str, tuple[Path, str]] = {}
        self._requests: list[BlobRequest] = []
        self.base_url = ""  # set once the server listens

    @property
    def requests(self) -> list[BlobRequest]:
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def sign(self, path: Path, filename: str, container: str) -> str:
        """A SAS-style URL for the file at `path`, downloaded as `filename`."""
        digest = hashlib.sha256(path.read_bytes()).hexdigest().upper()
        blob_path = f"/b-{container.replace('-', '')}/{digest}"
        with self._lock:
            self._blobs[blob_path] = (path, filename)
        expiry = datetime.fromtimestamp(time.time() + SAS_LIFETIME, tz=timezone.utc)
        query = {
            "sv": "2019-07-07",
            "sr": "b",
            "sp": "r",
            "se": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "rscd": f'attachment; filename="{filename}"',
            "rsct": "application/octet-stream",
        }
        query["sig"] = self._signature(blob_path, query["se"])
        return f"{self.base_url}{quote(blob_path)}?{urlencode(query, quote_via=quote)}"

    def _signature(self, blob_path: str, expiry: str) -> str:
        mac = hmac.new(self._secret, f"{blob_path}\n{expiry}".encode(), hashlib.sha256)
        return mac.hexdigest()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO", "/")
        query = environ.get("QUERY_STRING", "")
        authorization = environ.get("HTTP_AUTHORIZATION")
        status: list[int] = []

        def recording(
            status_line: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            status.append(int(status_line.split(" ", 1)[0]))
            return start_response(status_line, headers, exc_info)

        try:
            return self._answer(environ, recording, method, path, query, authorization)
        finally:
            with self._lock:
                self._requests.append(
                    BlobRequest(
                        method,
                        path,
                        query,
                        status[0] if status else 500,
                        authorization,
                        environ.get("HTTP_RANGE"),
                    )
                )

    def _answer(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        method: str,
        path: str,
        query: str,
        authorization: str | None,
    ) -> list[bytes]:
        def error(status: str, code: str, message: str) -> list[bytes]:
            body = _azure.blob_error(code, message)
            start_response(
                status,
                [
                    ("Content-Type", _azure.XML),
                    ("Content-Length", str(len(body))),
                    ("x-ms-error-code", code),
                ],
            )
            return [b"" if method == "HEAD" else body]

        if method not in ("GET", "HEAD"):
            return error(
                "405 The resource doesn't support specified Http Verb.",
                "UnsupportedHttpVerb",
                "The resource doesn't support specified Http Verb.",
            )
        if authorization is not None:
            # A SAS URL plus an Authorization header: storage refuses to pick one. The status
            # and code are those reported for Azure Artifacts npm downloads.
            return error(
                "400 Authentication information is not given in the correct format. "
                "Check the value of Authorization header.",
                "InvalidAuthenticationInfo",
                "Authentication information is not given in the correct format. "
                "Check the value of Authorization header.",
            )
        params = {key: values[0] for key, values in parse_qs(query).items()}
        expiry = params.get("se", "")
        signature = params.get("sig", "")
        valid = hmac.compare_digest(signature, self._signature(path, expiry))
        expired = True
        try:
            moment = datetime.strptime(expiry, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
            expired = moment.timestamp() < time.time()
        except ValueError:
            pass
        if not valid or expired:
            return error(
                "403 Server failed to authenticate the request.",
                "AuthenticationFailed",
                "Server failed to authenticate the request. Make sure the value of "
                "Authorization header is formed correctly including the signature.",
            )
        with self._lock:
            found = self._blobs.get(path)
        if found is None or not found[0].is_file():
            return error(
                "404 The specified blob does not exist.",
                "BlobNotFound",
                "The specified blob does not exist.",
            )
        stored, filename = found
        data = stored.read_bytes()
        headers = [
            ("Content-Type", params.get("rsct", "application/octet-stream")),
            ("Content-Disposition", params.get("rscd", f'attachment; filename="{filename}"')),
            ("ETag", f'"0x{hashlib.sha256(data).hexdigest()[:16].upper()}"'),
            ("x-ms-blob-type", "BlockBlob"),
            ("x-ms-version", params.get("sv", "2019-07-07")),
        ]
        return file_response(environ, start_response, data, headers)
