"""The small Azure DevOps REST client: who am I, the feed, its views, its packages and their
versions, promotion into a view, and a package's upstream setting.

Hosts (docs/azure-artifacts.md, "REST API"): on Microsoft's hosted service feed management is
on ``feeds.dev.azure.com/{org}[/{project}]``, PyPI package operations on
``pkgs.dev.azure.com/{org}[/{project}]`` and connectionData on ``dev.azure.com/{org}``. Anywhere
else (Azure DevOps Server) all of it lives under the feed URL's own host and collection path,
``{server}/{collection}[/{project}]/_apis/...``, which is also what the local emulator serves.

Every request sends ``X-TFS-FedAuthRedirect: Suppress`` (a plain 401 instead of a sign-in page),
``api-version=7.1-preview.1``, and Basic (a PAT, or any token as the password) or Bearer (an
Entra token) credentials. Sessions come from ``http.make_session``: deadlines, capped bodies,
and retries on 5xx for GET only (a PATCH is never repeated here). Every failure becomes one line
through ``answers``, the reader login and publish use."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal
from urllib.parse import quote
from urllib.parse import urlencode

from poetry_ado_plugin import answers
from poetry_ado_plugin.errors import FeedResponseError
from poetry_ado_plugin.http import SUPPRESS_SIGN_IN
from poetry_ado_plugin.http import describe_connection_error
from poetry_ado_plugin.http import redact_credentials


if TYPE_CHECKING:
    from types import TracebackType

    import requests
    from poetry.config.config import Config

    from poetry_ado_plugin.feed import Feed
    from poetry_ado_plugin.sources import AzureSource


__all__ = [
    "ALLOW_EXTERNAL",
    "API_VERSION",
    "AUTO",
    "ApiRoots",
    "DevOpsApiError",
    "DevOpsClient",
    "FeedInfo",
    "FeedPackage",
    "FeedPermission",
    "FeedView",
    "Identity",
    "PackageVersion",
    "RetentionPolicy",
    "UpstreamSourceInfo",
    "api_roots",
]

API_VERSION = "7.1-preview.1"
HOSTED_FEEDS_HOST = "feeds.dev.azure.com"
HOSTED_PACKAGES_HOST = "pkgs.dev.azure.com"
HOSTED_PORTAL_HOST = "dev.azure.com"

# The per-package "versions from external upstreams" setting.
AUTO = "auto"
ALLOW_EXTERNAL = "allowExternalVersions"
UPSTREAMING_VALUES = (AUTO, ALLOW_EXTERNAL)

Scheme = Literal["basic", "bearer"]
Action = Literal["inspect", "promote", "protect"]


class DevOpsApiError(FeedResponseError):
    """The REST API answered with an error; ``answer`` is what it meant."""

    def __init__(self, message: str, answer: answers.FeedAnswer) -> None:
        super().__init__(message)
        self.answer = answer


def _segment(text: str) -> str:
    return quote(text, safe="")


@dataclass(frozen=True)
class ApiRoots:
    """The REST roots (``feeds`` and ``packages`` end in ``_apis/packaging``)."""

    feeds: str
    packages: str
    connection_data: str


def api_roots(feed: Feed) -> ApiRoots:
    """The REST roots for ``feed``: Microsoft's three hosts for a hosted feed; the feed URL's own
    host and path prefix (the collection) for anything else."""
    project = f"/{_segment(feed.project)}" if feed.project else ""
    if feed.is_hosted:
        organization = _segment(feed.organization or "")
        return ApiRoots(
            feeds=f"https://{HOSTED_FEEDS_HOST}/{organization}{project}/_apis/packaging",
            packages=f"https://{HOSTED_PACKAGES_HOST}/{organization}{project}/_apis/packaging",
            connection_data=f"https://{HOSTED_PORTAL_HOST}/{organization}/_apis/connectionData",
        )
    collection = "".join(f"/{_segment(part)}" for part in feed.path_prefix)
    root = f"{feed.base}{collection}"
    return ApiRoots(
        feeds=f"{root}{project}/_apis/packaging",
        packages=f"{root}{project}/_apis/packaging",
        connection_data=f"{root}/_apis/connectionData",
    )


def with_api_version(url: str, **query: str) -> str:
    return f"{url}?{urlencode({**query, 'api-version': API_VERSION})}"


# --------------------------------------------------------------------------------------------
# What the answers hold


@dataclass(frozen=True)
class Identity:
    """connectionData's ``authenticatedUser``."""

    display_name: str
    id: str


@dataclass(frozen=True)
class UpstreamSourceInfo:
    id: str
    name: str
    location: str
    protocol: str
    source_type: str


@dataclass(frozen=True)
class FeedInfo:
    id: str
    name: str
    upstream_enabled: bool
    upstream_sources: tuple[UpstreamSourceInfo, ...] = ()

    def upstream_name(self, source_id: str | None) -> str | None:
        if source_id is None:
            return None
        found = next((s for s in self.upstream_sources if s.id == source_id), None)
        return found.name if found is not None else source_id


@dataclass(frozen=True)
class FeedView:
    id: str
    name: str
    type: str
    visibility: str


@dataclass(frozen=True)
class RetentionPolicy:
    """``retentionpolicies``: None means no limit of that kind."""

    count_limit: int | None
    days_to_keep_recently_downloaded: int | None

    @property
    def limited(self) -> bool:
        return self.count_limit is not None


@dataclass(frozen=True)
class FeedPermission:
    """One entry of the feed's ``permissions``: who (``displayName``, ``identityId`` when the
    server names it) has which role (reader, collaborator, contributor, administrator)."""

    display_name: str
    role: str
    identity_id: str | None = None


@dataclass(frozen=True)
class PackageVersion:
    version: str
    normalized_version: str
    is_latest: bool
    is_deleted: bool
    publish_date: str | None
    views: tuple[str, ...]
    upstream_source_id: str | None

    def in_view(self, view: str) -> bool:
        return view.casefold() in (v.casefold() for v in self.views)


@dataclass(frozen=True)
class FeedPackage:
    id: str
    name: str
    normalized_name: str
    versions: tuple[PackageVersion, ...]

    def find(self, version: str) -> PackageVersion | None:
        """The entry of ``version`` (PEP 440 equality: ``1.0`` is ``1.0.0``)."""
        from poetry_ado_plugin.simple_index import same_version

        return next(
            (
                v
                for v in self.versions
                if same_version(v.version, version) or same_version(v.normalized_version, version)
            ),
            None,
        )


# --------------------------------------------------------------------------------------------
# The client


class DevOpsClient:
    """REST calls about one feed, with one credential. Use as a context manager (or ``close``).

    ``source`` and ``source_url`` only word the messages (``poetry ado login SOURCE``)."""

    def __init__(
        self,
        feed: Feed,
        username: str,
        token: str,
        *,
        scheme: Scheme = "basic",
        source: str | None = None,
        source_url: str | None = None,
        verify: bool | str = True,
        cert: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        from poetry_ado_plugin import redact
        from poetry_ado_plugin.http import make_session

        self.feed = feed.without_view()
        self.roots = api_roots(self.feed)
        self.source = source or feed.name
        self.source_url = source_url
        redact.register_secret(token)
        self._owned = session is None
        self._session = session if session is not None else make_session()
        if scheme == "bearer":
            self._session.auth = None
            self._session.headers["Authorization"] = f"Bearer {token}"
        else:
            self._session.auth = (username, token)
        self._session.verify = verify
        self._session.cert = cert

    @classmethod
    def for_source(cls, config: Config, source: AzureSource) -> DevOpsClient:
        """A client for ``source``'s feed with the credential and TLS settings Poetry has for
        it (what ``poetry ado login`` stored)."""
        from poetry_ado_plugin.publishing.target import feed_credentials
        from poetry_ado_plugin.publishing.target import feed_tls

        username, token = feed_credentials(config, source.name)
        verify, cert = feed_tls(config, source.name)
        return cls(
            source.feed,
            username,
            token,
            source=source.name,
            source_url=source.url,
            verify=verify,
            cert=cert,
        )

    def close(self) -> None:
        if self._owned:
            self._session.close()

    def __enter__(self) -> DevOpsClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- URLs -----------------------------------------------------------------------------

    def feed_url(self, *tail: str) -> str:
        """``{feeds}/Feeds/{feed}[/tail...]`` (feed management)."""
        parts = "".join(f"/{_segment(part)}" for part in tail)
        return f"{self.roots.feeds}/Feeds/{_segment(self.feed.name)}{parts}"

    def pypi_url(self, name: str, *tail: str) -> str:
        """``{packages}/feeds/{feed}/pypi/packages/{name}[/tail...]`` (PyPI operations)."""
        parts = "".join(f"/{_segment(part)}" for part in tail)
        return (
            f"{self.roots.packages}/feeds/{_segment(self.feed.name)}/pypi/packages/"
            f"{_segment(name)}{parts}"
        )

    # -- endpoints ------------------------------------------------------------------------

    def connection_data(self) -> Identity:
        """Who the credential is: ``authenticatedUser.providerDisplayName`` and ``.id``."""
        body = self._get_json(with_api_version(self.roots.connection_data), "inspect")
        user = body.get("authenticatedUser") if isinstance(body, dict) else None
        if not isinstance(user, dict):
            raise self._malformed(self.roots.connection_data)
        return Identity(str(user.get("providerDisplayName") or ""), str(user.get("id") or ""))

    def get_feed(self) -> FeedInfo:
        url = with_api_version(f"{self.roots.feeds}/feeds/{_segment(self.feed.name)}")
        body = self._get_json(url, "inspect")
        if not isinstance(body, dict):
            raise self._malformed(url)
        sources = tuple(
            UpstreamSourceInfo(
                id=str(s.get("id") or ""),
                name=str(s.get("name") or ""),
                location=str(s.get("location") or ""),
                protocol=str(s.get("protocol") or ""),
                source_type=str(s.get("upstreamSourceType") or ""),
            )
            for s in body.get("upstreamSources") or []
            if isinstance(s, dict)
        )
        return FeedInfo(
            id=str(body.get("id") or ""),
            name=str(body.get("name") or self.feed.name),
            upstream_enabled=bool(body.get("upstreamEnabled")),
            upstream_sources=sources,
        )

    def views(self) -> tuple[FeedView, ...]:
        url = with_api_version(self.feed_url("views"))
        return tuple(
            FeedView(
                id=str(v.get("id") or ""),
                name=str(v.get("name") or ""),
                type=str(v.get("type") or ""),
                visibility=str(v.get("visibility") or ""),
            )
            for v in self._list(url)
        )

    def retention_policy(self) -> RetentionPolicy:
        """The feed's retention policy (``countLimit``, ``daysToKeep...``)."""
        url = with_api_version(self.feed_url("retentionpolicies"))
        body = self._get_json(url, "inspect")
        if not isinstance(body, dict):
            raise self._malformed(url)
        return RetentionPolicy(
            count_limit=_positive_int(body.get("countLimit")),
            days_to_keep_recently_downloaded=_positive_int(
                body.get("daysToKeepRecentlyDownloadedPackages")
            ),
        )

    def permissions(self) -> tuple[FeedPermission, ...]:
        """Who has which role on the feed."""
        url = with_api_version(self.feed_url("permissions"))
        return tuple(
            FeedPermission(
                display_name=str(p.get("displayName") or ""),
                role=str(p.get("role") or "").casefold(),
                identity_id=str(p["identityId"]) if p.get("identityId") else None,
            )
            for p in self._list(url)
        )

    def package(self, name: str, *, include_deleted: bool = True) -> FeedPackage | None:
        """The feed's package ``name`` with all its versions; None when the feed has none.
        ``packageNameQuery`` is a contains match, so the answer is filtered by normal name."""
        from packaging.utils import canonicalize_name

        wanted = canonicalize_name(name)
        url = with_api_version(
            self.feed_url("packages"),
            protocolType="PyPI",
            packageNameQuery=wanted,
            includeAllVersions="true",
            includeDeleted="true" if include_deleted else "false",
        )
        for entry in self._list(url):
            normal = str(entry.get("normalizedName") or entry.get("name") or "")
            if canonicalize_name(normal) != wanted:
                continue
            versions = tuple(
                _version(v) for v in entry.get("versions") or [] if isinstance(v, dict)
            )
            return FeedPackage(
                id=str(entry.get("id") or ""),
                name=str(entry.get("name") or name),
                normalized_name=normal,
                versions=versions,
            )
        return None

    def pypi_version(self, name: str, version: str) -> dict[str, Any] | None:
        """The PyPI version document, or None when the feed has no such version."""
        url = with_api_version(self.pypi_url(name, "versions", version))
        response = self._send("GET", url)
        answer = answers.read_answer(response)
        if answer.kind in (answers.PACKAGE_NOT_FOUND, answers.NOT_FOUND) and answer.status == 404:
            return None
        if not answer.ok:
            raise self._failure(answer, url, "inspect")
        body = self._decode(response, url)
        if not isinstance(body, dict):
            raise self._malformed(url)
        return body

    def promote(self, name: str, version: str, view: str) -> None:
        """Add ``version`` to ``view`` (needs the Contributor role; it cannot be undone)."""
        url = with_api_version(self.pypi_url(name, "versions", version))
        body = {"views": {"op": "add", "path": "/views/-", "value": view}}
        self._patch(url, body, "promote")

    def upstreaming(self, name: str) -> str:
        """``versionsFromExternalUpstreams`` of ``name`` (it exists before the package does)."""
        url = with_api_version(self.pypi_url(name, "upstreaming"))
        body = self._get_json(url, "inspect")
        value = body.get("versionsFromExternalUpstreams") if isinstance(body, dict) else None
        if not isinstance(value, str):
            raise self._malformed(url)
        return value

    def set_upstreaming(self, name: str, value: str) -> None:
        """Set ``versionsFromExternalUpstreams`` (needs the feed Owner role)."""
        if value not in UPSTREAMING_VALUES:
            raise ValueError(
                f"versionsFromExternalUpstreams is auto or allowExternalVersions, not {value!r}"
            )
        url = with_api_version(self.pypi_url(name, "upstreaming"))
        self._patch(url, {"versionsFromExternalUpstreams": value}, "protect")

    # -- plumbing -------------------------------------------------------------------------

    def _send(self, method: str, url: str, body: Any = None) -> requests.Response:
        import requests

        headers = {**SUPPRESS_SIGN_IN, "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = json.dumps(body).encode("utf-8")
        try:
            return self._session.request(
                method, url, data=data, headers=headers, allow_redirects=False
            )
        except requests.RequestException as error:
            raise FeedResponseError(
                f"could not reach the Azure DevOps REST API of feed {self.feed.name}: "
                f"{describe_connection_error(error, url)}; check the network and try again"
            ) from None

    def _get_json(self, url: str, action: Action) -> Any:
        response = self._send("GET", url)
        answer = answers.read_answer(response)
        if not answer.ok:
            raise self._failure(answer, url, action)
        return self._decode(response, url)

    def _list(self, url: str) -> list[dict[str, Any]]:
        body = self._get_json(url, "inspect")
        value = body.get("value") if isinstance(body, dict) else body
        if not isinstance(value, list):
            raise self._malformed(url)
        return [item for item in value if isinstance(item, dict)]

    def _patch(self, url: str, body: Any, action: Action) -> None:
        response = self._send("PATCH", url, body)
        answer = answers.read_answer(response)
        if not answer.ok:
            raise self._failure(answer, url, action)

    def _decode(self, response: requests.Response, url: str) -> Any:
        try:
            return json.loads(response.content or b"null")
        except ValueError:
            raise self._malformed(url) from None

    def _malformed(self, url: str) -> FeedResponseError:
        shown = redact_credentials(url.split("?", 1)[0])
        return FeedResponseError(
            f"{shown} did not answer with the JSON Azure DevOps sends: is the feed URL right, "
            "and does the server have the REST API (Azure DevOps Server 2019 or newer)?"
        )

    def _failure(self, answer: answers.FeedAnswer, url: str, action: Action) -> DevOpsApiError:
        context = answers.AnswerContext(
            feed=self.feed.name,
            source=self.source,
            url=redact_credentials(url.split("?", 1)[0]),
            source_url=redact_credentials(self.source_url) if self.source_url else None,
        )
        return DevOpsApiError(answers.explain(answer, action, context), answer)


def _positive_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def _version(entry: dict[str, Any]) -> PackageVersion:
    views = tuple(
        str(v.get("name"))
        for v in entry.get("views") or []
        if isinstance(v, dict) and v.get("name")
    )
    upstream = entry.get("directUpstreamSourceId")
    return PackageVersion(
        version=str(entry.get("version") or ""),
        normalized_version=str(entry.get("normalizedVersion") or entry.get("version") or ""),
        is_latest=bool(entry.get("isLatest")),
        is_deleted=bool(entry.get("isDeleted")),
        publish_date=str(entry["publishDate"]) if entry.get("publishDate") else None,
        views=views,
        upstream_source_id=str(upstream) if upstream else None,
    )
