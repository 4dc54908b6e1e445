"""A local Azure Artifacts Python feed: pypiserver apps behind Azure's paths, auth and errors.

Every feed is one pypiserver WSGI app with its own storage directory. `FeedEmulator` is the WSGI
router in front of them. It resolves `[/{prefix}]/{org}[/{project}]/_packaging/{feed}[@{view}]/`
`pypi/...` paths (names case-insensitive, project and feed also by GUID), authenticates like
Azure, answers Azure's errors, records every request and injects faults. The PyPI protocols
themselves (simple index, project pages, file serving, the legacy upload) are pypiserver's.
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from http import HTTPStatus
from io import BytesIO
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import quote

from tests.emulator import _azure
from tests.emulator import _pypiserver
from tests.emulator._faults import Faults
from tests.emulator._faults import Rule
from tests.emulator._server import DropConnection
from tests.emulator._server import ServerThread
from tests.emulator.feed import DEFAULT_VIEWS
from tests.emulator.feed import EmulatedFeed
from tests.emulator.feed import segments
from tests.emulator.feed import validate
from tests.emulator.records import RecordedRequest
from tests.emulator.records import RecordedUpload
from tests.emulator.records import TokenGrant
from tests.emulator.records import UploadInfo


if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIEnvironment


log = logging.getLogger("tests.emulator")

DEFAULT_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
_MAX_BODY = 600 * 1024 * 1024  # Azure's per-file limit is 500 MB
_HREF_RE = re.compile(r'href="[^"]*?/packages/([^"#/]+)(#[^"]*)?"')


@dataclass
class _Context:
    """Mutable facts about the request being handled, turned into a RecordedRequest at the end."""

    method: str
    path: str
    raw_path: str
    query: str
    user_agent: str
    status: int | None = None
    scheme: str | None = None  # "basic", "bearer" or None (no usable Authorization header)
    username: str | None = None
    password: str | None = None
    feed: EmulatedFeed | None = None
    view: str | None = None
    upload: UploadInfo | None = None
    fault: str | None = None
    organization: str | None = None
    extra_headers: list[tuple[str, str]] = field(default_factory=list)


def _wsgi_str(text: str) -> str:
    """A native WSGI string (bytes as latin-1) from real text."""
    return text.encode("utf-8").decode("latin-1")


def _real_str(text: str) -> str:
    """Real text from a native WSGI string; undecodable bytes are left as they came."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _parse_auth(header: str) -> tuple[str, str, str] | None:
    """(scheme, username, password) from an Authorization header; None when absent or unreadable."""
    import base64
    import binascii

    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        username, sep, password = decoded.partition(":")
        return ("basic", username, password) if sep else None
    if scheme.lower() == "bearer" and value:
        return ("bearer", "", value)
    return None


class FeedEmulator:
    """A local Azure Artifacts server for Python feeds. Use as a context manager or start/stop.

    `storage` holds one directory per feed (a temporary directory, removed at stop, when None).
    `prefix` is the default server prefix of every feed (e.g. "/tfs"); `port=0` picks a free one.
    """

    def __init__(
        self,
        storage: Path | None = None,
        *,
        prefix: str = "",
        port: int = 0,
        tenant_id: str = DEFAULT_TENANT,
        verbose: bool = False,
    ) -> None:
        self._own_storage = storage is None
        self.storage = (
            Path(tempfile.mkdtemp(prefix="ado-emulator-")) if storage is None else storage
        )
        self.storage.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix
        self.tenant_id = tenant_id
        self.verbose = verbose
        self._port = port
        self._lock = threading.Lock()
        self._feeds: list[EmulatedFeed] = []
        self._tokens: dict[str, TokenGrant] = {}
        self._requests: list[RecordedRequest] = []
        self._faults = Faults()
        self._stopping = threading.Event()
        self._server: ServerThread | None = None
        self._stopped = False

    def __repr__(self) -> str:
        where = self.base_url if self._server else "not started"
        return f"FeedEmulator({where}, feeds={self.feeds!r})"

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Bind 127.0.0.1 and serve in background threads; returns once requests are accepted."""
        if self._server is not None or self._stopped:
            raise RuntimeError("a FeedEmulator can be started once")
        self._server = ServerThread(self, host="127.0.0.1", port=self._port, verbose=self.verbose)
        self._server.start()
        log.info("Azure Artifacts emulator listening on %s", self.base_url)

    def stop(self) -> None:
        """Stop serving, wait for running requests (delays are cut short) and free the port."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
        if self._own_storage:
            shutil.rmtree(self.storage, ignore_errors=True)

    def __enter__(self) -> FeedEmulator:
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None and not self._stopped

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return self._server.port

    @property
    def base_url(self) -> str:
        """`http://127.0.0.1:PORT` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    # -- configuration --------------------------------------------------------------------

    def add_feed(
        self,
        organization: str | None,
        feed: str,
        project: str | None = None,
        views: Sequence[str] = DEFAULT_VIEWS,
        *,
        prefix: str | None = None,
        guid_links: bool = True,
    ) -> EmulatedFeed:
        """Create a feed (project-scoped when `project` is given, else organization-scoped).

        `organization=None` leaves the organization segment out, for on-premises URLs whose
        collection is part of `prefix` ("/tfs/DefaultCollection"). `prefix` overrides the
        emulator's. With `guid_links` the index links downloads by project and feed GUID, as Azure
        does; otherwise by name.
        """
        validate(organization, project, feed)
        with self._lock:
            candidate_scope = [
                *segments(self.prefix if prefix is None else prefix),
                *([organization] if organization else []),
                *([project] if project else []),
            ]
            for existing in self._feeds:
                if existing.matches(candidate_scope, feed):
                    raise ValueError(f"feed already exists: {existing!r}")
            slug = re.sub(r"[^a-z0-9]+", "-", "_".join([*candidate_scope, feed]).lower()).strip("-")
            storage = self.storage / slug
            while any(f.storage == storage for f in self._feeds):
                storage = storage.with_name(storage.name + "-x")
            storage.mkdir(parents=True, exist_ok=True)
            emulated = EmulatedFeed(
                self,
                organization=organization,
                project=project,
                name=feed,
                views=views,
                prefix=self.prefix if prefix is None else prefix,
                storage=storage,
                guid_links=guid_links,
            )
            self._feeds.append(emulated)
        return emulated

    @property
    def feeds(self) -> list[EmulatedFeed]:
        with self._lock:
            return list(self._feeds)

    def add_token(
        self,
        token: str,
        *,
        write: bool = True,
        expired: bool = False,
        feeds: Iterable[EmulatedFeed] | None = None,
        user_id: str | None = None,
    ) -> TokenGrant:
        """Accept `token` as a Basic password (any non-empty username) or a Bearer token.

        `write=False` is a Packaging Read token. `expired` behaves like a wrong token. With `feeds`,
        the identity holds a role on those feeds only (others answer 403 'ReadPackages').
        """
        if not token:
            raise ValueError("a token cannot be empty")
        grant = TokenGrant(
            token=token,
            write=write,
            expired=expired,
            feeds=None if feeds is None else frozenset(feeds),
        )
        if user_id is not None:
            grant.user_id = user_id
        with self._lock:
            self._tokens[token] = grant
        return grant

    def generate_token(self, *, write: bool = True) -> str:
        """Create, register and return a random token."""
        token = secrets.token_urlsafe(32)
        self.add_token(token, write=write)
        return token

    def expire_token(self, token: str) -> None:
        """From now on `token` is answered like a wrong one (a PAT expiring mid-run)."""
        with self._lock:
            self._tokens[token].expired = True

    def revoke_token(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    # -- faults ---------------------------------------------------------------------------

    def fail_next(
        self,
        count: int,
        status: int = 500,
        *,
        retry_after: int | None = None,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """The next `count` matching requests answer `status` (replaces a pending fail rule).

        Matching: `method` (e.g. "POST") and a substring of the path, when given. `retry_after`
        adds a `Retry-After` header (seconds).
        """
        self._faults.set("fail", Rule(count, status, retry_after, method, path_contains))

    def drop_next(
        self, count: int, *, method: str | None = None, path_contains: str | None = None
    ) -> None:
        """The next `count` matching requests get their connection closed without a response."""
        self._faults.set("drop", Rule(count, method=method, path_contains=path_contains))

    def delay(
        self,
        seconds: float,
        *,
        count: int | None = None,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        """Delay matching responses by `seconds`: the next `count`, or all until `delay(0)`.

        `stop()` cuts running delays short.
        """
        rule = Rule(
            2**62 if count is None else count,
            method=method,
            path_contains=path_contains,
            seconds=seconds,
        )
        self._faults.set("delay", rule if seconds > 0 else None)

    def clear_faults(self) -> None:
        self._faults.clear()

    # -- recording ------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request handled so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def uploads(self, feed: EmulatedFeed | str | None = None) -> list[RecordedUpload]:
        """Upload attempts (accepted or not), optionally of one feed (object or feed name)."""
        result = []
        for request in self.requests:
            if request.upload is None or request.feed is None:
                continue
            if feed is not None and not _same_feed(request.feed, feed):
                continue
            info = request.upload
            result.append(
                RecordedUpload(
                    request.feed,
                    info.filename,
                    info.name,
                    info.version,
                    request.status,
                    request.username,
                )
            )
        return result

    def stored_files(self, feed: EmulatedFeed | str) -> list[str]:
        return self._feed(feed).stored_files()

    def _feed(self, feed: EmulatedFeed | str) -> EmulatedFeed:
        if isinstance(feed, EmulatedFeed):
            return feed
        matches = [f for f in self.feeds if f.name.casefold() == feed.casefold()]
        if len(matches) != 1:
            raise LookupError(f"{len(matches)} feeds are named {feed!r}")
        return matches[0]

    # -- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        began = time.monotonic()
        ctx = _Context(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=_real_str(environ.get("PATH_INFO", "") or "/"),
            raw_path=str(environ.get("RAW_URI") or environ.get("PATH_INFO", "/")).split("?")[0],
            query=environ.get("QUERY_STRING", ""),
            user_agent=environ.get("HTTP_USER_AGENT", ""),
        )

        def recording_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            ctx.status = int(status.split(" ", 1)[0])
            return start_response(status, headers + ctx.extra_headers, exc_info)

        try:
            return self._handle(environ, recording_start_response, ctx)
        finally:
            record = RecordedRequest(
                method=ctx.method,
                path=ctx.path,
                raw_path=ctx.raw_path,
                query=ctx.query,
                status=ctx.status,
                username=ctx.username,
                password=ctx.password,
                feed=ctx.feed,
                view=ctx.view,
                upload=ctx.upload,
                fault=ctx.fault,
                user_agent=ctx.user_agent,
                duration=time.monotonic() - began,
            )
            with self._lock:
                self._requests.append(record)
            log.info(
                "%s %s -> %s (user %r%s)",
                ctx.method,
                ctx.path,
                ctx.status if ctx.status is not None else "dropped",
                ctx.username,
                ", password sent" if ctx.password else "",
            )

    def _handle(
        self, environ: WSGIEnvironment, start_response: StartResponse, ctx: _Context
    ) -> Iterable[bytes]:
        parsed = _parse_auth(environ.get("HTTP_AUTHORIZATION", ""))
        if parsed is not None:
            ctx.scheme, ctx.username, ctx.password = parsed
        ctx.organization = self._organization_hint(ctx.path)

        seconds = self._faults.delay_for(ctx.method, ctx.path)
        if seconds > 0:
            self._stopping.wait(seconds)
        taken = self._faults.take(ctx.method, ctx.path)
        if taken is not None and taken[0] == "drop":
            ctx.fault = "drop"
            raise DropConnection

        body = self._read_body(environ)
        ctx.extra_headers.extend(_azure.vss_headers(self.tenant_id, ctx.organization))

        if taken is not None:
            ctx.fault = "fail"
            rule = taken[1]
            extra = [("Retry-After", str(rule.retry_after))] if rule.retry_after is not None else []
            return self._error(start_response, ctx, _azure.fault(rule.status), extra)

        grant = self._authenticate(environ, start_response, ctx)
        if not isinstance(grant, TokenGrant):
            return grant
        ctx.extra_headers.append(("X-VSS-UserData", f"{grant.user_id}:{ctx.username or ''}"))
        return self._route(environ, start_response, ctx, grant, body)

    def _read_body(self, environ: WSGIEnvironment) -> bytes:
        """Read the whole request body, so that an early error never resets the connection."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length <= 0:
            return b""
        data: bytes = environ["wsgi.input"].read(min(length, _MAX_BODY))
        return data

    def _organization_hint(self, path: str) -> str | None:
        """The organization a path names, for the `X-VSS-AuthorizationEndpoint` header."""
        parts = [p for p in path.split("/") if p]
        for feed in self.feeds:
            if feed.organization is None:
                continue
            prefix = [s.casefold() for s in segments(feed.prefix)]
            n = len(prefix)
            if (
                len(parts) > n
                and [p.casefold() for p in parts[:n]] == prefix
                and parts[n].casefold() == feed.organization.casefold()
            ):
                return feed.organization
        return None

    def _authenticate(
        self, environ: WSGIEnvironment, start_response: StartResponse, ctx: _Context
    ) -> TokenGrant | Iterable[bytes]:
        challenge = _azure.challenge_headers(self.tenant_id)
        if ctx.scheme is None or (ctx.scheme == "basic" and not ctx.username):
            # No credentials: a Basic header with an empty user name counts as none.
            return self._error(start_response, ctx, _azure.anonymous(), challenge)
        with self._lock:
            grant = self._tokens.get(ctx.password or "")
        if grant is None or grant.expired:
            if environ.get("HTTP_X_TFS_FEDAUTHREDIRECT", "").strip().lower() == "suppress":
                return self._error(
                    start_response, ctx, _azure.not_authorized(ctx.username or ""), challenge
                )
            page = _azure.sign_in_page(ctx.organization)
            start_response(
                "203 Non-Authoritative Information",
                [("Content-Type", _azure.HTML), ("Content-Length", str(len(page)))],
            )
            return [b"" if ctx.method == "HEAD" else page]
        return grant

    def _error(
        self,
        start_response: StartResponse,
        ctx: _Context,
        error: _azure.AzureError,
        extra: Sequence[tuple[str, str]] = (),
    ) -> Iterable[bytes]:
        body = error.body()
        headers = [
            ("Content-Type", _azure.JSON),
            ("Content-Length", str(len(body))),
            *error.extra_headers,
            *extra,
        ]
        start_response(f"{error.status} {HTTPStatus(error.status).phrase}", headers)
        return [b"" if ctx.method == "HEAD" else body]

    def _route(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        ctx: _Context,
        grant: TokenGrant,
        body: bytes,
    ) -> Iterable[bytes]:
        parts = ctx.path.split("/")[1:]
        marker = next((i for i, p in enumerate(parts) if p.casefold() == "_packaging"), None)
        if (
            marker is None
            or len(parts) < marker + 3
            or parts[marker + 2].casefold() != "pypi"
            or not parts[marker + 1]
        ):
            return self._error(start_response, ctx, _azure.resource_not_found(ctx.path))
        scope, feed_part, rest = parts[:marker], parts[marker + 1], parts[marker + 3 :]
        feed_name, at, view = feed_part.partition("@")
        feed = next((f for f in self.feeds if f.matches(scope, feed_name)), None)
        if feed is None:
            return self._error(start_response, ctx, _azure.feed_not_found(feed_name))
        if at:
            canonical_view = feed.view_name(view)
            if canonical_view is None:
                return self._error(start_response, ctx, _azure.feed_not_found(feed_part))
            ctx.view = canonical_view
        ctx.feed = feed
        if grant.feeds is not None and feed not in grant.feeds:
            return self._error(
                start_response, ctx, _azure.lacks_permission(grant.user_id, "ReadPackages")
            )

        mount = "/" + "/".join(parts[: marker + 3])
        head = rest[0].casefold() if rest else ""
        reading = ctx.method in ("GET", "HEAD")
        if head == "simple":
            if not reading:
                return self._error(
                    start_response, ctx, _azure.method_not_allowed(ctx.method, "GET, HEAD")
                )
            return self._simple(environ, start_response, ctx, feed, mount, rest)
        if head == "upload" and len(rest) <= 2 and not "".join(rest[1:]):
            if ctx.method != "POST":
                return self._error(
                    start_response, ctx, _azure.method_not_allowed(ctx.method, "POST")
                )
            return self._upload(environ, start_response, ctx, feed, grant, mount, body)
        if head in ("download", "packages") and len(rest) >= 2 and rest[-1]:
            if not reading:
                return self._error(
                    start_response, ctx, _azure.method_not_allowed(ctx.method, "GET, HEAD")
                )
            return self._delegate(
                environ, start_response, feed, mount, "/packages/" + rest[-1], ctx=ctx
            )
        return self._error(start_response, ctx, _azure.resource_not_found(ctx.path))

    def _simple(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        ctx: _Context,
        feed: EmulatedFeed,
        mount: str,
        rest: list[str],
    ) -> Iterable[bytes]:
        path_info = "/" + "/".join(["simple", *rest[1:]])  # the segment is case-insensitive
        is_project_page = len(rest) == 3 and rest[1] and not rest[2]
        if not is_project_page or ctx.method == "HEAD":
            return self._delegate(environ, start_response, feed, mount, path_info, ctx=ctx)

        # Project page: pypiserver's links point at its own /packages/; Azure's at /pypi/download/.
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = self._delegate(environ, capture, feed, mount, path_info, ctx=None)
        try:
            page = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        if captured["status"].startswith("200"):
            host = _host_url(environ)

            def link(match: re.Match[str]) -> str:
                filename = html.unescape(match.group(1))
                url = host + feed.download_path(filename) + (match.group(2) or "")
                return f'href="{html.escape(url)}"'

            page = _HREF_RE.sub(link, page.decode("utf-8")).encode("utf-8")
        start_response(captured["status"], [*headers, ("Content-Length", str(len(page)))])
        return [page]

    def _upload(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        ctx: _Context,
        feed: EmulatedFeed,
        grant: TokenGrant,
        mount: str,
        body: bytes,
    ) -> Iterable[bytes]:
        form = _pypiserver.parse_multipart(environ.get("CONTENT_TYPE", ""), body)
        if form is not None and form.filename:
            guessed = _pypiserver.name_and_version(form.filename) or ("", "")
            ctx.upload = UploadInfo(
                filename=form.filename,
                name=form.fields.get("name") or guessed[0],
                version=form.fields.get("version") or guessed[1],
            )
        if ctx.view is not None:
            return self._error(start_response, ctx, _azure.view_is_read_only(feed.name, ctx.view))
        if not grant.write:
            return self._error(
                start_response, ctx, _azure.lacks_permission(grant.user_id, "AddPackage")
            )
        if form is None:
            return self._error(
                start_response, ctx, _azure.bad_upload("The request is not multipart/form-data.")
            )
        action = form.fields.get(":action")
        if action != "file_upload":
            return self._error(
                start_response,
                ctx,
                _azure.bad_upload(f"The ':action' value {action!r} is not supported."),
            )
        info = ctx.upload
        if info is None or form.content is None:
            return self._error(
                start_response, ctx, _azure.bad_upload("The upload has no 'content' file.")
            )
        if _pypiserver.name_and_version(info.filename) is None or "/" in info.filename:
            return self._error(
                start_response,
                ctx,
                _azure.bad_upload(f"'{info.filename}' is not a valid Python package file name."),
            )
        for algorithm in ("sha256", "md5"):
            claimed = form.fields.get(f"{algorithm}_digest")
            actual = hashlib.new(algorithm, form.content).hexdigest()
            if claimed and claimed.lower() != actual:
                return self._error(
                    start_response,
                    ctx,
                    _azure.bad_upload(
                        f"The {algorithm} digest of '{info.filename}' does not match the content."
                    ),
                )
        with feed.upload_lock:
            if feed.is_deleted(info.name, info.version):
                error = _azure.version_deleted(feed.name, info.name, info.version)
                return self._error(start_response, ctx, error)
            if feed.has_file(info.filename):
                error = _azure.file_exists(feed.name, info.filename, info.name, info.version)
                return self._error(start_response, ctx, error)
            result = self._delegate(
                environ, start_response, feed, mount, "/", ctx=ctx, method="POST", body=body
            )
            return list(result)

    def _delegate(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        feed: EmulatedFeed,
        mount: str,
        path_info: str,
        *,
        ctx: _Context | None,
        method: str | None = None,
        body: bytes | None = None,
    ) -> Iterable[bytes]:
        """Hand the request to the feed's pypiserver app, mounted at `mount` (.../pypi)."""
        env = {k: v for k, v in environ.items() if not k.startswith("bottle.")}
        env.pop(
            "HTTP_AUTHORIZATION", None
        )  # authenticated already; keep the token out of pypiserver
        if ctx is not None and ctx.username:
            env["REMOTE_USER"] = ctx.username
        env["SCRIPT_NAME"] = _wsgi_str(mount)
        env["PATH_INFO"] = _wsgi_str(path_info)
        env["wsgi.errors"] = _pypiserver.ERRORS
        if method is not None:
            env["REQUEST_METHOD"] = method
        env["wsgi.input"] = BytesIO(body or b"")
        env["CONTENT_LENGTH"] = str(len(body or b""))

        def encoding_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            # bottle builds redirects from the decoded SCRIPT_NAME ("Fabrikam Web"): encode them.
            headers = [
                (key, quote(value, safe=_URL_SAFE) if key.lower() == "location" else value)
                for key, value in headers
            ]
            return start_response(status, headers, exc_info)

        result: Iterable[bytes] = feed.app(env, encoding_start_response)
        return result


# Characters a URL may carry as they are; "%" keeps escapes bottle already made.
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def _same_feed(actual: EmulatedFeed, wanted: EmulatedFeed | str) -> bool:
    if isinstance(wanted, EmulatedFeed):
        return actual is wanted
    return actual.name.casefold() == wanted.casefold()


def _host_url(environ: WSGIEnvironment) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return f"{scheme}://{host}"
