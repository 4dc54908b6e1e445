"""Where a token comes from, and which feed source or repository it is for.

Token sources, the first that applies wins (README, "Where the token comes from"):

1. ``--pat-stdin``: one line read from standard input;
2. ``--token-file PATH``: a file holding the token (a Docker or Kubernetes secret);
3. ``--azure-cli``: an Entra ID token from ``az account get-access-token``;
4. ``--azure-identity``: an Entra ID token from azure-identity's ``DefaultAzureCredential``;
5. ``POETRY_ADO_TOKEN_FILE``: the path of a token file;
6. ``AZURE_DEVOPS_EXT_PAT`` (what the Azure CLI's devops extension reads);
7. ``SYSTEM_ACCESSTOKEN`` (the Azure Pipelines job token, when mapped into the step);
8. the entry for this feed in ``VSS_NUGET_EXTERNAL_FEED_ENDPOINTS`` or
   ``ARTIFACTS_CREDENTIALPROVIDER_EXTERNAL_FEED_ENDPOINTS``;
9. ``VSS_NUGET_ACCESSTOKEN``, when ``VSS_NUGET_URI_PREFIXES`` covers the feed or is unset;
10. the credential PipAuthenticate embeds in ``PIP_INDEX_URL`` / ``PIP_EXTRA_INDEX_URL`` for
    this feed;
11. the section of the ``.pypirc`` at ``PYPIRC_PATH`` (TwineAuthenticate) whose repository is
    this feed;
12. ``/run/secrets/poetry-ado-token`` (BuildKit's ``--mount=type=secret``), when it exists;
13. a hidden prompt (login only, and only when interactive).

The two Entra sources (3 and 4) are exchanged for a packaging-scoped session token
(``session_tokens``) unless ``--no-session-token`` is given. No option ever takes a token as its
value. A Token keeps its secret out of ``repr`` and ``str``,
and no message here contains it or the environment variables' JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from poetry_ado_plugin.errors import CredentialError
from poetry_ado_plugin.errors import FeedUrlError
from poetry_ado_plugin.errors import UsageError


if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Mapping

    from poetry_ado_plugin.feed import Feed
    from poetry_ado_plugin.sources import AzureSource


DEFAULT_USERNAME = "azure"

PAT_VARIABLE = "AZURE_DEVOPS_EXT_PAT"
PIPELINES_VARIABLE = "SYSTEM_ACCESSTOKEN"
ENDPOINT_VARIABLES = (
    "VSS_NUGET_EXTERNAL_FEED_ENDPOINTS",
    "ARTIFACTS_CREDENTIALPROVIDER_EXTERNAL_FEED_ENDPOINTS",
)
TOKEN_FILE_VARIABLE = "POETRY_ADO_TOKEN_FILE"  # noqa: S105 (a name, not a secret)
NUGET_TOKEN_VARIABLE = "VSS_NUGET_ACCESSTOKEN"  # noqa: S105 (a name, not a secret)
NUGET_PREFIXES_VARIABLE = "VSS_NUGET_URI_PREFIXES"
PIP_VARIABLES = ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL")
PYPIRC_VARIABLE = "PYPIRC_PATH"
# Where BuildKit mounts `--mount=type=secret,id=poetry-ado-token` (and Compose its secrets);
# POETRY_ADO_DEFAULT_TOKEN_FILE moves it (tests, or an image that mounts elsewhere).
DEFAULT_TOKEN_FILE = "/run/secrets/poetry-ado-token"  # noqa: S105 (a name, not a secret)
DEFAULT_TOKEN_FILE_VARIABLE = "POETRY_ADO_DEFAULT_TOKEN_FILE"  # noqa: S105 (a name, not a secret)
MAX_TOKEN_FILE = 64 * 1024


@dataclass(frozen=True)
class Token:
    """A token and where it came from. ``secret`` never appears in repr or str."""

    secret: str = field(repr=False)
    username: str
    origin: str
    expires_on: int | None = None
    tenant: str | None = None
    # The Entra identity that can mint the next one ("azure-cli", "azure-identity"), if any.
    identity: str | None = None
    # A session token's scope; None for any other token (an Entra token kept as it is, too).
    scope: str | None = None
    valid_for: int | None = None

    def __str__(self) -> str:
        return f"<token from {self.origin}>"

    @property
    def refreshable(self) -> bool:
        return self.identity is not None and self.expires_on is not None


@dataclass(frozen=True)
class TokenRequest:
    """What the user asked for on the command line."""

    pat_stdin: bool = False
    azure_cli: bool = False
    tenant: str | None = None
    username: str | None = None
    azure_identity: bool = False
    token_file: str | None = None
    # Session tokens: the write scope, their lifetime, or no exchange at all.
    write: bool = False
    valid_for: int | None = None
    session_token: bool = True
    # A terminal is there: azure-identity may open a browser or show a device code.
    interactive: bool = False

    @property
    def identity(self) -> str | None:
        if self.azure_cli:
            return "azure-cli"
        if self.azure_identity:
            return "azure-identity"
        return None

    def check(self) -> None:
        chosen = [
            name
            for name, given in (
                ("--pat-stdin", self.pat_stdin),
                ("--token-file", self.token_file is not None),
                ("--azure-cli", self.azure_cli),
                ("--azure-identity", self.azure_identity),
            )
            if given
        ]
        if len(chosen) > 1:
            listed = " or ".join(chosen) if len(chosen) == 2 else ", ".join(chosen)
            raise UsageError(f"give either {listed}, not several: each is a token source")
        if self.tenant and self.identity is None:
            raise UsageError(
                "--tenant only applies to --azure-cli or --azure-identity: add one of them"
            )
        for flag, given in (
            ("--write", self.write),
            ("--valid-for", self.valid_for is not None),
            ("--no-session-token", not self.session_token),
        ):
            if given and self.identity is None:
                raise UsageError(
                    f"{flag} only applies to the Entra ID sources: add --azure-cli or "
                    "--azure-identity"
                )
        if not self.session_token and (self.write or self.valid_for is not None):
            raise UsageError(
                "--write and --valid-for shape the session token, which --no-session-token "
                "turns off: give one or the other"
            )
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
    name: str = "",
) -> Token:
    """The token for ``feed`` from the first source that applies (see the module docstring).

    ``prompt`` is None when prompting is not allowed (``-n``, or ``poetry ado env``); ``name``
    is the source's, for the session token's display name."""
    request.check()
    explicit_user = request.username.strip() if request.username else None

    if request.pat_stdin:
        line = read_stdin_line() if read_stdin_line is not None else ""
        secret = clean_token(line, "standard input (--pat-stdin)")
        return Token(secret, explicit_user or DEFAULT_USERNAME, "standard input")

    if request.token_file is not None:
        secret = read_token_file(request.token_file, "--token-file")
        return Token(secret, explicit_user or DEFAULT_USERNAME, "the file given to --token-file")

    if request.identity is not None:
        return _entra_token(feed, request, request.identity, explicit_user, name)

    found = _environment_token(feed, environ)
    if found is not None:
        return found if explicit_user is None else _with_username(found, explicit_user)

    if prompt is not None:
        entered = prompt()
        secret = clean_token(entered or "", "the prompt")
        return Token(secret, explicit_user or DEFAULT_USERNAME, "the prompt")

    raise CredentialError(
        "no token found: pipe one with --pat-stdin, give --token-file, use --azure-cli (after "
        "`az login`) or --azure-identity, or set "
        f"{PAT_VARIABLE}, {PIPELINES_VARIABLE} (Azure Pipelines), an entry for this feed in "
        f"{' or '.join(ENDPOINT_VARIABLES)}, {NUGET_TOKEN_VARIABLE}, {TOKEN_FILE_VARIABLE}, or "
        f"mount {DEFAULT_TOKEN_FILE}{prompt_unavailable_hint}"
    )


def _entra_token(
    feed: Feed, request: TokenRequest, identity: str, explicit_user: str | None, name: str
) -> Token:
    from poetry_ado_plugin.session_tokens import DEFAULT_VALID_FOR
    from poetry_ado_plugin.session_tokens import IDENTITY_NAMES
    from poetry_ado_plugin.session_tokens import SESSION_USERNAME
    from poetry_ado_plugin.session_tokens import mint
    from poetry_ado_plugin.session_tokens import scope_for

    valid_for = request.valid_for or DEFAULT_VALID_FOR
    minted = mint(
        feed,
        identity,
        name=name or feed.name,
        tenant=request.tenant,
        scope=scope_for(write=request.write),
        valid_for=valid_for,
        session_token=request.session_token,
        interactive=request.interactive,
    )
    origin = IDENTITY_NAMES[identity]
    secret = clean_token(minted.secret, origin)
    if minted.scope is None:
        return Token(
            secret,
            explicit_user or DEFAULT_USERNAME,
            origin,
            expires_on=minted.expires_on,
            tenant=minted.tenant,
            identity=identity,
        )
    return Token(
        secret,
        explicit_user or SESSION_USERNAME,
        f"{origin} (a {minted.scope} session token)",
        expires_on=minted.expires_on,
        tenant=minted.tenant,
        identity=identity,
        scope=minted.scope,
        valid_for=valid_for,
    )


def _environment_token(feed: Feed, environ: Mapping[str, str]) -> Token | None:
    """Sources 5 to 12 of the module docstring: what the environment holds for ``feed``."""
    path = environ.get(TOKEN_FILE_VARIABLE, "")
    if path.strip():
        secret = read_token_file(path.strip(), TOKEN_FILE_VARIABLE)
        return Token(secret, DEFAULT_USERNAME, f"the file named by {TOKEN_FILE_VARIABLE}")

    for variable in (PAT_VARIABLE, PIPELINES_VARIABLE):
        value = environ.get(variable, "")
        if value.strip():
            return Token(clean_token(value, variable), DEFAULT_USERNAME, variable)

    found = find_endpoint_credential(feed, environ)
    if found is None:
        found = find_nuget_token(feed, environ)
    if found is None:
        found = find_pip_credential(feed, environ)
    if found is None:
        found = find_pypirc_credential(feed, environ)
    if found is not None:
        return found

    default = environ.get(DEFAULT_TOKEN_FILE_VARIABLE) or DEFAULT_TOKEN_FILE
    if Path(default).is_file():
        secret = read_token_file(default, default)
        return Token(secret, DEFAULT_USERNAME, f"the secret file {default}")
    return None


def read_token_file(path: str, origin: str) -> str:
    """The token in the file at ``path`` (surrounding whitespace dropped)."""
    file = Path(path).expanduser()
    try:
        with file.open("rb") as stream:
            data = stream.read(MAX_TOKEN_FILE + 1)
    except FileNotFoundError:
        raise CredentialError(
            f"the token file {file} (from {origin}) does not exist: check the path, or the "
            "secret mount (`--mount=type=secret,id=...,target=...`)"
        ) from None
    except OSError as error:
        raise CredentialError(
            f"could not read the token file {file} (from {origin}): "
            f"{error.strerror or type(error).__name__}"
        ) from None
    if len(data) > MAX_TOKEN_FILE:
        raise CredentialError(
            f"the token file {file} (from {origin}) is over {MAX_TOKEN_FILE // 1024} KiB: it "
            "should hold one token"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CredentialError(
            f"the token file {file} (from {origin}) is not text: it should hold one token"
        ) from None
    return clean_token(text, f"the token file {file}")


def _with_username(token: Token, username: str) -> Token:
    return Token(token.secret, username, token.origin, token.expires_on, token.tenant)


def find_nuget_token(feed: Feed, environ: Mapping[str, str]) -> Token | None:
    """``VSS_NUGET_ACCESSTOKEN`` (the Azure Artifacts credential provider's variable), when
    ``VSS_NUGET_URI_PREFIXES`` (';'-separated URL prefixes) covers the feed, or is unset."""
    value = environ.get(NUGET_TOKEN_VARIABLE, "")
    if not value.strip():
        return None
    prefixes = [p for p in environ.get(NUGET_PREFIXES_VARIABLE, "").replace(";", " ").split()]
    if prefixes:
        urls = (feed.without_view().index_url.casefold(), feed.upload_url.casefold())
        if not any(url.startswith(prefix.casefold()) for prefix in prefixes for url in urls):
            return None
    return Token(clean_token(value, NUGET_TOKEN_VARIABLE), DEFAULT_USERNAME, NUGET_TOKEN_VARIABLE)


def _feed_of(url: str) -> Feed | None:
    from poetry_ado_plugin.feed import Feed

    feed = Feed.parse_or_none(url)
    return None if feed is None else feed.without_view()


def find_pip_credential(feed: Feed, environ: Mapping[str, str]) -> Token | None:
    """The credential PipAuthenticate embeds in ``PIP_INDEX_URL``/``PIP_EXTRA_INDEX_URL``
    (space-separated ``https://build:<token>@.../pypi/simple/`` URLs) for this feed."""
    from urllib.parse import unquote
    from urllib.parse import urlsplit
    from urllib.parse import urlunsplit

    wanted = feed.without_view()
    for variable in PIP_VARIABLES:
        for url in environ.get(variable, "").split():
            try:
                parts = urlsplit(url)
                host = parts.hostname
                port = parts.port
            except ValueError:
                continue
            if not host or "@" not in parts.netloc:
                continue
            netloc = host if port is None else f"{host}:{port}"
            bare = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
            candidate = _feed_of(bare)
            if candidate is None or not candidate.is_same_feed(wanted):
                continue
            user, password = unquote(parts.username or ""), unquote(parts.password or "")
            secret = password or user
            if not secret.strip():
                continue
            username = clean_username(user, variable) if password and user.strip() else None
            return Token(
                clean_token(secret, variable),
                username or DEFAULT_USERNAME,
                f"{variable} (PipAuthenticate)",
            )
    return None


def find_pypirc_credential(feed: Feed, environ: Mapping[str, str]) -> Token | None:
    """The section of the ``.pypirc`` at ``PYPIRC_PATH`` (TwineAuthenticate) whose
    ``repository`` is this feed."""
    import configparser

    path = environ.get(PYPIRC_VARIABLE, "").strip()
    if not path:
        return None
    parser = configparser.RawConfigParser()
    try:
        with Path(path).expanduser().open(encoding="utf-8") as stream:
            parser.read_file(stream)
    except OSError as error:
        raise CredentialError(
            f"could not read the .pypirc named by {PYPIRC_VARIABLE} ({path}): "
            f"{error.strerror or type(error).__name__}"
        ) from None
    except (configparser.Error, UnicodeDecodeError):
        # The file holds passwords: say where it is broken, never what it contains.
        raise CredentialError(
            f"the .pypirc named by {PYPIRC_VARIABLE} ({path}) is not a valid INI file"
        ) from None
    wanted = feed.without_view()
    for section in parser.sections():
        repository = parser.get(section, "repository", fallback="").strip()
        candidate = _feed_of(repository) if repository else None
        if candidate is None or not candidate.is_same_feed(wanted):
            continue
        password = parser.get(section, "password", fallback="").strip()
        if not password:
            continue
        user = parser.get(section, "username", fallback="").strip()
        origin = f"{PYPIRC_VARIABLE} (TwineAuthenticate, section [{section}])"
        return Token(
            clean_token(password, origin),
            clean_username(user, origin) if user else DEFAULT_USERNAME,
            origin,
        )
    return None


def find_endpoint_credential(feed: Feed, environ: Mapping[str, str]) -> Token | None:
    """The entry of the endpoint-credentials JSON whose endpoint is this feed (any view)."""
    from poetry_ado_plugin.feed import Feed

    for variable in ENDPOINT_VARIABLES:
        raw = environ.get(variable, "")
        if not raw.strip():
            continue
        for entry in _endpoint_entries(raw, variable):
            endpoint = entry.get("endpoint")
            password = entry.get("password")
            if not isinstance(endpoint, str) or not isinstance(password, str):
                continue
            candidate = Feed.parse_or_none(endpoint)
            if candidate is None or not candidate.is_same_feed_ignoring_view(feed):
                continue
            if not password.strip():
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


def resolve_target(name: str | None, pyproject: Path | None, command: str) -> AzureSource:
    """The feed a credential for ``name`` is stored under (the project's single Azure feed
    source when None).

    Inside a project the sources in pyproject.toml decide; a name that is no source there, or
    a command outside a project, takes the feed from Poetry's ``repositories.<name>.url`` (an
    upload URL)."""
    from poetry_ado_plugin.pyproject import PyprojectDocument
    from poetry_ado_plugin.sources import named_azure_source
    from poetry_ado_plugin.sources import select_azure_source

    if name is None:
        if pyproject is None:
            raise UsageError(
                f"no pyproject.toml here: name the feed's repository, `poetry ado {command} "
                "NAME`, or run the command in your project's directory (or with -C)"
            )
        sources = PyprojectDocument.read(pyproject).sources()
        return select_azure_source(sources, None, command=f"poetry ado {command}")
    if pyproject is not None:
        # The credential takes the file's spelling of the name: Poetry looks it up by that.
        found = named_azure_source(PyprojectDocument.read(pyproject).sources(), name)
        if found is not None:
            return found
    return _configured_repository(name, in_project=pyproject is not None)


def _configured_repository(name: str, *, in_project: bool) -> AzureSource:
    from poetry_ado_plugin.feed import parse_feed_url
    from poetry_ado_plugin.poetry_config import get_repository_url
    from poetry_ado_plugin.sources import AzureSource

    url = get_repository_url(name)
    if url is None:
        where = "neither a source in pyproject.toml nor" if in_project else "not"
        raise UsageError(
            f"'{name}' is {where} a repository in Poetry's config: add the feed with "
            f"`poetry ado add-feed <feed URL> --name {name}` first"
        )
    try:
        feed = parse_feed_url(url).feed
    except FeedUrlError as error:
        # The parser's reason says what to fix in the setting.
        raise UsageError(
            f"repositories.{name}.url in Poetry's config is not an Azure Artifacts feed URL "
            f"({error}); fix it with `poetry ado add-feed`"
        ) from None
    return AzureSource(name, url, feed.without_view())


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
