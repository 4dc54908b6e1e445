"""A local Azure Artifacts Python feed: Azure's paths, auth, pages, downloads, uploads, upstreams.

`FeedEmulator` is one WSGI application. It resolves
`[/{prefix}]/{org}[/{project}]/_packaging/{feed}[@{view}]/pypi/...` paths (names
case-insensitive, project, feed and view also by GUID), authenticates like Azure, writes Azure's
project pages, redirects hosted downloads to a second "blob" host, validates uploads as Azure
does, proxies an upstream index that plays PyPI, records every request and injects faults.
docs/azure-artifacts.md lists each answer with its evidence.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import hashlib
import html
import json
import logging
import re
import secrets
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal

from packaging.requirements import InvalidRequirement
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion
from packaging.version import Version

from tests.emulator import _azure
from tests.emulator import _pypiserver
from tests.emulator import _rest
from tests.emulator._blob import BlobStore
from tests.emulator._blob import file_response
from tests.emulator._faults import Faults
from tests.emulator._faults import Rule
from tests.emulator._server import DropConnection
from tests.emulator._server import ServerThread
from tests.emulator._server import respond
from tests.emulator._upstream import UpstreamError
from tests.emulator._upstream import UpstreamFile
from tests.emulator._upstream import UpstreamLike
from tests.emulator._upstream import UpstreamSource
from tests.emulator.feed import DEFAULT_VIEWS
from tests.emulator.feed import EmulatedFeed
from tests.emulator.feed import StoredFile
from tests.emulator.feed import same_version
from tests.emulator.feed import segments
from tests.emulator.feed import validate
from tests.emulator.records import BlobRequest
from tests.emulator.records import EntraIdentity
from tests.emulator.records import IssuedSessionToken
from tests.emulator.records import RecordedRequest
from tests.emulator.records import RecordedUpload
from tests.emulator.records import TokenGrant
from tests.emulator.records import UploadInfo


if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIEnvironment


log = logging.getLogger("tests.emulator")

Mode = Literal["hosted", "server"]
SignIn = Literal["redirect", "page"]

DEFAULT_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
DEFAULT_COLLECTION = "DefaultCollection"
MAX_FILE_SIZE = 524_288_000
# Azure DevOps Server 2022's allowlist; hosted Azure's current one is unverified.
SERVER_METADATA_VERSIONS: tuple[str, ...] = ("1.0", "1.1", "1.2", "2.0", "2.1")
HOSTED_METADATA_VERSIONS: tuple[str, ...] = (*SERVER_METADATA_VERSIONS, "2.2", "2.3", "2.4")
BLOB_HOST = "127.0.0.2"
_MAX_BODY = 600 * 1024 * 1024
# An unread request body makes the socket close with a reset that can hide the answer; bodies up
# to this size are read after the answer is decided.
_DRAIN_LIMIT = 8 * 1024 * 1024
_PAT_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_PAT_RE = re.compile(r"^[a-z2-7]{52}$")
_NEW_PAT_RE = re.compile(r"^[A-Za-z0-9]{84}$")
_JWT_RE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")
_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2", ".tgz")
_CONTENT_TYPES = {"text/plain", "text/x-rst", "text/markdown"}
_MARKDOWN_VARIANTS = {"gfm", "commonmark"}
# The session-token endpoint, under the advertised authorization endpoint.
SESSION_TOKEN_PREFIX = "/_vssps/"
SESSION_TOKEN_PATH = "_apis/token/sessiontokens"
# What the endpoint grants at most, and without a `validTo` (emulator's choice within Azure's
# default policy of up to 90 days for Compact tokens).
SESSION_TOKEN_MAX_LIFETIME = 90 * 86400
SESSION_TOKEN_DEFAULT_LIFETIME = 7 * 86400
SELF_DESCRIBING_MAX_LIFETIME = 24 * 3600


def make_pat() -> str:
    """A random token in the format of an Azure DevOps PAT (52 characters of a-z and 2-7)."""
    return "".join(secrets.choice(_PAT_ALPHABET) for _ in range(52))


def make_jwt(claims: dict[str, Any] | None = None) -> str:
    """A random, unsigned token in JWT form (three base64url parts), like an Entra token."""

    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    payload = {"aud": "499b84ac-1321-427f-aa17-267ca6975798", "nonce": secrets.token_hex(8)}
    payload.update(claims or {})
    signature = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    return f"{part({'typ': 'JWT', 'alg': 'RS256'})}.{part(payload)}.{signature}"


def looks_like_token(token: str) -> bool:
    """Well-formed as a PAT (52 or 84 characters) or a JWT: Azure tries to validate it."""
    return bool(_PAT_RE.match(token) or _NEW_PAT_RE.match(token) or _JWT_RE.match(token))


class _Body:
    """The request body, read only when a handler needs it."""

    def __init__(self, environ: WSGIEnvironment) -> None:
        self._stream = environ.get("wsgi.input")
        try:
            self.length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            self.length = 0
        self._data: bytes | None = None

    def read(self) -> bytes:
        if self._data is None:
            data = b""
            if self.length > 0 and self._stream is not None:
                data = self._stream.read(min(self.length, _MAX_BODY))
            self._data = data
        return self._data

    def drain(self) -> None:
        if self._data is None and 0 < self.length <= _DRAIN_LIMIT:
            self.read()


@dataclass
class _Context:
    """Mutable facts about the request being handled, turned into a RecordedRequest at the end."""

    method: str
    path: str
    raw_path: str
    query: str
    user_agent: str
    host_url: str
    body: _Body
    activity_id: str = field(default_factory=lambda: secrets.token_hex(16))
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

    def __post_init__(self) -> None:
        hexed = self.activity_id
        self.activity_id = f"{hexed[:8]}-{hexed[8:12]}-{hexed[12:16]}-{hexed[16:20]}-{hexed[20:]}"


def _real_str(text: str) -> str:
    """Real text from a native WSGI string; undecodable bytes are left as they came."""
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _parse_auth(header: str) -> tuple[str, str, str] | None:
    """(scheme, username, password) from an Authorization header; None when absent or unreadable."""
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
    `mode="hosted"` plays pkgs.dev.azure.com: Entra challenges, sign-in redirects, downloads
    redirected (303) to a blob host on 127.0.0.2. `mode="server"` plays Azure DevOps Server 2022:
    a `/tfs/{collection}` prefix and no organization segment, downloads answered (200) by the
    same host, the metadata versions 1.0 to 2.1 only.
    `prefix` overrides the default server prefix of every feed; `port=0` picks a free port.
    `upstream` (a simple-index URL or an object with `.url`, such as PublicIndexServer) is the
    upstream source of every feed unless `add_feed` says otherwise.
    `sign_in="page"` answers anonymous requests without `X-TFS-FedAuthRedirect: Suppress` with a
    203 sign-in page instead of a 302 to `{sign_in_host}/_signin`.
    `metadata_versions` (or `max_metadata_version`, e.g. "2.2") sets the accepted upload
    `metadata_version` form values. `max_file_size` is the upload size limit in bytes.
    """

    def __init__(
        self,
        storage: Path | None = None,
        *,
        prefix: str | None = None,
        port: int = 0,
        tenant_id: str = DEFAULT_TENANT,
        verbose: bool = False,
        mode: Mode = "hosted",
        collection: str = DEFAULT_COLLECTION,
        upstream: UpstreamLike | None = None,
        sign_in: SignIn = "redirect",
        sign_in_host: str = _azure.SIGN_IN_HOST,
        metadata_versions: Sequence[str] | None = None,
        max_metadata_version: str | None = None,
        max_file_size: int = MAX_FILE_SIZE,
        authorization_endpoint: str = _azure.AUTHORIZATION_ENDPOINT,
    ) -> None:
        if mode not in ("hosted", "server"):
            raise ValueError(f"mode must be 'hosted' or 'server', not {mode!r}")
        if sign_in not in ("redirect", "page"):
            raise ValueError(f"sign_in must be 'redirect' or 'page', not {sign_in!r}")
        self._own_storage = storage is None
        self.storage = (
            Path(tempfile.mkdtemp(prefix="ado-emulator-")) if storage is None else storage
        )
        self.storage.mkdir(parents=True, exist_ok=True)
        self.mode: Mode = mode
        self.collection = collection
        if prefix is None:
            prefix = f"/tfs/{collection}" if mode == "server" else ""
        self.prefix = prefix
        self.tenant_id = tenant_id
        self.verbose = verbose
        self.upstream = UpstreamSource(upstream) if upstream is not None else None
        self.sign_in: SignIn = sign_in
        self.sign_in_host = sign_in_host.rstrip("/")
        self.metadata_versions = _metadata_allowlist(mode, metadata_versions, max_metadata_version)
        self.max_file_size = max_file_size
        self.authorization_endpoint_template = authorization_endpoint
        # The session-token endpoint answers 400 to a body with `validTo` (some servers do).
        self.reject_valid_to = False
        self.session_token_max_lifetime = SESSION_TOKEN_MAX_LIFETIME
        self._entra: dict[str, EntraIdentity] = {}
        self._issued: list[IssuedSessionToken] = []
        self._clock_offset = 0.0
        self._port = port
        self._lock = threading.Lock()
        self._feeds: list[EmulatedFeed] = []
        self._tokens: dict[str, TokenGrant] = {}
        self._requests: list[RecordedRequest] = []
        self._faults = Faults()
        self._stopping = threading.Event()
        self._server: ServerThread | None = None
        self._blob_server: ServerThread | None = None
        self._blob_store = BlobStore()
        self._stopped = False

    def __repr__(self) -> str:
        where = self.base_url if self._server else "not started"
        return f"FeedEmulator({self.mode}, {where}, feeds={self.feeds!r})"

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        """Bind 127.0.0.1 (and the blob host on 127.0.0.2 in hosted mode) and serve in
        background threads; returns once requests are accepted."""
        if self._server is not None or self._stopped:
            raise RuntimeError("a FeedEmulator can be started once")
        self._server = ServerThread(self, host="127.0.0.1", port=self._port, verbose=self.verbose)
        if self.mode == "hosted":
            self._blob_server = ServerThread(
                self._blob_store, host=BLOB_HOST, port=0, verbose=self.verbose
            )
            self._blob_store.base_url = f"http://{BLOB_HOST}:{self._blob_server.port}"
            self._blob_server.start()
        self._server.start()
        log.info("Azure Artifacts emulator (%s) listening on %s", self.mode, self.base_url)

    def stop(self) -> None:
        """Stop serving, wait for running requests (delays are cut short) and free the ports."""
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
        if self._blob_server is not None:
            self._blob_server.stop()
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

    @property
    def blob_url(self) -> str:
        """`http://127.0.0.2:PORT`: the host hosted downloads are redirected to."""
        if self._blob_server is None:
            raise RuntimeError("only a started emulator in hosted mode has a blob host")
        return self._blob_store.base_url

    @property
    def blob_requests(self) -> list[BlobRequest]:
        """Every request the blob host answered, oldest first (a copy)."""
        return self._blob_store.requests

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
        upstream: UpstreamLike | Literal[False] | None = None,
    ) -> EmulatedFeed:
        """Create a feed (project-scoped when `project` is given, else organization-scoped).

        `organization=None` leaves the organization segment out. In server mode it is always
        left out (a collection in the prefix takes its place), so the same call builds a feed in
        either mode. `prefix` overrides the emulator's. With `guid_links` project pages link
        downloads by GUID, as Azure does; otherwise by name. `upstream`: None uses the
        emulator's upstream, False none, anything else this feed's own.
        """
        if self.mode == "server":
            organization = None
        validate(organization, project, feed)
        if upstream is None:
            source = self.upstream
        elif upstream is False:
            source = None
        else:
            source = UpstreamSource(upstream)
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
                upstream=source,
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
        role: str | None = None,
        expired: bool = False,
        feeds: Iterable[EmulatedFeed] | None = None,
        user_id: str | None = None,
        packaging_scope: bool = True,
    ) -> TokenGrant:
        """Accept `token` as the Basic password (any user name, even an empty one), as a Basic
        user name with an empty password, or as a Bearer token.

        `role` is "reader", "collaborator", "contributor" or "owner"; without it `write=False`
        means reader and `write=True` contributor. `expired` answers Azure's expired-PAT 401.
        With `feeds` the role holds on those feeds only (others answer 403 'ReadPackages').
        `packaging_scope=False` is a valid token lacking the Packaging scope (401 TF400813).
        """
        if not token:
            raise ValueError("a token cannot be empty")
        grant = TokenGrant(
            token=token,
            role=role or ("contributor" if write else "reader"),
            expired=expired,
            feeds=None if feeds is None else frozenset(feeds),
            packaging_scope=packaging_scope,
        )
        if user_id is not None:
            grant.user_id = user_id
        with self._lock:
            self._tokens[token] = grant
        return grant

    def add_entra_token(
        self,
        token: str,
        *,
        tenant: str | None = None,
        role: str = "contributor",
        user_id: str | None = None,
        feeds: Iterable[EmulatedFeed] | None = None,
    ) -> EntraIdentity:
        """Accept `token` as `Authorization: Bearer` at the session-token endpoint only: the
        feed answers it like any token it cannot validate. `tenant` (default: the emulator's)
        must be the feed's tenant, or the exchange is refused; the session tokens it mints carry
        `role` and `user_id`."""
        identity = EntraIdentity(
            token=token,
            tenant=tenant or self.tenant_id,
            role=role,
            feeds=None if feeds is None else frozenset(feeds),
        )
        if user_id is not None:
            identity.user_id = user_id
        with self._lock:
            self._entra[token] = identity
        return identity

    @property
    def session_tokens(self) -> list[IssuedSessionToken]:
        """Every session token the endpoint minted, oldest first (a copy)."""
        with self._lock:
            return list(self._issued)

    def authorization_endpoint(self, organization: str | None) -> str:
        """The `X-VSS-AuthorizationEndpoint` this emulator advertises for `organization`."""
        base = self.base_url if self._server is not None else "http://127.0.0.1:0"
        return _azure.authorization_endpoint(
            self.authorization_endpoint_template, base, organization
        )

    def now(self) -> float:
        """The emulator's clock (`advance_clock` moves it): session tokens expire by it."""
        return time.time() + self._clock_offset

    def advance_clock(self, seconds: float) -> None:
        """Move the emulator's clock forward, e.g. past a session token's `validTo`."""
        self._clock_offset += seconds

    def generate_token(self, *, write: bool = True, role: str | None = None) -> str:
        """Create, register and return a random token in PAT format."""
        token = make_pat()
        self.add_token(token, write=write, role=role)
        return token

    def expire_token(self, token: str) -> None:
        """From now on `token` gets the expired-PAT answer (a PAT expiring mid-run)."""
        with self._lock:
            self._tokens[token].expired = True

    def revoke_token(self, token: str) -> None:
        """Forget `token`: from now on it is a token that does not validate."""
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
        """Every request the feed host handled so far, oldest first (a copy)."""
        with self._lock:
            return list(self._requests)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()
        self._blob_store.clear_requests()

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

    # -- upstream -------------------------------------------------------------------------

    def save_upstream_version(self, feed: EmulatedFeed, name: str, version: str) -> list[str]:
        """Save the upstream files of `name` `version` into `feed`; returns their names."""
        if feed.upstream is None:
            raise ValueError(f"{feed!r} has no upstream source")
        listed = feed.upstream.files(name) or []
        saved = []
        for upstream_file in listed:
            if same_version(upstream_file.version, version):
                self._ingest(feed, upstream_file)
                saved.append(upstream_file.filename)
        return saved

    def _ingest(self, feed: EmulatedFeed, upstream_file: UpstreamFile) -> Path:
        """Copy an upstream file into the feed, byte for byte, marked as saved from there."""
        assert feed.upstream is not None
        existing = feed.file_path(upstream_file.filename)
        if existing is not None:
            return existing
        data = feed.upstream.fetch(upstream_file)
        with feed.upload_lock:
            existing = feed.file_path(upstream_file.filename)
            if existing is not None:
                return existing
            return feed.store(upstream_file.filename, data, origin=upstream_file.url)

    def _available(
        self, feed: EmulatedFeed, name: str, *, consult_upstream: bool
    ) -> tuple[list[StoredFile], list[UpstreamFile]]:
        """The stored files of `name` and the upstream files the feed offers besides them.

        Upstream versions are offered until a version of the name is published to the feed
        itself, unless the package allows external versions. Raises UpstreamError.
        """
        stored = feed.files_of(name)
        own = [f for f in stored if not f.from_upstream]
        offered: list[UpstreamFile] = []
        if (
            feed.upstream is not None
            and consult_upstream
            and (not own or feed.allows_external_versions(name))
        ):
            have = {f.filename.casefold() for f in stored}
            offered = [
                u
                for u in feed.upstream.files(name) or []
                if u.filename.casefold() not in have and not feed.is_deleted(u.name, u.version)
            ]
        return stored, offered

    # -- WSGI -----------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        began = time.monotonic()
        ctx = _Context(
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=_real_str(environ.get("PATH_INFO", "") or "/"),
            raw_path=str(environ.get("RAW_URI") or environ.get("PATH_INFO", "/")).split("?")[0],
            query=environ.get("QUERY_STRING", ""),
            user_agent=environ.get("HTTP_USER_AGENT", ""),
            host_url=_host_url(environ),
            body=_Body(environ),
        )

        def recording_start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            ctx.status = int(status.split(" ", 1)[0])
            return start_response(status, headers + ctx.extra_headers, exc_info)

        try:
            result = self._handle(environ, recording_start_response, ctx)
            ctx.body.drain()
            return result
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

        ctx.extra_headers.extend(
            _azure.vss_headers(
                self.tenant_id,
                ctx.organization,
                ctx.activity_id,
                hosted=self.mode == "hosted",
                endpoint=self.authorization_endpoint(ctx.organization),
            )
        )
        if taken is not None:
            ctx.fault = "fail"
            rule = taken[1]
            extra = [("Retry-After", str(rule.retry_after))] if rule.retry_after is not None else []
            return self._error(start_response, ctx, _azure.fault(rule.status), extra)

        if self.mode == "hosted" and ctx.path.startswith(SESSION_TOKEN_PREFIX):
            return self._session_token(start_response, ctx)
        grant = self._authenticate(environ, start_response, ctx)
        if not isinstance(grant, TokenGrant):
            return grant
        ctx.extra_headers.append(("X-VSS-UserData", f"{grant.user_id}:{ctx.username or ''}"))
        return self._route(environ, start_response, ctx, grant)

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
        hosted = self.mode == "hosted"
        challenge = (
            _azure.hosted_challenges(self.tenant_id)
            if hosted
            else _azure.server_challenges(ctx.host_url)
        )
        token: str | None = None
        if ctx.scheme == "basic":
            # The PAT may come as the password or, with an empty password, as the user name.
            token = ctx.password or ctx.username or None
        elif ctx.scheme == "bearer":
            token = ctx.password
        with self._lock:
            grant = self._tokens.get(token) if token else None
        if grant is not None:
            ended = grant.expires_at is not None and self.now() >= grant.expires_at
            if grant.expired or ended:
                return self._error(start_response, ctx, _azure.token_expired(), challenge)
            if not grant.packaging_scope or not grant.may_read:
                return self._error(
                    start_response, ctx, _azure.not_authorized(grant.user_id), challenge
                )
            return grant
        if token and looks_like_token(token):
            unknown = (
                _azure.hosted_challenges(self.tenant_id, federated=False) if hosted else challenge
            )
            return self._error(start_response, ctx, _azure.unknown_token(), unknown)

        # Anything else counts as anonymous.
        if not hosted:
            return self._error(start_response, ctx, _azure.anonymous(), challenge)
        reply_to = ctx.host_url + ctx.raw_path + (f"?{ctx.query}" if ctx.query else "")
        realm = ctx.host_url.split("://", 1)[-1]
        target = _azure.sign_in_url(realm, reply_to).replace(
            _azure.SIGN_IN_HOST, self.sign_in_host, 1
        )
        if environ.get("HTTP_X_TFS_FEDAUTHREDIRECT", "").strip().lower() == "suppress":
            return self._error(
                start_response,
                ctx,
                _azure.anonymous(),
                [*challenge, ("X-TFS-FedAuthRedirect", target)],
            )
        if self.sign_in == "page":
            page = _azure.sign_in_page(target)
            start_response(
                "203 Non-Authoritative Information",
                [("Content-Type", _azure.HTML), ("Content-Length", str(len(page)))],
            )
            return [b"" if ctx.method == "HEAD" else page]
        start_response("302 Found", [("Location", target), ("Content-Length", "0")])
        return [b""]

    def _session_token(self, start_response: StartResponse, ctx: _Context) -> Iterable[bytes]:
        """`POST /_vssps/{org}/_apis/Token/SessionTokens?tokenType=Compact|SelfDescribing`
        with `Authorization: Bearer <Entra token>` and `{"scope", "displayName", "validTo"}`."""
        from urllib.parse import parse_qs

        def refuse(status: int, message: str) -> Iterable[bytes]:
            return self._error(start_response, ctx, _azure.session_token_refused(status, message))

        rest = ctx.path[len(SESSION_TOKEN_PREFIX) :].split("/", 1)
        if len(rest) != 2 or rest[1].casefold().rstrip("/") != SESSION_TOKEN_PATH:
            return self._error(start_response, ctx, _azure.resource_not_found(ctx.path))
        if ctx.method != "POST":
            return self._error(start_response, ctx, _azure.method_not_allowed(ctx.method, "POST"))
        query = {k.casefold(): v[-1] for k, v in parse_qs(ctx.query).items()}
        if "api-version" not in query:
            return self._error(start_response, ctx, _rest.api_version_missing())
        with self._lock:
            identity = self._entra.get(ctx.password or "") if ctx.scheme == "bearer" else None
        if identity is None:
            challenge = _azure.hosted_challenges(self.tenant_id, federated=False)
            return self._error(start_response, ctx, _azure.unknown_token(), challenge)
        if identity.tenant.casefold() != self.tenant_id.casefold():
            return refuse(
                401,
                f"The access token was issued by tenant '{identity.tenant}'; this organization "
                f"is connected to tenant '{self.tenant_id}'.",
            )
        try:
            body = json.loads(ctx.body.read() or b"null")
        except ValueError:
            body = None
        scope = body.get("scope") if isinstance(body, dict) else None
        if not isinstance(scope, str) or not scope.split():
            return refuse(400, "The session token request needs a scope.")
        assert isinstance(body, dict)
        requested = body.get("validTo")
        now = self.now()
        if requested is not None and self.reject_valid_to:
            return refuse(400, "The parameter validTo is not supported.")
        lifetime = float(SESSION_TOKEN_DEFAULT_LIFETIME)
        if requested is not None:
            wanted = _iso_epoch(str(requested))
            if wanted is None:
                return refuse(400, f"validTo '{requested}' is not a date.")
            lifetime = max(0.0, wanted - now)
        token_type = query.get("tokentype", "SelfDescribing")
        longest = self.session_token_max_lifetime
        if token_type.casefold() != "compact":
            # A self-describing session token is a JWT of 4 to 24 hours, whatever was asked.
            longest = min(longest, SELF_DESCRIBING_MAX_LIFETIME)
        valid_to = now + min(lifetime, longest)
        if token_type.casefold() == "compact":
            token = make_pat()
        else:
            token = make_jwt({"exp": int(valid_to), "scp": scope, "tid": identity.tenant})
        grant = TokenGrant(
            token=token,
            role=identity.role,
            feeds=identity.feeds,
            user_id=identity.user_id,
            display_name=identity.display_name,
            scopes=frozenset(scope.split()),
            expires_at=valid_to,
        )
        display_name = str(body.get("displayName") or "")
        with self._lock:
            self._tokens[token] = grant
            self._issued.append(
                IssuedSessionToken(
                    token=token,
                    scope=scope,
                    token_type=token_type,
                    display_name=display_name,
                    requested_valid_to=None if requested is None else str(requested),
                    valid_to=valid_to,
                    entra_token=identity.token,
                )
            )
        document = {
            "clientId": "00000000-0000-0000-0000-000000000000",
            "accessId": str(uuid.uuid4()),
            "authorizationId": str(uuid.uuid4()),
            "hostAuthorizationId": "00000000-0000-0000-0000-000000000000",
            "userId": identity.user_id,
            "validFrom": _iso(now),
            "validTo": _iso(valid_to),
            "displayName": display_name,
            "scope": scope,
            "targetAccounts": None,
            "token": token,
            "alternateToken": None,
            "isValid": True,
            "isPublic": False,
            "publicData": None,
            "source": None,
            "claims": None,
        }
        return respond(start_response, "200 OK", _azure.JSON, json.dumps(document).encode())

    def _error(
        self,
        start_response: StartResponse,
        ctx: _Context,
        error: _azure.AzureError,
        extra: Sequence[tuple[str, str]] = (),
    ) -> Iterable[bytes]:
        body = error.body()
        headers = [("Content-Type", _azure.JSON)] if body else []
        headers += [("Content-Length", str(len(body))), *error.extra_headers, *extra]
        start_response(error.status_line(ctx.activity_id), headers)
        return [b"" if ctx.method == "HEAD" else body]

    def _route(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        ctx: _Context,
        grant: TokenGrant,
    ) -> Iterable[bytes]:
        parts = ctx.path.split("/")[1:]
        api = next((i for i, p in enumerate(parts) if p.casefold() == "_apis"), None)
        if api is not None:
            return self._rest(start_response, ctx, grant, parts[:api], parts[api + 1 :])
        marker = next((i for i, p in enumerate(parts) if p.casefold() == "_packaging"), None)
        if (
            marker is None
            or len(parts) < marker + 3
            or parts[marker + 2].casefold() != "pypi"
            or not parts[marker + 1]
        ):
            return self._error(start_response, ctx, _azure.resource_not_found(ctx.path))
        scope, feed_part, rest = parts[:marker], parts[marker + 1], parts[marker + 3 :]
        head = rest[0].casefold() if rest else ""

        if head == "simple" and not "".join(rest[1:]):
            # The feed root is no package list, and Azure answers it without looking the feed
            # up: a missing feed and an existing one cannot be told apart here. The feed is only
            # looked up for the request record.
            feed_name = feed_part.partition("@")[0]
            ctx.feed = next((f for f in self.feeds if f.matches(scope, feed_name)), None)
            if ctx.method != "GET":
                error = _azure.method_not_allowed(ctx.method, "GET")
                return self._error(start_response, ctx, error)
            return respond(start_response, "404 Not Found", _azure.TEXT, _azure.ROOT_BODY)

        feed_name, at, view = feed_part.partition("@")
        feed = next((f for f in self.feeds if f.matches(scope, feed_name)), None)
        if feed is None:
            return self._error(start_response, ctx, _azure.feed_not_found(feed_name))
        if at:
            canonical_view = feed.view_name(view)
            if canonical_view is None:
                return self._error(start_response, ctx, _azure.view_not_found(view))
            ctx.view = canonical_view
        ctx.feed = feed
        if grant.feeds is not None and feed not in grant.feeds:
            # docs/azure-artifacts.md, "Authentication": the permission named is the one the
            # request needed.
            needed = "AddPackage" if head == "upload" and ctx.method == "POST" else "ReadPackages"
            return self._error(start_response, ctx, _azure.lacks_permission(grant.user_id, needed))

        if head == "simple":
            if ctx.method != "GET":
                return self._error(
                    start_response, ctx, _azure.method_not_allowed(ctx.method, "GET")
                )
            if len(rest) > 3 or (len(rest) == 3 and rest[2]):
                return self._error(start_response, ctx, _azure.resource_not_found(ctx.path))
            name = rest[1]
            canonical = canonicalize_name(name)
            if name != canonical or len(rest) == 2:
                raw_parts = ctx.raw_path.split("/")
                location = ctx.host_url + "/".join(raw_parts[: marker + 5]) + "/" + canonical + "/"
                start_response(
                    "301 Moved Permanently", [("Location", location), ("Content-Length", "0")]
                )
                return [b""]
            return self._project_page(start_response, ctx, feed, grant, canonical)
        if head == "upload" and len(rest) <= 2 and not "".join(rest[1:]):
            if ctx.method != "POST":
                return self._error(
                    start_response, ctx, _azure.method_not_allowed(ctx.method, "POST")
                )
            return self._upload(environ, start_response, ctx, feed, grant)
        if head == "download" and len(rest) == 4 and rest[3]:
            if ctx.method != "GET":
                return self._error(
                    start_response, ctx, _azure.method_not_allowed(ctx.method, "GET")
                )
            return self._download(
                environ, start_response, ctx, feed, grant, rest[1], rest[2], rest[3]
            )
        return self._error(start_response, ctx, _azure.resource_not_found(ctx.path))

    def _rest(
        self,
        start_response: StartResponse,
        ctx: _Context,
        grant: TokenGrant,
        scope: list[str],
        rest: list[str],
    ) -> Iterable[bytes]:
        """`{scope}/_apis/...`: connectionData and the packaging endpoints (`_rest`)."""

        def fail(error: _azure.AzureError) -> Iterable[bytes]:
            return self._error(start_response, ctx, error)

        body = ctx.body.read() if ctx.method in ("PATCH", "POST", "PUT") else b""
        request = _rest.Request(ctx.method, ctx.query, body, grant, start_response, fail)
        if "api-version" not in request.query:
            return fail(_rest.api_version_missing())
        head = [p.casefold() for p in rest]
        if head == ["connectiondata"]:
            return _rest.connection_data(request)
        if len(rest) >= 3 and head[:2] == ["packaging", "feeds"] and rest[2]:
            feed = next((f for f in self.feeds if f.matches(scope, rest[2])), None)
            if feed is None:
                return fail(_azure.feed_not_found(rest[2]))
            ctx.feed = feed
            if grant.feeds is not None and feed not in grant.feeds:
                return fail(_azure.lacks_permission(grant.user_id, "ReadPackages"))
            answered = _rest.feed_api(request, feed, rest[3:])
            if answered is not None:
                return answered
        return fail(_azure.resource_not_found(ctx.path))

    def _project_page(
        self,
        start_response: StartResponse,
        ctx: _Context,
        feed: EmulatedFeed,
        grant: TokenGrant,
        name: str,
    ) -> Iterable[bytes]:
        # A Reader does not make the feed look a public name up until someone saved a version.
        seen = any(f.from_upstream for f in feed.files_of(name))
        try:
            stored, offered = self._available(
                feed, name, consult_upstream=ctx.view is None and (seen or grant.can_ingest)
            )
        except UpstreamError as error:
            assert feed.upstream is not None
            return self._error(
                start_response, ctx, _azure.upstream_failed(feed.upstream.url, str(error))
            )
        # A view shows only the versions in it: Local every held one, the others the promoted.
        stored = [f for f in stored if feed.in_view(f.name, f.version, ctx.view)]
        entries: list[tuple[str, str, str | None, str]] = [
            (f.filename, f.version, f.requires_python, f.sha256) for f in stored
        ]
        entries += [(u.filename, u.version, u.requires_python, u.sha256 or "") for u in offered]
        if not entries:
            return self._error(start_response, ctx, _azure.package_not_found(name, feed.name))
        entries.sort(key=lambda e: (_version_sort(e[1]), e[0]))
        links = []
        for filename, _version, requires_python, sha256 in entries:
            href = ctx.host_url + feed.download_path(filename, ctx.view)
            fragment = f"#sha256={sha256}" if sha256 else ""
            attribute = (
                f' data-requires-python="{html.escape(requires_python)}"' if requires_python else ""
            )
            links.append(f'<a href="{href}{fragment}"{attribute}>{html.escape(filename)}</a><br/>')
        page = (
            f"<!DOCTYPE html>\n<html><head><title>Links for {name}</title></head>"
            f"<body><h1>Links for {name}</h1>{''.join(links)}</body></html>"
        ).encode()
        return respond(start_response, "200 OK", _azure.PAGE_HTML, page)

    def _download(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        ctx: _Context,
        feed: EmulatedFeed,
        grant: TokenGrant,
        name: str,
        version: str,
        filename: str,
    ) -> Iterable[bytes]:
        guessed = _pypiserver.name_and_version(filename)
        missing = _azure.file_not_found(filename, name, version, feed.name)
        if (
            guessed is None
            or canonicalize_name(guessed[0]) != canonicalize_name(name)
            or not same_version(guessed[1], version)
        ):
            return self._error(start_response, ctx, missing)
        path = feed.file_path(filename)
        if ctx.view is not None and not feed.in_view(guessed[0], guessed[1], ctx.view):
            return self._error(start_response, ctx, missing)
        if path is None:
            try:
                _, offered = self._available(feed, name, consult_upstream=True)
                wanted = next(
                    (u for u in offered if u.filename.casefold() == filename.casefold()), None
                )
                if wanted is None:
                    return self._error(start_response, ctx, missing)
                if not grant.can_ingest:
                    error = _azure.lacks_permission(grant.user_id, "AddUpstreamPackage")
                    return self._error(start_response, ctx, error)
                path = self._ingest(feed, wanted)
            except UpstreamError as failure:
                assert feed.upstream is not None
                error = _azure.upstream_failed(feed.upstream.url, str(failure))
                return self._error(start_response, ctx, error)
        if self.mode == "hosted":
            location = self._blob_store.sign(path, path.name, feed.feed_id)
            start_response("303 See Other", [("Location", location), ("Content-Length", "0")])
            return [b""]
        headers = [
            ("Content-Type", "application/octet-stream"),
            ("Content-Disposition", f'attachment; filename="{path.name}"'),
        ]
        return file_response(environ, start_response, path.read_bytes(), headers)

    def _upload(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        ctx: _Context,
        feed: EmulatedFeed,
        grant: TokenGrant,
    ) -> Iterable[bytes]:
        def refuse(error: _azure.AzureError) -> Iterable[bytes]:
            return self._error(start_response, ctx, error)

        if ctx.view is not None:
            return refuse(_azure.view_is_read_only(f"{feed.name}@{ctx.view}"))
        if not grant.may_write:
            return refuse(_azure.insufficient_scope("vso.packaging_write"))
        if not grant.write:
            return refuse(_azure.lacks_permission(grant.user_id, "AddPackage"))
        # Decided from the header alone: the body of a too large upload is never read.
        if ctx.body.length > self.max_file_size:
            return refuse(_azure.too_large(self.max_file_size))
        form = _pypiserver.parse_multipart(environ.get("CONTENT_TYPE", ""), ctx.body.read())
        if form is not None and form.filename:
            guessed = _pypiserver.name_and_version(form.filename) or ("", "")
            ctx.upload = UploadInfo(
                filename=form.filename,
                name=form.fields.get("name") or guessed[0],
                version=form.fields.get("version") or guessed[1],
            )
        if form is None:
            return refuse(_azure.bad_upload("The request is not multipart/form-data."))
        action = form.fields.get(":action")
        if action != "file_upload":
            return refuse(_azure.bad_upload(f"The ':action' value {action!r} is not supported."))
        info = ctx.upload
        if info is None or form.content is None:
            return refuse(_azure.bad_upload("The upload has no 'content' file."))
        if _pypiserver.name_and_version(info.filename) is None or "/" in info.filename:
            return refuse(
                _azure.bad_upload(f"'{info.filename}' is not a valid Python package file name.")
            )
        problem = self._check_form(form, info)
        if problem is not None:
            return refuse(_azure.bad_upload(problem))
        conflict = self._check_feed(feed, info)
        if conflict is not None:
            return refuse(conflict)
        if feed.upstream is not None:
            try:
                listed = feed.upstream.files(info.name) or []
            except UpstreamError as failure:
                return refuse(_azure.upstream_failed(feed.upstream.url, str(failure)))
            if any(same_version(u.version, info.version) for u in listed):
                return refuse(_azure.exists_upstream(info.name, info.version))
        with feed.upload_lock:
            # Checked again: a concurrent upload of the same file may have won meanwhile.
            if feed.has_file(info.filename):
                return refuse(_azure.file_exists(feed.name, info.filename, info.name, info.version))
            feed.store(info.filename, form.content)
        start_response("200 OK", [("Content-Length", "0")])
        return [b""]

    def _check_form(self, form: _pypiserver.UploadForm, info: UploadInfo) -> str | None:
        """The first validation an upload's form fails, as Azure's 400 message; else None."""
        fields, lists = form.fields, form.lists
        assert form.content is not None
        metadata_version = fields.get("metadata_version")
        if metadata_version is not None and metadata_version not in self.metadata_versions:
            return (
                f"Metadata version '{metadata_version}' is unsupported. "
                f"Supported versions are: {','.join(self.metadata_versions)}."
            )
        for algorithm in ("md5", "sha256", "blake2_256"):
            claimed = fields.get(f"{algorithm}_digest")
            if algorithm == "blake2_256":
                actual = hashlib.blake2b(form.content, digest_size=32).hexdigest()
            else:
                actual = hashlib.new(algorithm, form.content).hexdigest()
            if claimed and claimed.lower() != actual:
                return f"The {algorithm} digest of '{info.filename}' does not match the content."
        try:
            local = Version(info.version).local
        except InvalidVersion:
            local = info.version.partition("+")[2] or None
        if local:
            return (
                f"The version '{info.version}' has a local version label ('+{local}'). "
                "Local versions cannot be published to the feed."
            )
        for requirement in lists.get("requires_dist", []):
            try:
                parsed = Requirement(requirement)
            except InvalidRequirement:
                continue
            if parsed.url:
                return "Packages with direct (URL) references in Requires-Dist are not allowed."
        for entry in lists.get("project_urls", []):
            label = entry.partition(",")[0].strip()
            if len(label) > 32:
                return f"The Project-URL label '{label}' is longer than 32 characters."
        summary = fields.get("summary")
        if summary is not None and (len(summary) >= 512 or "\n" in summary or "\r" in summary):
            return "The summary must be a single line shorter than 512 characters."
        content_type = fields.get("description_content_type")
        if content_type and not _valid_description_type(content_type):
            return f"The description content type '{content_type}' is not valid."
        return None

    def _check_feed(self, feed: EmulatedFeed, info: UploadInfo) -> _azure.AzureError | None:
        """Conflicts with what the feed holds: deleted version, same file, second sdist."""
        with feed.upload_lock:
            if feed.is_deleted(info.name, info.version):
                return _azure.version_deleted(info.name, info.version)
            if feed.has_file(info.filename):
                return _azure.file_exists(feed.name, info.filename, info.name, info.version)
        if info.filename.endswith(_SDIST_SUFFIXES):
            for existing in feed.files_of(info.name):
                if existing.filename.endswith(_SDIST_SUFFIXES) and same_version(
                    existing.version, info.version
                ):
                    return _azure.bad_upload(
                        f"'{info.name} {info.version}' already has a source distribution "
                        f"('{existing.filename}'): only one is allowed per version."
                    )
        return None


def _metadata_allowlist(
    mode: Mode, versions: Sequence[str] | None, maximum: str | None
) -> tuple[str, ...]:
    if versions is not None:
        return tuple(versions)
    default = SERVER_METADATA_VERSIONS if mode == "server" else HOSTED_METADATA_VERSIONS
    if maximum is None:
        return default
    ceiling = Version(maximum)
    return tuple(v for v in HOSTED_METADATA_VERSIONS if Version(v) <= ceiling)


def _valid_description_type(value: str) -> bool:
    header = email.parser.HeaderParser(policy=email.policy.HTTP).parsestr(
        f"Content-Type: {value}\r\n\r\n"
    )
    if header.get_content_type() not in _CONTENT_TYPES or "/" not in value:
        return False
    charset = header.get_param("charset")
    if charset is not None and str(charset).lower() != "utf-8":
        return False
    variant = header.get_param("variant")
    return variant is None or (
        header.get_content_type() == "text/markdown" and str(variant).lower() in _MARKDOWN_VARIANTS
    )


def _version_sort(version: str) -> tuple[int, Version, str]:
    try:
        return (0, Version(version), "")
    except InvalidVersion:
        return (1, Version("0"), version)


def _same_feed(actual: EmulatedFeed, wanted: EmulatedFeed | str) -> bool:
    if isinstance(wanted, EmulatedFeed):
        return actual is wanted
    return actual.name.casefold() == wanted.casefold()


def _iso(epoch: float) -> str:
    """Azure's form of a time: `2026-12-08T21:43:00.1234567Z` (seven fraction digits)."""
    from datetime import datetime
    from datetime import timezone

    moment = datetime.fromtimestamp(epoch, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


def _iso_epoch(text: str) -> float | None:
    from datetime import datetime
    from datetime import timezone

    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$", text.strip())
    if match is None:
        return None
    moment = datetime.fromisoformat(match.group(1) + (match.group(3) or "Z").replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp() + float(match.group(2) or 0)


def _host_url(environ: WSGIEnvironment) -> str:
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
    return f"{scheme}://{host}"
