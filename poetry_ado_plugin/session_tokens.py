"""Azure DevOps session tokens: a short, packaging-scoped token minted from an Entra ID token.

An Entra token for Azure DevOps (from az or azure-identity) can do everything its user can in
the organization: repos, work items, even PAT management. It is never stored. Instead
(docs/azure-artifacts.md, "Tokens from Entra ID"):

1. ``discover``: one unauthenticated GET of a project page of the feed, whose 401 names the
   tenant (``WWW-Authenticate: Bearer authorization_uri=https://login.microsoftonline.com/{tenant}``)
   and the authorization endpoint (``X-VSS-AuthorizationEndpoint``). Azure DevOps Server sends
   no such endpoint: it has no Entra sign-in, and no exchange is tried there.
2. ``exchange``: ``POST {endpoint}_apis/Token/SessionTokens?tokenType=Compact`` with
   ``Authorization: Bearer <Entra token>`` and ``{"scope", "displayName", "validTo"}``. A server
   that refuses ``validTo`` is asked again without it. The answer's ``token`` (about 52
   characters) is the Basic password from then on, until the ``validTo`` the server granted.

The Entra token goes only to an endpoint on Microsoft's sign-in hosts or on the feed's own
origin: a feed that names another host does not get to collect it."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timezone
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import urlsplit

from poetry_ado_plugin.errors import CredentialError
from poetry_ado_plugin.errors import FeedResponseError
from poetry_ado_plugin.errors import UsageError


if TYPE_CHECKING:
    import requests

    from poetry_ado_plugin.feed import Feed


READ_SCOPE = "vso.packaging"
WRITE_SCOPE = "vso.packaging_write"
SESSION_USERNAME = "VssSessionToken"
API_VERSION = "5.0-preview.1"
TOKEN_TYPE = "Compact"  # noqa: S105 (a token type, not a secret)

DEFAULT_VALID_FOR = 7 * 86400
MIN_VALID_FOR = 600
MAX_VALID_FOR = 366 * 86400

# Hosts that may receive an Entra token for the exchange, besides the feed's own origin.
TRUSTED_HOSTS = ("vssps.dev.azure.com",)
TRUSTED_SUFFIXES = (".vssps.visualstudio.com", ".vssps.dev.azure.com")

_AUTHORITY = re.compile(
    r"authorization_uri=\"?https://login\.(?:microsoftonline\.com|windows\.net)/"
    r"(?P<tenant>[A-Za-z0-9][A-Za-z0-9.-]*)",
    re.IGNORECASE,
)
_DURATION = re.compile(r"^\s*(?P<count>\d{1,6})\s*(?P<unit>[mhdw])\s*$", re.IGNORECASE)
_UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str, option: str = "--valid-for") -> int:
    """Seconds in a duration such as ``90m``, ``8h``, ``7d`` or ``2w``."""
    match = _DURATION.match(text or "")
    if match is None:
        raise UsageError(
            f"{option} {text!r} is not a duration: give a number and a unit, such as 8h, 7d "
            "or 2w (m minutes, h hours, d days, w weeks)"
        )
    seconds = int(match.group("count")) * _UNITS[match.group("unit").lower()]
    if not MIN_VALID_FOR <= seconds <= MAX_VALID_FOR:
        raise UsageError(f"{option} {text!r} is out of range: give between 10m and 366d")
    return seconds


def scope_for(*, write: bool) -> str:
    return WRITE_SCOPE if write else READ_SCOPE


@dataclass(frozen=True)
class Challenge:
    """What the feed's 401 says about its sign-in."""

    tenant: str | None
    authorization_endpoint: str | None

    @property
    def entra(self) -> bool:
        """The feed signs in through Entra ID (hosted Azure DevOps), so it can exchange."""
        return self.authorization_endpoint is not None


@dataclass(frozen=True)
class SessionToken:
    secret: str = field(repr=False)
    expires_on: int
    scope: str

    def __str__(self) -> str:
        return f"<session token, {self.scope}>"


def discover(feed: Feed, *, session: requests.Session | None = None) -> Challenge:
    """The tenant and the authorization endpoint from one unauthenticated request to the feed."""
    import requests

    from poetry_ado_plugin.http import SUPPRESS_SIGN_IN
    from poetry_ado_plugin.http import describe_connection_error
    from poetry_ado_plugin.http import make_session
    from poetry_ado_plugin.http import request_timeout
    from poetry_ado_plugin.verify import probe_url

    url = probe_url(feed)
    own = session is None
    session = session or make_session(retries=1)
    try:
        response = session.get(
            url,
            headers=SUPPRESS_SIGN_IN,
            timeout=request_timeout(),
            allow_redirects=False,
            stream=True,
        )
        with response:
            headers = response.headers
            endpoint = headers.get("X-VSS-AuthorizationEndpoint") or None
            match = _AUTHORITY.search(headers.get("WWW-Authenticate", ""))
            tenant = match.group("tenant") if match else headers.get("X-VSS-ResourceTenant")
    except requests.exceptions.RequestException as error:
        raise FeedResponseError(
            f"could not ask the feed for its sign-in: {describe_connection_error(error, url)}; "
            "check your network or VPN"
        ) from None
    finally:
        if own:
            session.close()
    if endpoint is None and feed.is_hosted and feed.organization:
        endpoint = f"https://{TRUSTED_HOSTS[0]}/{feed.organization}/"
    tenant = tenant.strip() if tenant and tenant.strip() else None
    return Challenge(tenant, endpoint.strip() if endpoint else None)


def check_endpoint(feed: Feed, endpoint: str) -> str:
    """``endpoint`` (with a trailing slash) when an Entra token may be sent there."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    own = urlsplit(feed.index_url)
    same_origin = (parts.scheme, parts.netloc.lower()) == (own.scheme, own.netloc.lower())
    microsoft = parts.scheme == "https" and (
        host in TRUSTED_HOSTS or host.endswith(TRUSTED_SUFFIXES)
    )
    if not (same_origin or microsoft) or parts.query or parts.fragment or "@" in parts.netloc:
        from poetry_ado_plugin.redact import safe_text

        raise CredentialError(
            f"the feed names {safe_text(host or endpoint)!r} as its authorization endpoint, "
            "which is neither Azure DevOps' sign-in host nor the feed's own: the Entra token is "
            "not sent there. Check the feed URL, or use a personal access token (--pat-stdin)"
        )
    return endpoint if endpoint.endswith("/") else endpoint + "/"


def exchange(
    feed: Feed,
    entra_token: str,
    challenge: Challenge,
    *,
    scope: str,
    valid_for: int,
    display_name: str,
    session: requests.Session | None = None,
    now: float | None = None,
) -> SessionToken:
    """A session token of ``scope`` for ``entra_token``, valid for ``valid_for`` seconds or what
    the server grants."""
    from poetry_ado_plugin import redact

    if challenge.authorization_endpoint is None:
        raise CredentialError(
            f"the feed {feed.index_url} names no authorization endpoint (Azure DevOps Server has "
            "no Entra sign-in): use a personal access token"
        )
    endpoint = check_endpoint(feed, challenge.authorization_endpoint)
    redact.register_secret(entra_token)
    url = f"{endpoint}_apis/Token/SessionTokens?tokenType={TOKEN_TYPE}&api-version={API_VERSION}"
    started = time.time() if now is None else now
    valid_to = datetime.fromtimestamp(started + valid_for, tz=timezone.utc)
    body: dict[str, Any] = {
        "scope": scope,
        "displayName": display_name,
        "validTo": valid_to.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
    }
    from poetry_ado_plugin.http import make_session

    own = session is None
    session = session or make_session(retries=1)
    try:
        status, answer, message = _post(session, url, entra_token, body)
        if status == 400:
            # Some servers refuse validTo: they grant their default lifetime instead.
            del body["validTo"]
            status, answer, message = _post(session, url, entra_token, body)
    finally:
        if own:
            session.close()
    host = urlsplit(endpoint).netloc
    if status in (401, 403):
        raise CredentialError(
            f"{host} did not exchange the Entra token for a session token ({status}"
            f"{': ' + message if message else ''}): sign in again (`az login`, or the identity "
            "azure-identity uses) in the feed's tenant, or add --no-session-token to store the "
            "Entra token itself (less safe)"
        )
    if not 200 <= status < 300:
        raise FeedResponseError(
            f"{host} refused the session token ({status}{': ' + message if message else ''}): "
            "try again, or add --no-session-token to store the Entra token itself (less safe)"
        )
    token = answer.get("token") if isinstance(answer, dict) else None
    if not isinstance(token, str) or not token.strip() or any(c.isspace() for c in token.strip()):
        raise FeedResponseError(
            f"{host} answered the session-token request without a token: try again, or add "
            "--no-session-token"
        )
    token = token.strip()
    redact.register_secret(token)
    granted = _epoch(answer.get("validTo")) if isinstance(answer, dict) else None
    expires_on = int(granted if granted is not None else started + valid_for)
    granted_scope = answer.get("scope") if isinstance(answer, dict) else None
    return SessionToken(
        token, expires_on, granted_scope if isinstance(granted_scope, str) else scope
    )


def _post(
    session: requests.Session, url: str, entra_token: str, body: dict[str, Any]
) -> tuple[int, Any, str | None]:
    import requests

    from poetry_ado_plugin import answers
    from poetry_ado_plugin.http import SUPPRESS_SIGN_IN
    from poetry_ado_plugin.http import describe_connection_error

    headers = {
        **SUPPRESS_SIGN_IN,
        "Authorization": f"Bearer {entra_token}",
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    try:
        response = session.post(
            url, data=json.dumps(body).encode("utf-8"), headers=headers, allow_redirects=False
        )
    except requests.exceptions.RequestException as error:
        raise FeedResponseError(
            "could not reach the Azure DevOps session-token endpoint: "
            f"{describe_connection_error(error, url)}; check your network or VPN"
        ) from None
    with response:
        if 200 <= response.status_code < 300:
            try:
                return response.status_code, json.loads(response.content or b"null"), None
            except ValueError:
                return response.status_code, None, None
        answer = answers.read_answer(response)
        return response.status_code, None, answer.server_message


_ISO = re.compile(
    r"^(?P<base>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?P<fraction>\.\d+)?(?P<zone>Z|[+-]\d\d:\d\d)?$"
)


def _epoch(value: object) -> float | None:
    """Epoch seconds of Azure's ``2026-12-08T21:43:00.1234567Z`` (seven fraction digits)."""
    if not isinstance(value, str):
        return None
    match = _ISO.match(value.strip())
    if match is None:
        return None
    zone = (match.group("zone") or "Z").replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(match.group("base") + zone)
    except ValueError:
        return None
    return moment.timestamp() + float(match.group("fraction") or 0)


# --- an Entra identity, and what is stored for it ----------------------------------------------

AZURE_CLI = "azure-cli"
AZURE_IDENTITY = "azure-identity"
IDENTITY_NAMES = {AZURE_CLI: "the Azure CLI", AZURE_IDENTITY: "azure-identity"}


@dataclass(frozen=True)
class Minted:
    """What an identity gave for a feed: a session token (``scope`` set), or with
    ``session_token=False`` or on Azure DevOps Server the Entra token itself (``scope`` None)."""

    secret: str = field(repr=False)
    expires_on: int
    tenant: str | None
    scope: str | None

    def __str__(self) -> str:
        return f"<token, scope {self.scope or 'full (Entra)'}>"


def entra_token(
    identity: str, tenant: str | None, *, timeout: float | None = None, interactive: bool = False
) -> tuple[str, int, str | None]:
    """(token, expires_on, tenant) from ``identity``; the token is registered for masking."""
    from poetry_ado_plugin import redact

    if identity == AZURE_IDENTITY:
        from poetry_ado_plugin.azure_identity import get_token

        got = get_token(tenant, interactive=interactive)
        token, expires_on, found_tenant = got.token, got.expires_on, got.tenant
    else:
        from poetry_ado_plugin.azure_cli import AZ_TIMEOUT
        from poetry_ado_plugin.azure_cli import get_access_token

        access = get_access_token(tenant, timeout=timeout or AZ_TIMEOUT)
        token, expires_on, found_tenant = access.token, access.expires_on, access.tenant
    redact.register_secret(token)
    return token, expires_on, found_tenant or tenant


def mint(
    feed: Feed,
    identity: str,
    *,
    name: str,
    tenant: str | None = None,
    scope: str = READ_SCOPE,
    valid_for: int = DEFAULT_VALID_FOR,
    session_token: bool = True,
    timeout: float | None = None,
    interactive: bool = False,
) -> Minted:
    """A token for ``feed`` from ``identity``: the feed's challenge names the tenant (``tenant``
    overrides it), the identity gives an Entra token for it, and the authorization endpoint
    exchanges that for a session token of ``scope``."""
    if not session_token:
        token, expires_on, found = entra_token(
            identity, tenant, timeout=timeout, interactive=interactive
        )
        return Minted(token, expires_on, found, None)
    challenge = discover(feed)
    token, expires_on, found = entra_token(
        identity, tenant or challenge.tenant, timeout=timeout, interactive=interactive
    )
    if not challenge.entra:
        # Azure DevOps Server: no Entra sign-in, nothing to exchange with.
        return Minted(token, expires_on, found, None)
    import socket

    display = f"poetry-ado {name} ({socket.gethostname()[:60] or 'unknown host'})"
    session = exchange(
        feed, token, challenge, scope=scope, valid_for=valid_for, display_name=display
    )
    return Minted(session.secret, session.expires_on, found, session.scope)
