"""The one reader of what an Azure Artifacts feed (or its REST API) answered.

``read_answer`` decodes a response once: its status, Azure's own message (from the JSON error
body, or from the reason phrase, where Azure also puts it: ``Not Found - {message} (DevOps
Activity ID: ...)``) and what it means (``kind``). ``explain`` words an answer for the verb that
got it (``verify`` at login, ``read`` of an index page, ``upload``) from one table, so login,
publish and any later diagnosis say the same thing about the same answer.

What the answers look like is recorded in docs/azure-artifacts.md ("What the real service
answers"); the rules below cite the rows they rest on."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html import unescape
from typing import TYPE_CHECKING
from typing import Literal

from poetry_ado_plugin.http import host_of


if TYPE_CHECKING:
    import requests


Verb = Literal["verify", "read", "upload", "inspect", "promote", "protect"]
"""``inspect``, ``promote`` and ``protect`` are the REST API's reads, promotions into a view and
changes of a package's upstream setting (``devops_api``)."""

# The feed role each REST verb needs, and what it lets one do (docs/azure-artifacts.md, "REST
# API": promotion needs Contributor or Owner, the upstream setting Owner).
_REST_ROLES: dict[str, tuple[str, str]] = {
    "inspect": ("Reader", "read packages of"),
    "promote": ("Contributor", "promote packages in"),
    "protect": ("Owner", "change the upstream settings of"),
}

MAX_MESSAGE_LENGTH = 300

# kinds, each a distinct thing the user has to do
OK = "ok"
UNAUTHORIZED = "unauthorized"  # 401, a 203 sign-in page, or a redirect to sign-in
EXPIRED = "expired"  # 401 naming an expired personal access token
FORBIDDEN = "forbidden"  # 403: a valid identity without the feed role
FEED_NOT_FOUND = "feed_not_found"  # 404: the feed (or its view) does not exist
PACKAGE_NOT_FOUND = "package_not_found"  # 404 on an existing feed: no such package yet
NOT_FOUND = "not_found"  # 404 with no Azure message: a wrong URL
METHOD_NOT_ALLOWED = "method_not_allowed"
CONFLICT = "conflict"  # 409: the file is already on the feed
DELETED = "deleted"  # 409: the version was deleted and can never be pushed again
UPSTREAM = "upstream"  # 409: the version exists in one of the feed's upstream sources
METADATA_VERSION = "metadata_version"  # 400: Metadata-Version the server does not take
TOO_LARGE = "too_large"  # 400: over Azure's per-file limit
BAD_REQUEST = "bad_request"
RATE_LIMITED = "rate_limited"
SERVER_ERROR = "server_error"
REDIRECT = "redirect"
OTHER = "other"

_BY_STATUS = {
    200: OK,
    201: OK,
    # Azure's sign-in front end answers a token it does not know with a 203 HTML page.
    203: UNAUTHORIZED,
    400: BAD_REQUEST,
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    409: CONFLICT,
    429: RATE_LIMITED,
}

# (status, pattern in Azure's message, kind); the first match wins.
_BY_MESSAGE: tuple[tuple[int, re.Pattern[str], str], ...] = (
    (401, re.compile(r"\bhas expired\b", re.IGNORECASE), EXPIRED),
    (404, re.compile(r"\bCannot find the package\b", re.IGNORECASE), PACKAGE_NOT_FOUND),
    (
        404,
        re.compile(r"\bfeed( view)? with (ID|name) '.*' doesn't exist", re.IGNORECASE),
        FEED_NOT_FOUND,
    ),
    (409, re.compile(r"\bupstream sources?\b", re.IGNORECASE), UPSTREAM),
    (409, re.compile(r"\bhas been deleted\b|\bwas deleted\b", re.IGNORECASE), DELETED),
    (400, re.compile(r"\bMetadata version\b.*\bunsupported\b", re.IGNORECASE), METADATA_VERSION),
    (400, re.compile(r"\btoo large\b", re.IGNORECASE), TOO_LARGE),
)
_BY_TYPE_KEY = {
    "PackageExistsAsDeletedException": DELETED,
    "PackageAlreadyExistsException": CONFLICT,
}

# "Not Found - The feed with ID 'x' doesn't exist. (DevOps Activity ID: 6F9619FF-...)"
_REASON = re.compile(r"^[A-Za-z ]+? - (?P<message>.+?)(?: \(DevOps Activity ID: [^)]*\))?$")
_TAG = re.compile(r"<[^>]+>")
_NOT_TEXT = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class FeedAnswer:
    """What a response means, decoded once for every caller."""

    status: int
    kind: str
    server_message: str | None = None
    type_key: str | None = None

    @property
    def ok(self) -> bool:
        return self.kind == OK

    @property
    def refused_credential(self) -> bool:
        """The feed did not take the credential (wrong, expired, or no role on the feed)."""
        return self.kind in (UNAUTHORIZED, EXPIRED, FORBIDDEN)


def is_sign_in_redirect(response: requests.Response) -> bool:
    """A redirect to Azure's sign-in page (``.../_signin``), at any hop: what a token Azure
    cannot read gets when the request did not ask for a plain 401."""
    hops = [*response.history, response]
    return any("_signin" in hop.headers.get("Location", "") for hop in hops) or (
        "_signin" in (response.url or "")
    )


def read_answer(response: requests.Response) -> FeedAnswer:
    """Decode ``response``; an error body is read through the shared cap (``http.MAX_BODY``)."""
    status = response.status_code
    if is_sign_in_redirect(response):
        return FeedAnswer(status, UNAUTHORIZED)
    kind = _BY_STATUS.get(status)
    if kind is None:
        if 300 <= status < 400:
            kind = REDIRECT
        elif status >= 500:
            kind = SERVER_ERROR
        elif 200 <= status < 300:
            kind = OK
        else:
            kind = OTHER
    if kind == OK:
        return FeedAnswer(status, kind)
    message, type_key = _message_and_type_key(response)
    kind = _BY_TYPE_KEY.get(type_key or "", kind) if status == 409 else kind
    for wanted, pattern, refined in _BY_MESSAGE:
        if status == wanted and message and pattern.search(message):
            kind = refined
            break
    return FeedAnswer(status, kind, message, type_key)


def server_message(response: requests.Response) -> str | None:
    """The server's own reason, as one short line: Azure's JSON ``message``, the message Azure
    puts in the reason phrase, an HTML page's title, or the start of a plain-text body. Never
    raw HTML."""
    return _message_and_type_key(response)[0]


def _message_and_type_key(response: requests.Response) -> tuple[str | None, str | None]:
    reason = _reason_message(response.reason)
    text = _error_text(response)
    if text is None:
        return reason, None
    content_type = response.headers.get("Content-Type", "")
    message: str | None = None
    type_key: str | None = None
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
            key = body.get("typeKey")
            type_key = str(key) if isinstance(key, str) else None
    if message is None and (is_json or not text.strip()):
        return reason, type_key
    if message is None and "<" in text:
        title = _TITLE.search(text)
        markup = title.group(1) if title else _NOT_TEXT.sub(" ", text)
        message = unescape(_TAG.sub(" ", markup))
    if message is None:
        message = text
    return _one_line(message) or reason, type_key


def _error_text(response: requests.Response) -> str | None:
    """The body, read through the shared cap and deadline; None when it could not be read
    (larger than the cap, too slow, broken off): the reason phrase is all there is then."""
    import requests

    from poetry_ado_plugin.http import MAX_BODY
    from poetry_ado_plugin.http import read_body

    try:
        read_body(response, MAX_BODY)
    except requests.RequestException:
        return None
    return response.text or ""


def _reason_message(reason: str | None) -> str | None:
    if not reason:
        return None
    match = _REASON.match(reason.strip())
    return _one_line(match.group("message")) if match else _one_line(reason)


def _one_line(text: str) -> str | None:
    """Server-supplied text as one short printable line: escape sequences and control characters
    removed, known secrets and URL user-info masked."""
    from poetry_ado_plugin.redact import safe_text

    message = " ".join(safe_text(text).split())
    if not message:
        return None
    if len(message) > MAX_MESSAGE_LENGTH:
        message = message[: MAX_MESSAGE_LENGTH - 1] + "…"
    return message


# --------------------------------------------------------------------------------------------
# Words


IMMUTABLE = (
    "Azure Artifacts never lets a package version be published again, not even after it was "
    "deleted: give the project a new version (e.g. poetry version patch), build and publish that"
)


@dataclass(frozen=True)
class AnswerContext:
    """What a message names: the feed, the source or repository, the URL asked, the file."""

    feed: str
    source: str
    url: str
    """As it may be shown (no credentials)."""
    source_url: str | None = None
    """The source's URL as it may be shown; None when there is no source (login of a URL)."""
    filename: str | None = None
    fix_source: str | None = None
    """The command that rewrites the source and its repository (``poetry ado add-feed ...``)."""


def explain(answer: FeedAnswer, verb: Verb, context: AnswerContext) -> str:
    """One line: what ``answer`` means for ``verb`` and what to do. Never the raw body."""
    status = answer.status
    said = f": {answer.server_message}" if answer.server_message else ""
    host = host_of(context.url)
    login = f"poetry ado login {context.source}"
    stored = "; nothing was stored" if verb == "verify" else ""
    kind = answer.kind

    if kind == EXPIRED:
        if verb == "verify":
            return (
                f"the token has expired ({host} answered HTTP {status}{said}): create a new "
                f"one and log in again{stored}"
            )
        return (
            f"the token for {context.source} has expired (HTTP {status}{said}): run {login} "
            "with a new one"
        )
    if kind == UNAUTHORIZED:
        if verb == "verify":
            return (
                f"the token was rejected by {host} (HTTP {status}): wrong, expired or missing "
                f"the Packaging (Read) scope{stored}"
            )
        return (
            f"{context.feed} did not accept the token for {context.source} (HTTP {status}): it is "
            f"wrong or has expired; run {login}"
        )
    if kind == FORBIDDEN and verb in _REST_ROLES:
        role, doing = _REST_ROLES[verb]
        higher = "" if role == "Owner" else " or higher"
        return (
            f"the token for {context.source} may not {doing} feed {context.feed} (HTTP "
            f"403{said}): that needs the feed {role} role{higher} (feed settings > Permissions)"
        )
    if kind == FORBIDDEN:
        if verb == "verify":
            return (
                f"this identity has no read access to the feed '{context.feed}' (HTTP 403): ask "
                f"a feed owner for the Feed Reader role{stored}"
            )
        doing = "publish to" if verb == "upload" else "read"
        return (
            f"the token for {context.source} may not {doing} feed {context.feed} (HTTP "
            f"403{said}): publishing needs the Contributor role on the feed (feed settings > "
            "Permissions) and a token with the Packaging Read & write scope"
        )
    if kind in (FEED_NOT_FOUND, NOT_FOUND):
        if verb == "verify":
            return (
                f"feed not found: {context.url} answered 404{said}; check the organization, "
                f"project and feed name (`poetry ado add-feed` fixes the source){stored}"
            )
        where = f" ({context.source_url})" if context.source_url else ""
        return (
            f"feed {context.feed} not found (HTTP 404{said}): check the URL of source "
            f"{context.source} in pyproject.toml{where}"
        )
    if kind == METHOD_NOT_ALLOWED and verb == "upload":
        fix = f"run {context.fix_source}" if context.fix_source else "run poetry ado add-feed"
        if "/pypi/simple" in context.url:
            return (
                f"{context.url} does not take uploads (HTTP 405): the repository URL points at "
                f"/simple/ (the install URL) instead of /upload/; {fix}"
            )
        if "@" in context.url.rsplit("/_packaging/", 1)[-1].split("/", 1)[0]:
            return (
                f"{context.url} is a view of the feed, and views are read-only (HTTP 405{said}): "
                f"publish to the feed itself and promote the version to the view; {fix}"
            )
        return (
            f"{context.url} does not take uploads (HTTP 405{said}): check that it is the feed's "
            f"upload URL, or {fix}"
        )
    if kind == RATE_LIMITED:
        return f"{host} is rate-limiting requests (HTTP 429{said}): wait and run again"
    what = context.filename or f"{context.feed}'s index"
    if kind == UPSTREAM:
        return (
            f"the feed refused {what} (HTTP 409): this version exists in one of "
            f"{context.feed}'s upstream sources (such as PyPI), and a feed never takes its own "
            "copy of an upstream version; give the project a version (or a name) that the "
            "public package does not have (poetry ado check-name shows who owns the name)"
        )
    if kind in (CONFLICT, DELETED):
        return f"the feed refused {what} (HTTP 409{said}): {IMMUTABLE}"
    if kind == METADATA_VERSION:
        return (
            f"the feed rejected {what} (HTTP 400{said}): the server takes Metadata-Version "
            "2.1 at most; run poetry ado publish --metadata-version-compat, which declares "
            "2.1 when the files say nothing 2.1 cannot"
        )
    if kind == TOO_LARGE:
        return (
            f"the feed rejected {what} (HTTP 400{said}): Azure Artifacts takes files of up to "
            "500 MB; make the file smaller"
        )
    if kind == BAD_REQUEST:
        return f"the feed rejected {what} (HTTP 400){said or ': no reason given'}"
    if kind == SERVER_ERROR:
        if verb == "verify":
            return (
                f"could not verify the token: {host} answered HTTP {status} after retries; try "
                f"again later, or store it unverified with --no-verify{stored}"
            )
        return f"{host} failed with HTTP {status}{said}: try again later"
    if kind == REDIRECT and verb == "upload":
        fix = f"run {context.fix_source}" if context.fix_source else "run poetry ado add-feed"
        return (
            f"{context.url} answered with a redirect (HTTP {status}), which uploads cannot "
            f"follow: the URL must be the feed's exact URL; {fix}"
        )
    if verb == "verify":
        reason = f" ({answer.server_message})" if answer.server_message else ""
        return f"could not verify the token: {context.url} answered HTTP {status}{reason}{stored}"
    return f"{context.url} answered HTTP {status}{said}"
