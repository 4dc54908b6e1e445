"""The Feed value: parse every Azure Artifacts PyPI feed URL form, build the index and upload URLs,
and check names against Azure's rules.

Pure standard-library logic, imported only when a command runs. Messages are one line naming the
offending part and the fix, and never echo the URL's user-info, so a token pasted inside a URL
cannot leak through an exception.

Decisions the URL forms leave open:

- Query strings and fragments are refused, not ignored: a feed URL never has one, so a '?' or '#'
  means the text was copied from somewhere else (often the web portal), and it may carry a secret.
- Default ports (:443 for https, :80 for http) are dropped from ``Feed.base``; any other port stays.
- http is refused for the Microsoft-hosted hosts (pkgs.dev.azure.com, *.pkgs.visualstudio.com):
  they serve https only, Poetry does not follow the redirect, and a token would travel in clear.
- dev.azure.com and {org}.visualstudio.com are the web portal, not the feed host: refused with a
  pointer to the pkgs. host instead of guessing.
- A literal space in the URL path is accepted and written back as %20.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from dataclasses import replace
from typing import Literal
from urllib.parse import quote
from urllib.parse import unquote
from urllib.parse import urlsplit

from poetry_ado_plugin.errors import FeedUrlError


__all__ = [
    "Feed",
    "ParsedFeedUrl",
    "default_source_name",
    "feed_from_parts",
    "is_feed_url",
    "parse_feed_url",
    "validate_source_name",
]

HOSTED_HOST = "pkgs.dev.azure.com"
LEGACY_HOST_SUFFIX = ".pkgs.visualstudio.com"

_LOOKS_LIKE = "a feed URL looks like https://pkgs.dev.azure.com/{org}/{project}/_packaging/{feed}/pypi/simple/"

# Characters kept literal when encoding a path segment: RFC 3986 sub-delims and ':'. Keeping them
# reproduces a user's on-prem prefix as typed; '@' is left out because it separates feed and view.
# Azure names cannot contain most of these anyway, and a space always becomes %20 (once).
_SAFE_IN_SEGMENT = "!$&'()*+,;=:"

_ORGANIZATION_MAX = 50
_PROJECT_MAX = 64
_FEED_MAX = 64
_ORGANIZATION_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
_PROJECT_FORBIDDEN = frozenset("/:\\~&%;@'\"?<>|#$*}{,+=[]")
_FEED_FORBIDDEN = frozenset('@~;{}\\+=<>|/?:&$*"#[]')
# A percent-escape left after decoding means the URL was encoded twice (%2520 -> %20).
_ESCAPE_RE = re.compile(r"%[0-9A-Fa-f]{2}")
_HOST_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_HOST_RE = re.compile(rf"{_HOST_LABEL}(?:\.{_HOST_LABEL})*")
_SOURCE_NAME_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")

_PUBLIC_INDEX_HOSTS = frozenset(
    {
        "pypi.org",
        "www.pypi.org",
        "test.pypi.org",
        "upload.pypi.org",
        "pypi.python.org",
        "files.pythonhosted.org",
        "test-files.pythonhosted.org",
    }
)
# The segment after /_packaging/{feed}/ names the protocol; these are Azure's other package types.
_OTHER_PROTOCOLS = {
    "npm": "an npm",
    "nuget": "a NuGet",
    "maven": "a Maven",
    "upack": "a Universal Packages",
    "cargo": "a Cargo",
}

_NameKind = Literal["organization", "project", "feed name", "view"]


@dataclass(frozen=True)
class Feed:
    """One Azure Artifacts PyPI feed, optionally seen through a view.

    Names are stored decoded; the URLs encode them. ``base`` and ``path_prefix`` are the user's
    own host and path, so the URLs reproduce them and only the tail is canonical."""

    base: str
    path_prefix: tuple[str, ...]
    organization: str | None
    project: str | None
    name: str
    view: str | None = None

    @property
    def index_url(self) -> str:
        """The URL Poetry installs from (``.../pypi/simple/``), through the view if there is one."""
        feed = self.name if self.view is None else f"{self.name}@{self.view}"
        return f"{self._packaging_url(feed)}/pypi/simple/"

    @property
    def upload_url(self) -> str:
        """The URL Poetry publishes to; views are read only, so it always names the feed itself."""
        return f"{self._packaging_url(self.name)}/pypi/upload/"

    def is_same_feed(self, other: Feed) -> bool:
        """True when both address the same feed and view, ignoring case as Azure does.

        The legacy ``{org}.pkgs.visualstudio.com`` host is the same organization on
        pkgs.dev.azure.com, and http and https reach the same server. Elsewhere the path before
        ``_packaging`` is compared as a whole: how it was split into prefix and project is a
        guess for on-prem hosts, while the URL it makes is what identifies the feed."""
        return (
            self._location() == other._location()
            and self.name.casefold() == other.name.casefold()
            and (self.view or "").casefold() == (other.view or "").casefold()
        )

    def _location(self) -> tuple[str, ...]:
        host = self.base.split("://", 1)[1].casefold()
        if self.is_hosted:
            return ("azure-devops", (self.organization or "").casefold(), *_fold(self._project()))
        return (host, *_fold(self._scope()))

    def _project(self) -> tuple[str, ...]:
        return () if self.project is None else (self.project,)

    @staticmethod
    def parse_or_none(url: str) -> Feed | None:
        """The feed ``url`` names, or None when it is no Azure Artifacts PyPI feed URL."""
        try:
            return parse_feed_url(url).feed
        except FeedUrlError:
            return None

    def is_same_feed_ignoring_view(self, other: Feed) -> bool:
        return self.without_view().is_same_feed(other.without_view())

    @property
    def is_hosted(self) -> bool:
        """On Microsoft's hosted service (pkgs.dev.azure.com or the legacy
        ``{org}.pkgs.visualstudio.com``), not on an Azure DevOps Server of one's own."""
        host = self.base.split("://", 1)[1].casefold()
        return host == HOSTED_HOST or _is_legacy_host(host)

    def without_view(self) -> Feed:
        return replace(self, view=None)

    def __str__(self) -> str:
        return self.index_url

    def _scope(self) -> tuple[str, ...]:
        return self.path_prefix if self.project is None else (*self.path_prefix, self.project)

    def _packaging_url(self, feed_segment: str) -> str:
        segments = [_encode(segment) for segment in self._scope()]
        segments += ["_packaging", quote(feed_segment, safe=_SAFE_IN_SEGMENT + "@")]
        return f"{self.base}/{'/'.join(segments)}"


@dataclass(frozen=True)
class ParsedFeedUrl:
    """A parsed feed URL and the credentials that were embedded in it, if any.

    The credentials are kept out of ``repr``/``str`` so that logging this value cannot leak them."""

    feed: Feed
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    @property
    def has_credentials(self) -> bool:
        """True when the URL carried a token (``user:token@`` or ``:token@``).

        The username may still be None: Azure accepts any non-empty one, and the caller picks it."""
        return bool(self.password)

    @property
    def has_userinfo(self) -> bool:
        """True when the URL carried anything before ``@``: a bare ``TOKEN@`` is a token too."""
        return bool(self.password or self.username)


def parse_feed_url(url: str) -> ParsedFeedUrl:
    """Parse any Azure Artifacts PyPI feed URL form (the module docstring and
    docs/azure-artifacts.md list them).

    Accepts index (``/pypi/simple/``), project page (``/pypi/simple/{package}/``), upload
    (``/pypi/upload/``) and bare (``/_packaging/{feed}[/pypi]``) URLs, with or without a trailing
    slash. Raises FeedUrlError with one line saying what is wrong."""
    text = url.strip()
    if not text:
        raise FeedUrlError(f"the feed URL is empty: {_LOOKS_LIKE}")
    split = _split_url(text, what="the feed URL")
    host = split.host

    if host in _PUBLIC_INDEX_HOSTS:
        raise FeedUrlError(
            f"{host} is the public Python Package Index, not an Azure Artifacts feed: {_LOOKS_LIKE}"
        )
    segments = _path_segments(split.path, what="the feed URL")
    lowered = [segment.lower() for segment in segments]
    if "_artifacts" in lowered:
        raise FeedUrlError(
            "this is the feed's web page, not its URL: in Azure DevOps open the feed, choose "
            f"'Connect to feed' and then pip, and copy the URL ending /pypi/simple/ ({_LOOKS_LIKE})"
        )
    _refuse_portal_host(host)
    if "_packaging" not in lowered:
        raise FeedUrlError(
            f"the URL on {host} has no '_packaging' segment, so it is not an Azure Artifacts feed "
            f"URL: {_LOOKS_LIKE}"
        )
    at = lowered.index("_packaging")
    if any("@" in segment for segment in segments[:at]):
        # Most likely user-info whose token contains '/', which cut the host short. The segment
        # is not echoed because it may hold part of that token.
        raise FeedUrlError(
            "the feed URL has '@' in its path before '_packaging': put credentials before the "
            "host (https://user:token@host/...) with any '/' in the token written as %2F, or "
            "better, leave them out of the URL"
        )
    scope = [_decode(segment, what="the feed URL") for segment in segments[:at]]
    feed_name, view = _parse_tail(segments[at + 1 :])

    if host == HOSTED_HOST:
        if split.scheme != "https":
            raise _plain_http(host)
        if not scope:
            raise FeedUrlError(
                f"the feed URL has no organization after {HOSTED_HOST}/: it looks like "
                f"https://{HOSTED_HOST}/{{org}}/[{{project}}/]_packaging/{{feed}}/pypi/simple/"
            )
        if len(scope) > 2:
            raise FeedUrlError(
                f"the feed URL has {len(scope)} path segments before '_packaging', but on "
                f"{HOSTED_HOST} only the organization and an optional project come before it: "
                f"it looks like https://{HOSTED_HOST}/{{org}}/[{{project}}/]_packaging/{{feed}}/"
                "pypi/simple/"
            )
        organization: str | None = scope[0]
        prefix: tuple[str, ...] = (scope[0],)
        project = scope[1] if len(scope) == 2 else None
    elif _is_legacy_host(host):
        if split.scheme != "https":
            raise _plain_http(host)
        organization = _legacy_organization(host)
        if len(scope) > 1:
            raise FeedUrlError(
                f"the feed URL has {len(scope)} path segments before '_packaging', but on {host} "
                f"only an optional project comes before it: it looks like "
                f"https://{host}/[{{project}}/]_packaging/{{feed}}/pypi/simple/"
            )
        prefix = ()
        project = scope[0] if scope else None
    else:
        prefix, organization, project = _split_on_premises_scope(scope)

    fix = "check the feed URL"
    if host == HOSTED_HOST or _is_legacy_host(host):
        # Only these hosts say that the segment is an organization; elsewhere it is a collection
        # or an emulator's path, whose rules we do not know.
        _require_name("organization", organization or "", fix, from_url=True)
    if project is not None:
        _require_name("project", project, fix, from_url=True)
    _require_name("feed name", feed_name, fix, from_url=True)
    if view is not None:
        _require_name("view", view, fix, from_url=True)

    feed = Feed(
        base=split.base,
        path_prefix=prefix,
        organization=organization,
        project=project,
        name=feed_name,
        view=view,
    )
    return ParsedFeedUrl(feed=feed, username=split.username, password=split.password)


def is_feed_url(url: str) -> bool:
    """True when ``parse_feed_url`` accepts the URL."""
    try:
        parse_feed_url(url)
    except FeedUrlError:
        return False
    return True


def feed_from_parts(
    *,
    feed: str,
    organization: str | None = None,
    project: str | None = None,
    server_url: str | None = None,
) -> Feed:
    """Build a Feed from names: Azure DevOps Services by ``organization`` or Azure DevOps Server
    by ``server_url`` (a collection URL kept exactly as given), each with an optional project.

    ``feed`` may be ``name@View``. Names are the decoded names Azure shows, not URL-encoded."""
    if (organization is None) == (server_url is None):
        given = (
            "both --org and --server-url were given"
            if organization is not None
            else "neither --org nor --server-url was given"
        )
        raise FeedUrlError(
            f"{given}: give --org for Azure DevOps Services (dev.azure.com) or --server-url "
            "with the collection URL for Azure DevOps Server"
        )
    feed_name, sep, view_part = feed.partition("@")
    if "@" in view_part:
        raise FeedUrlError(
            f"feed name {_show(feed)} has more than one '@': write the feed as name or "
            "name@View: check the --feed value"
        )
    view = view_part if sep else None
    _require_name("feed name", feed_name, "check the --feed value", from_url=False)
    if view is not None:
        _require_name("view", view, "check the --feed value (name@View)", from_url=False)
    if project is not None:
        _require_name("project", project, "check the --ado-project value", from_url=False)

    if organization is not None:
        _require_name("organization", organization, "check the --org value", from_url=False)
        return Feed(
            base=f"https://{HOSTED_HOST}",
            path_prefix=(organization,),
            organization=organization,
            project=project,
            name=feed_name,
            view=view,
        )

    assert server_url is not None
    prefix, server_organization, base = _parse_server_url(server_url)
    return Feed(
        base=base,
        path_prefix=prefix,
        organization=server_organization,
        project=project,
        name=feed_name,
        view=view,
    )


def default_source_name(feed_name: str) -> str:
    """A Poetry source name derived from a feed name: ``"Team_Feed.Py"`` -> ``"team-feed-py"``.

    Lower-cased, and every character outside a-z, 0-9 and '-' becomes '-'; runs are not
    collapsed, so distinct feeds keep distinct names where possible. Leading and trailing '-' are
    stripped because ``validate_source_name`` refuses them; a name with nothing left becomes
    ``"ado-feed"``. The result passes ``validate_source_name`` except for a feed called PyPI:
    ``pypi`` is Poetry's, and add-feed asks for ``--name`` rather than picking another name."""
    lowered = feed_name.lower()
    name = "".join(c if ("a" <= c <= "z" or "0" <= c <= "9" or c == "-") else "-" for c in lowered)
    return name.strip("-") or "ado-feed"


def validate_source_name(name: str) -> None:
    """Refuse a source name whose credentials could not be given through the environment.

    Poetry reads ``POETRY_HTTP_BASIC_<NAME>_USERNAME`` (NAME upper-cased, '-' turned into '_'), so
    only letters, digits and inner '-' make a shell-safe variable name. Upper-case letters are
    refused too, although that variable would work: Poetry matches source names case-
    insensitively but keys ``repositories.<name>`` and ``http-basic.<name>`` in config.toml
    case-sensitively, and maps ``POETRY_REPOSITORIES_<NAME>_URL`` to a lower-case name, so a
    mixed-case name can split one feed's settings in two."""
    if name.casefold() == "pypi":
        raise FeedUrlError(
            "the source name 'pypi' is reserved by Poetry for PyPI itself: choose another with "
            "--name, e.g. --name pypi-feed"
        )
    if _SOURCE_NAME_RE.fullmatch(name):
        return
    raise FeedUrlError(
        f"source name {_show(name)} cannot be used: Poetry reads its credentials from "
        "POETRY_HTTP_BASIC_<NAME>_USERNAME, so a source name must be lower-case letters, digits "
        f"and '-' (not first or last); try {default_source_name(name)!r}"
    )


# --- URL pieces -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _SplitUrl:
    scheme: str
    host: str
    base: str
    path: str
    username: str | None = field(repr=False)
    password: str | None = field(repr=False)


def _split_url(text: str, *, what: str) -> _SplitUrl:
    # urlsplit silently deletes tabs and newlines, so look before it does. Nothing of the text is
    # echoed in these messages: it may contain a token.
    if any(not c.isprintable() for c in text):
        raise FeedUrlError(f"{what} contains control characters or line breaks: {_LOOKS_LIKE}")
    if "://" not in text:
        raise FeedUrlError(f"{what} has no scheme: start it with https:// ({_LOOKS_LIKE})")
    if "?" in text or "#" in text:
        raise FeedUrlError(
            f"{what} has a query string or fragment ('?...' or '#...'), which a feed URL never "
            f"has: remove it ({_LOOKS_LIKE})"
        )
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise FeedUrlError(
            f"{what} is not a valid URL (check the host and the port): {_LOOKS_LIKE}"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        shown = f" {scheme!r}" if len(scheme) <= 16 else ""
        raise FeedUrlError(f"{what} scheme{shown} is not http or https: {_LOOKS_LIKE}")
    host = parts.hostname or ""
    if not host:
        raise FeedUrlError(f"{what} has no host after {scheme}://: {_LOOKS_LIKE}")
    if ":" in host:
        # Rare, so its import is paid only here.
        import ipaddress

        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise FeedUrlError(f"{what} has an invalid IPv6 host: {_LOOKS_LIKE}") from None
        netloc_host = f"[{host}]"
    elif _HOST_RE.fullmatch(host):
        netloc_host = host
    else:
        raise FeedUrlError(f"{what} has an invalid host {_show(host)}: {_LOOKS_LIKE}")
    default_port = 443 if scheme == "https" else 80
    base = f"{scheme}://{netloc_host}"
    if port is not None and port != default_port:
        base += f":{port}"
    # pip and Azure Pipelines percent-encode user-info; the caller wants the real values.
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return _SplitUrl(scheme, host, base, parts.path, username or None, password or None)


def _path_segments(path: str, *, what: str) -> list[str]:
    """Raw (still encoded) segments, without the trailing slash."""
    stripped = path.rstrip("/")
    if not stripped:
        return []
    segments = stripped.split("/")[1:]
    if any(not segment for segment in segments):
        raise FeedUrlError(f"{what} has an empty path segment ('//'): remove the doubled '/'")
    return segments


def _decode(segment: str, *, what: str) -> str:
    try:
        return unquote(segment, errors="strict")
    except UnicodeDecodeError:
        raise FeedUrlError(
            f"{what} has a percent-escape that is not valid UTF-8 in its path: copy the URL again "
            "from Azure DevOps"
        ) from None


def _encode(segment: str) -> str:
    return quote(segment, safe=_SAFE_IN_SEGMENT)


def _parse_tail(tail: list[str]) -> tuple[str, str | None]:
    """The feed and view from the segments after ``_packaging``; checks the protocol part."""
    if not tail:
        raise FeedUrlError(f"the feed URL ends at '_packaging' without a feed name: {_LOOKS_LIKE}")
    feed_segment = _decode(tail[0], what="the feed URL")
    protocol = [segment.lower() for segment in tail[1:]]
    if protocol and protocol[0] in _OTHER_PROTOCOLS:
        raise FeedUrlError(
            f"this is {_OTHER_PROTOCOLS[protocol[0]]} feed URL; use the feed's PyPI URL ending "
            "/pypi/simple/"
        )
    if protocol and protocol[0] != "pypi":
        raise FeedUrlError(
            f"the feed URL has {_show(_decode(tail[1], what='the feed URL'))} after the feed "
            f"name where 'pypi' belongs: {_LOOKS_LIKE}"
        )
    accepted = (
        len(protocol) <= 1
        or (len(protocol) == 2 and protocol[1] in ("simple", "upload"))
        # A project page, /pypi/simple/{package}/: the feed is the part before it.
        or (len(protocol) == 3 and protocol[1] == "simple")
    )
    if not accepted:
        raise FeedUrlError(
            "the feed URL does not end in /pypi/simple/ (install) or /pypi/upload/ (publish): "
            f"{_LOOKS_LIKE}"
        )
    name, sep, view = feed_segment.partition("@")
    if "@" in view:
        raise FeedUrlError(
            f"feed {_show(feed_segment)} has more than one '@': a feed with a view is written "
            "feed@View, e.g. MyFeed@Release"
        )
    return name, (view if sep else None)


def _split_on_premises_scope(
    scope: list[str],
) -> tuple[tuple[str, ...], str | None, str | None]:
    """(prefix, organization, project) for hosts whose path layout we can only infer.

    A leading 'tfs' is IIS's virtual directory and the collection follows it; otherwise the first
    segment is the collection. One segment after the collection is the project; with more, the
    last is the project and the rest is prefix. index_url rebuilds the same path either way."""
    if len(scope) >= 2 and scope[0].lower() == "tfs":
        collection: str | None = scope[1]
        rest = scope[2:]
        prefix = tuple(scope[:2]) if not rest else tuple(scope[:-1])
        return prefix, collection, (scope[-1] if rest else None)
    if not scope:
        return (), None, None
    if len(scope) == 1:
        return (scope[0],), scope[0], None
    return tuple(scope[:-1]), scope[0], scope[-1]


def _parse_server_url(server_url: str) -> tuple[tuple[str, ...], str | None, str]:
    """(prefix, organization, base) of an Azure DevOps Server collection URL."""
    what = "the --server-url value"
    text = server_url.strip()
    if not text:
        raise FeedUrlError(
            f"{what} is empty: give the collection URL, e.g. https://tfs.example.com/tfs/"
            "DefaultCollection"
        )
    split = _split_url(text, what=what)
    if split.username is not None or split.password is not None:
        raise FeedUrlError(
            f"{what} contains credentials: give the collection URL without user:token@ and "
            "store the token with 'poetry ado login'"
        )
    host = split.host
    if host in _PUBLIC_INDEX_HOSTS:
        raise FeedUrlError(
            f"{what} points at {host}, the public Python Package Index: give the Azure DevOps "
            "Server collection URL, e.g. https://tfs.example.com/tfs/DefaultCollection"
        )
    segments = _path_segments(split.path, what=what)
    if any(segment.lower() in ("_packaging", "_artifacts") for segment in segments):
        raise FeedUrlError(
            f"{what} is a feed URL, not a collection URL: give only the part before the project, "
            "e.g. https://tfs.example.com/tfs/DefaultCollection"
        )
    prefix = tuple(_decode(segment, what=what) for segment in segments)
    if host == "dev.azure.com" or host == HOSTED_HOST:
        if len(prefix) != 1:
            raise FeedUrlError(
                f"{what} on {host} must be https://{HOSTED_HOST}/{{org}}: better, give --org "
                "instead of --server-url for Azure DevOps Services"
            )
        if host == "dev.azure.com":
            raise FeedUrlError(
                f"{what} is the Azure DevOps Services web portal: give --org {prefix[0]} "
                "instead of --server-url"
            )
        if split.scheme != "https":
            raise _plain_http(host)
        _require_name("organization", prefix[0], "check the --server-url value", from_url=False)
        return prefix, prefix[0], split.base
    if _is_legacy_host(host):
        if split.scheme != "https":
            raise _plain_http(host)
        organization = _legacy_organization(host)
        _require_name("organization", organization, "check the --server-url value", from_url=False)
        if prefix:
            raise FeedUrlError(
                f"{what} on {host} must have no path: give https://{host} or use --org instead"
            )
        return (), organization, split.base
    _refuse_portal_host(host)
    if not prefix:
        return (), None, split.base
    if len(prefix) >= 2 and prefix[0].lower() == "tfs":
        return prefix, prefix[1], split.base
    return prefix, prefix[0], split.base


def _legacy_organization(host: str) -> str:
    organization = host[: -len(LEGACY_HOST_SUFFIX)]
    if not organization or "." in organization:
        raise FeedUrlError(
            f"host {_show(host)} is not a feed host: the legacy form is "
            "https://{org}.pkgs.visualstudio.com/[{project}/]_packaging/{feed}/pypi/simple/"
        )
    return organization


def _is_legacy_host(host: str) -> bool:
    # The bare pkgs.visualstudio.com counts too, so that it is refused for lacking an organization.
    return host.endswith(LEGACY_HOST_SUFFIX) or host == LEGACY_HOST_SUFFIX[1:]


def _refuse_portal_host(host: str) -> None:
    if host == "dev.azure.com":
        raise FeedUrlError(
            "dev.azure.com is the Azure DevOps web portal; feeds are served from "
            f"pkgs.dev.azure.com: {_LOOKS_LIKE}"
        )
    if host.endswith(".visualstudio.com") and not _is_legacy_host(host):
        organization = host[: -len(".visualstudio.com")]
        raise FeedUrlError(
            f"{host} is the Azure DevOps web portal; feeds are served from "
            f"{organization}.pkgs.visualstudio.com (or pkgs.dev.azure.com/{organization}): "
            f"{_LOOKS_LIKE}"
        )


def _plain_http(host: str) -> FeedUrlError:
    return FeedUrlError(
        f"{host} serves feeds over https only, and a token must not travel over plain http: "
        "start the URL with https://"
    )


# --- names ------------------------------------------------------------------------------------


def _require_name(kind: _NameKind, value: str, fix: str, *, from_url: bool) -> None:
    found = _name_problem(kind, value, from_url=from_url)
    if found is not None:
        problem, specific_fix = found
        raise FeedUrlError(f"{kind} {_show(value)} {problem}: {specific_fix or fix}")


def _name_problem(kind: _NameKind, value: str, *, from_url: bool) -> tuple[str, str | None] | None:
    """What is wrong with a name by Azure's rules, and a fix when the generic one does not fit."""
    if not value:
        return "is empty", None
    if kind == "organization":
        return _organization_problem(value)
    limit = _PROJECT_MAX if kind == "project" else _FEED_MAX
    if len(value) > limit:
        return f"is {len(value)} characters long; Azure allows at most {limit} in a {kind}", None
    if kind != "project" and any(c.isspace() for c in value):
        return f"contains whitespace, which Azure does not allow in a {kind}", None
    if any(not c.isprintable() for c in value):
        return "contains a control character", None
    if kind == "project" and value != value.strip():
        # Azure trims project names, so no real project starts or ends with a space.
        return "starts or ends with whitespace", None
    escape = _ESCAPE_RE.search(value)
    if escape is not None:
        if from_url:
            return (
                f"looks doubly encoded (it still contains {escape.group()!r} after decoding the "
                "URL)",
                f"percent-encode the {kind} once (a space is %20, not %2520)",
            )
        return (
            f"looks percent-encoded ({escape.group()!r})",
            f"give the {kind} as Azure DevOps shows it, e.g. 'My Project', not 'My%20Project'",
        )
    forbidden = _PROJECT_FORBIDDEN if kind == "project" else _FEED_FORBIDDEN
    for c in value:
        if c in forbidden:
            return f"contains {c!r}, which Azure does not allow in a {kind}", None
    if value.startswith("_"):
        return f"starts with '_', which Azure does not allow in a {kind}", None
    if value.startswith("."):
        return f"starts with '.', which Azure does not allow in a {kind}", None
    if value.endswith("."):
        return f"ends with '.', which Azure does not allow in a {kind}", None
    return None


def _organization_problem(value: str) -> tuple[str, str | None] | None:
    if len(value) > _ORGANIZATION_MAX:
        return (
            f"is {len(value)} characters long; Azure allows at most {_ORGANIZATION_MAX} in an "
            "organization name",
            None,
        )
    if _ORGANIZATION_RE.fullmatch(value):
        return None
    for c in value:
        if not (c.isascii() and (c.isalnum() or c == "-")):
            return (
                f"contains {c!r}; an organization name may only contain letters, digits and '-'",
                None,
            )
    return "starts or ends with '-', which Azure does not allow in an organization name", None


def _show(value: str) -> str:
    # repr keeps the message on one line whatever the value holds; long values are cut.
    return repr(value if len(value) <= 80 else value[:77] + "...")


def _fold(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(value.casefold() for value in values)
