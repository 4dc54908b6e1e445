"""Verifying a token against the feed before it is stored.

One GET of the feed's index URL with HTTP Basic auth and ``X-TFS-FedAuthRedirect: Suppress``
(a plain 401 instead of a sign-in page), through the shared session with its timeout and retries.
The token travels only in the Authorization header: never in the URL, so neither urllib3's debug
log nor a connection error can contain it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from poetry_ado_plugin.errors import CredentialError
from poetry_ado_plugin.errors import FeedResponseError


if TYPE_CHECKING:
    import requests

    from poetry_ado_plugin.feed import Feed


def _timeout(default: tuple[float, float]) -> float | tuple[float, float]:
    """Poetry's own POETRY_REQUESTS_TIMEOUT (seconds) when set, else http's default."""
    value = os.environ.get("POETRY_REQUESTS_TIMEOUT", "")
    try:
        seconds = float(value)
    except ValueError:
        return default
    return seconds if seconds > 0 else default


class TokenRejectedError(CredentialError):
    """401/203: the feed did not accept the token."""


class NoFeedAccessError(CredentialError):
    """403: the identity is valid but may not read the feed."""


def verify_token(
    feed: Feed,
    username: str,
    token: str,
    *,
    session: requests.Session | None = None,
    timeout: float | tuple[float, float] | None = None,
) -> None:
    """Return when the feed accepts the credential; raise an AdoError saying why not."""
    import requests

    from poetry_ado_plugin.http import DEFAULT_TIMEOUT
    from poetry_ado_plugin.http import SUPPRESS_SIGN_IN
    from poetry_ado_plugin.http import decode_answer
    from poetry_ado_plugin.http import describe_connection_error
    from poetry_ado_plugin.http import host_of
    from poetry_ado_plugin.http import make_session

    url = feed.index_url
    host = host_of(url)
    own_session = session is None
    session = session or make_session()
    try:
        try:
            response = session.get(
                url,
                auth=(username, token),
                headers=SUPPRESS_SIGN_IN,
                timeout=timeout or _timeout(DEFAULT_TIMEOUT),
                allow_redirects=False,
                stream=True,
            )
        except requests.exceptions.RequestException as error:
            # The exception's own text is not shown: the reason names the host, nothing more.
            raise FeedResponseError(
                f"could not verify the token: {describe_connection_error(error, url)}; check "
                "your network or VPN, or store it unverified with --no-verify"
            ) from None
        with response:
            answer = decode_answer(response)
    finally:
        if own_session:
            session.close()

    if answer.ok:
        return
    if answer.kind == "unauthorized":
        raise TokenRejectedError(
            f"the token was rejected by {host} (HTTP {answer.status}): wrong, expired or missing "
            "the Packaging (Read) scope; nothing was stored"
        )
    if answer.kind == "forbidden":
        raise NoFeedAccessError(
            f"this identity has no read access to the feed '{feed.name}' (HTTP 403): ask a feed "
            "owner for the Feed Reader role; nothing was stored"
        )
    if answer.kind == "not_found":
        raise FeedResponseError(
            f"feed not found: {url} answered 404; check the organization, project and feed "
            "name (`poetry ado add-feed` fixes the source); nothing was stored"
        )
    if answer.kind == "server_error":
        raise FeedResponseError(
            f"could not verify the token: {host} answered HTTP {answer.status} after retries; "
            "try again later, or store it unverified with --no-verify; nothing was stored"
        )
    reason = f" ({answer.server_message})" if answer.server_message else ""
    raise FeedResponseError(
        f"could not verify the token: {url} answered HTTP {answer.status}{reason}; nothing was "
        "stored"
    )
