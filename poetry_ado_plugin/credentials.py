"""Where a token comes from, and which feed source or repository it is for.

Token sources, the first that applies wins:

1. ``--pat-stdin``: one line read from standard input;
2. ``--azure-cli``: an Entra ID token from ``az account get-access-token``;
3. ``AZURE_DEVOPS_EXT_PAT`` (what the Azure CLI's devops extension reads);
4. ``SYSTEM_ACCESSTOKEN`` (the Azure Pipelines job token, when mapped into the step);
5. the entry for this feed in ``VSS_NUGET_EXTERNAL_FEED_ENDPOINTS`` or
   ``ARTIFACTS_CREDENTIALPROVIDER_EXTERNAL_FEED_ENDPOINTS``;
6. a hidden prompt (login only, and only when interactive).

No option ever takes a token as its value. A Token keeps its secret out of ``repr`` and ``str``,
and no message here contains it or the environment variables' JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

from poetry_ado_plugin.errors import CredentialError
from poetry_ado_plugin.errors import FeedUrlError
from poetry_ado_plugin.errors import UsageError


if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Mapping
    from pathlib import Path

    from poetry_ado_plugin.feed import Feed


DEFAULT_USERNAME = "azure"

PAT_VARIABLE = "AZURE_DEVOPS_EXT_PAT"
PIPELINES_VARIABLE = "SYSTEM_ACCESSTOKEN"
ENDPOINT_VARIABLES = (
    "VSS_NUGET_EXTERNAL_FEED_ENDPOINTS",
    "ARTIFACTS_CREDENTIALPROVIDER_EXTERNAL_FEED_ENDPOINTS",
)


@dataclass(frozen=True)
class Token:
    """A token and where it came from. ``secret`` never appears in repr or str."""

    secret: str = field(repr=False)
    username: str
    origin: str
    expires_on: int | None = None
    tenant: str | None = None
    from_azure_cli: bool = False

    def __str__(self) -> str:
        return f"<token from {self.origin}>"


@dataclass(frozen=True)
class TokenRequest:
    """What the user asked for on the command line."""

    pat_stdin: bool = False
    azure_cli: bool = False
    tenant: str | None = None
    username: str | None = None

    def check(self) -> None:
        if self.pat_stdin and self.azure_cli:
            raise UsageError("give either --pat-stdin or --azure-cli, not both")
        if self.tenant and not self.azure_cli:
            raise UsageError("--tenant only applies to --azure-cli: add --azure-cli")
        if self.username is not None:
            clean_username(self.username, "--username")


def clean_username(raw: str, origin: str) -> str:
    """The username without surrounding whitespace. HTTP Basic splits at the first ':', and a
    line break would let a username add lines to a CI variable file such as $GITHUB_ENV."""
    username = raw.strip()
    if not username:
        raise UsageError(f"the username from {origin} is empty: Poetry needs a non-empty username")
    if ":" in username or any(c.isspace() or not c.isprintable() for c in username):
        raise UsageError(
            f"the username from {origin} contains ':', whitespace or control characters: use a "
            "plain name such as 'azure' (Azure accepts any non-empty one)"
        )
    return username


def clean_token(raw: str, origin: str) -> str:
    """The token without surrounding whitespace; refuses empty tokens and inner whitespace."""
    token = raw.strip()
    if not token:
        raise CredentialError(f"the token from {origin} is empty")
    if any(c.isspace() or not c.isprintable() for c in token):
        raise CredentialError(
            f"the token from {origin} contains whitespace or control characters: a token is "
            "one word, check what was pasted"
        )
    return token


def find_token(
    feed: Feed,
    request: TokenRequest,
    environ: Mapping[str, str],
    *,
    read_stdin_line: Callable[[], str] | None = None,
    prompt: Callable[[], str | None] | None = None,
    prompt_unavailable_hint: str = "",
) -> Token:
    """The token for ``feed`` from the first source that applies (see the module docstring).

    ``prompt`` is None when prompting is not allowed (``-n``, or ``poetry ado env``)."""
    request.check()
    explicit_user = request.username.strip() if request.username else None

    if request.pat_stdin:
        line = read_stdin_line() if read_stdin_line is not None else ""
        secret = clean_token(line, "standard input (--pat-stdin)")
        return Token(secret, explicit_user or DEFAULT_USERNAME, "standard input")

    if request.azure_cli:
        from poetry_ado_plugin.azure_cli import get_access_token

        access = get_access_token(request.tenant)
        return Token(
            clean_token(access.token, "the Azure CLI"),
            explicit_user or DEFAULT_USERNAME,
            "the Azure CLI",
            expires_on=access.expires_on,
            tenant=access.tenant,
            from_azure_cli=True,
        )

    for variable in (PAT_VARIABLE, PIPELINES_VARIABLE):
        value = environ.get(variable, "")
        if value.strip():
            return Token(clean_token(value, variable), explicit_user or DEFAULT_USERNAME, variable)

    endpoint = find_endpoint_credential(feed, environ)
    if endpoint is not None:
        return endpoint if explicit_user is None else _with_username(endpoint, explicit_user)

    if prompt is not None:
        entered = prompt()
        secret = clean_token(entered or "", "the prompt")
        return Token(secret, explicit_user or DEFAULT_USERNAME, "the prompt")

    raise CredentialError(
        "no token found: pipe one with --pat-stdin, use --azure-cli (after `az login`), or set "
        f"{PAT_VARIABLE}, {PIPELINES_VARIABLE} (Azure Pipelines), or an entry for this feed in "
        f"{' or '.join(ENDPOINT_VARIABLES)}{prompt_unavailable_hint}"
    )


def _with_username(token: Token, username: str) -> Token:
    return Token(token.secret, username, token.origin, token.expires_on, token.tenant)


def find_endpoint_credential(feed: Feed, environ: Mapping[str, str]) -> Token | None:
    """The entry of the endpoint-credentials JSON whose endpoint is this feed (any view)."""
    from poetry_ado_plugin.feed import parse_feed_url

    wanted = feed.without_view()
    for variable in ENDPOINT_VARIABLES:
        raw = environ.get(variable, "")
        if not raw.strip():
            continue
        for entry in _endpoint_entries(raw, variable):
            endpoint = entry.get("endpoint")
            password = entry.get("password")
            if not isinstance(endpoint, str) or not isinstance(password, str):
                continue
            try:
                candidate = parse_feed_url(endpoint).feed.without_view()
            except FeedUrlError:
                continue
            if not candidate.is_same_feed(wanted) or not password.strip():
                continue
            username = entry.get("username")
            if isinstance(username, str) and username.strip():
                username = clean_username(username, variable)
            else:
                username = DEFAULT_USERNAME
            return Token(clean_token(password, variable), username, variable)
    return None


def _endpoint_entries(raw: str, variable: str) -> list[dict[str, Any]]:
    try:
        data: Any = json.loads(raw)
    except ValueError:
        # The JSON holds tokens: say where it is broken, never what it contains.
        raise CredentialError(
            f"{variable} is not valid JSON: it should look like "
            '{"endpointCredentials":[{"endpoint":"<feed index URL>","password":"<token>"}]}'
        ) from None
    entries = data.get("endpointCredentials") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise CredentialError(
            f"{variable} has no endpointCredentials list: it should look like "
            '{"endpointCredentials":[{"endpoint":"<feed index URL>","password":"<token>"}]}'
        )
    return [entry for entry in entries if isinstance(entry, dict)]


# --- which feed -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedTarget:
    """The source/repository name a credential is stored under, and its feed."""

    name: str
    feed: Feed
    # Where the feed was found: "pyproject.toml" or "Poetry's config".
    found_in: str


def resolve_target(name: str | None, pyproject: Path | None, command: str) -> FeedTarget:
    """The feed for ``name`` (or the project's single Azure feed source when None).

    Inside a project the sources in pyproject.toml decide; outside one, ``name`` is required
    and the feed comes from Poetry's ``repositories.<name>.url`` (an upload URL)."""
    from poetry_ado_plugin.feed import parse_feed_url

    if pyproject is not None:
        from poetry_ado_plugin.pyproject import PyprojectDocument

        feeds: dict[str, Feed] = {}
        others: set[str] = set()
        for source in PyprojectDocument.read(pyproject).sources():
            try:
                feeds[source.name] = parse_feed_url(source.url or "").feed
            except FeedUrlError:
                others.add(source.name)
        if name is None:
            if len(feeds) == 1:
                (only,) = feeds.items()
                return FeedTarget(only[0], only[1], "pyproject.toml")
            if not feeds:
                raise UsageError(
                    f"{pyproject} has no Azure Artifacts feed source: add one with "
                    "`poetry ado add-feed <feed URL>`, or name a configured repository: "
                    f"`poetry ado {command} NAME`"
                )
            listed = ", ".join(sorted(feeds))
            raise UsageError(
                f"{pyproject} has several Azure Artifacts feed sources ({listed}): name one, "
                f"e.g. `poetry ado {command} {sorted(feeds)[0]}`"
            )
        # Poetry matches source names case-insensitively; the credential takes the spelling
        # of the file, which is what Poetry looks it up by.
        spelled = {source_name.casefold(): source_name for source_name in feeds}
        if name.casefold() in spelled:
            name = spelled[name.casefold()]
            return FeedTarget(name, feeds[name], "pyproject.toml")
        if name.casefold() in {other.casefold() for other in others}:
            raise UsageError(
                f"source '{name}' in {pyproject} is not an Azure Artifacts feed: "
                "`poetry ado` only manages Azure Artifacts feeds"
            )

    if name is None:
        raise UsageError(
            f"no pyproject.toml here: name the feed's repository, `poetry ado {command} NAME`, "
            "or run the command in your project's directory (or with -C)"
        )
    from poetry_ado_plugin.poetry_config import get_repository_url

    url = get_repository_url(name)
    if url is None:
        where = "neither a source in pyproject.toml nor" if pyproject is not None else "not"
        raise UsageError(
            f"'{name}' is {where} a repository in Poetry's config: add the feed with "
            f"`poetry ado add-feed <feed URL> --name {name}` first"
        )
    try:
        feed = parse_feed_url(url).feed
    except FeedUrlError as error:
        raise UsageError(
            f"repositories.{name}.url in Poetry's config is not an Azure Artifacts feed URL "
            f"({error}); fix it with `poetry ado add-feed`"
        ) from None
    return FeedTarget(name, feed.without_view(), "Poetry's config")


def token_expiry(token: str) -> int | None:
    """The ``exp`` (epoch seconds) of a JWT (an Entra or Azure Pipelines token), read without
    checking its signature: only to tell the user when it runs out. None for a PAT."""
    import base64
    import binascii

    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (binascii.Error, ValueError):
        return None
    expires = claims.get("exp") if isinstance(claims, dict) else None
    return expires if isinstance(expires, int) and not isinstance(expires, bool) else None
