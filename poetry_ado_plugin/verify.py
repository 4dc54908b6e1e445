"""Verifying a token against the feed before it is stored.

One GET of a project page of the feed (never the feed root: Azure answers the root
``.../pypi/simple/`` with 404 for every feed, so it proves nothing), with HTTP Basic auth and
``X-TFS-FedAuthRedirect: Suppress`` (a plain 401 instead of a sign-in page or a redirect to it),
through the shared session with its timeout and retries. The token travels only in the
Authorization header: never in the URL, so neither urllib3's debug log nor a connection error
can contain it.

How the answer reads (docs/azure-artifacts.md, "Index pages" and "Authentication"):

========================================  ============================
200                                       accepted
404 "Cannot find the package"             accepted: the feed exists
404 "The feed (view) ... doesn't exist"   feed not found
401, 203, or a redirect to ``_signin``    token rejected
401 "... has expired"                     token expired
403                                       no role on the feed
========================================  ============================
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from poetry_ado_plugin.errors import FeedResponseError
from poetry_ado_plugin.errors import NoFeedAccessError
from poetry_ado_plugin.errors import TokenRejectedError


if TYPE_CHECKING:
    import requests

    from poetry_ado_plugin.feed import Feed


# A fixed name rather than the project's: the probe never asks the feed's upstream (PyPI) about
# a real package, never depends on whether the project was published yet, and works outside a
# project. Its page is a 404 "Cannot find the package" on every feed, which proves that the
# token was accepted and that the feed exists.
PROBE_PACKAGE = "poetry-ado-plugin-login-check"


def probe_url(feed: Feed) -> str:
    """The project page login reads to verify a token."""
    return f"{feed.index_url}{PROBE_PACKAGE}/"


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

    from poetry_ado_plugin import answers
    from poetry_ado_plugin.http import SUPPRESS_SIGN_IN
    from poetry_ado_plugin.http import describe_connection_error
    from poetry_ado_plugin.http import make_session
    from poetry_ado_plugin.http import request_timeout

    url = probe_url(feed)
    own_session = session is None
    session = session or make_session()
    try:
        try:
            response = session.get(
                url,
                auth=(username, token),
                headers=SUPPRESS_SIGN_IN,
                timeout=timeout or request_timeout(),
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
            answer = answers.read_answer(response)
    finally:
        if own_session:
            session.close()

    if answer.kind in (answers.OK, answers.PACKAGE_NOT_FOUND):
        return
    context = answers.AnswerContext(feed=feed.name, source=feed.name, url=feed.index_url)
    message = answers.explain(answer, "verify", context)
    if answer.kind in (answers.UNAUTHORIZED, answers.EXPIRED):
        raise TokenRejectedError(message)
    if answer.kind == answers.FORBIDDEN:
        raise NoFeedAccessError(message)
    raise FeedResponseError(message)


def identify(feed: Feed, username: str, token: str) -> str | None:
    """The display name of the identity the token belongs to (``connectionData``), or None when
    it cannot be learnt: a token scoped to packaging only may not read it, and the answer is
    never worth failing a login that the feed has already accepted."""
    from poetry_ado_plugin.devops_api import DevOpsClient
    from poetry_ado_plugin.http import make_session

    try:
        with DevOpsClient(feed, username, token, session=make_session(retries=1)) as client:
            return client.connection_data().display_name or None
    except Exception:
        return None
