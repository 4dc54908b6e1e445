"""The REST API the plugin calls: connectionData, the feed, its views, its packages, one PyPI
version (GET, and PATCH to promote it into a view) and a package's upstream setting.

Paths are `[/{prefix}]/{org or collection}[/{project}]/_apis/...`: everything on the feed host,
as on Azure DevOps Server (hosted Azure splits them over feeds., pkgs. and dev.azure.com; the
plugin maps those hosts itself). Lists come as `{"count": n, "value": [...]}`. The shapes and
the evidence for each answer are in tests/emulator/README.md.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import parse_qs

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion
from packaging.version import Version

from tests.emulator import _azure
from tests.emulator._server import respond
from tests.emulator.feed import LOCAL_VIEW
from tests.emulator.feed import same_version


if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse

    from tests.emulator.feed import EmulatedFeed
    from tests.emulator.feed import VersionRecord
    from tests.emulator.records import TokenGrant


UPSTREAMING_VALUES = ("auto", "allowExternalVersions")
_NAMESPACE = uuid.UUID("0b6f3c52-9d0e-4a37-8f0e-2c8a3e6d9b41")
# Not Azure's permission names, which nobody has seen for these two answers (emulator's choice).
PROMOTE_PERMISSION = "UpdatePackage"
UPSTREAMING_PERMISSION = "AdministerFeed"

Fail = Callable[[_azure.AzureError], Iterable[bytes]]


class Request:
    """What a REST handler needs of one request."""

    def __init__(
        self,
        method: str,
        query: str,
        body: bytes,
        grant: TokenGrant,
        start_response: StartResponse,
        fail: Fail,
    ) -> None:
        self.method = method
        self.query = {k.casefold(): v[-1] for k, v in parse_qs(query).items()}
        self.body = body
        self.grant = grant
        self.start_response = start_response
        self.fail = fail

    def json(self, document: Any, status: str = "200 OK") -> Iterable[bytes]:
        data = json.dumps(document, separators=(",", ":")).encode("utf-8")
        return respond(self.start_response, status, _azure.JSON, data)

    def empty(self, status: str = "202 Accepted") -> Iterable[bytes]:
        self.start_response(status, [("Content-Length", "0")])
        return [b""]


def guid(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(p.casefold() for p in parts)))


def iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + "Z"


def api_version_missing() -> _azure.AzureError:
    """400 without `api-version` (emulator's wording)."""
    return _azure.AzureError(
        400,
        'No api-version was supplied for the "GET" request. An api-version must be supplied.',
        "VssVersionNotSpecifiedException",
        "Microsoft.VisualStudio.Services.WebApi",
    )


def version_not_found(name: str, version: str, feed: str) -> _azure.AzureError:
    """404 for a version the feed does not hold (emulator's wording)."""
    return _azure.AzureError(
        404,
        f"Cannot find the package '{name}' with version '{version}' in feed '{feed}'",
        "PackageVersionNotFoundException",
    )


def bad_request(message: str) -> _azure.AzureError:
    return _azure.AzureError(400, message, "InvalidRequestException")


# --------------------------------------------------------------------------------------------


def connection_data(request: Request) -> Iterable[bytes]:
    if request.method != "GET":
        return request.fail(_azure.method_not_allowed(request.method, "GET"))
    user = {
        "id": request.grant.user_id,
        "descriptor": f"aad.{request.grant.user_id}",
        "subjectDescriptor": f"aad.{request.grant.user_id}",
        "providerDisplayName": request.grant.display_name,
        "isActive": True,
        "properties": {},
    }
    return request.json(
        {
            "authenticatedUser": user,
            "authorizedUser": user,
            "instanceId": guid("instance"),
            "deploymentId": guid("deployment"),
            "deploymentType": "hosted",
            "locationServiceData": {"serviceOwner": guid("service")},
        }
    )


def feed_api(request: Request, feed: EmulatedFeed, rest: list[str]) -> Iterable[bytes] | None:
    """`_apis/packaging/feeds/{feed}/...`; None for a path this module does not serve."""
    head = [p.casefold() for p in rest]
    if not head:
        return _only_get(request) or request.json(_feed_document(feed))
    if head == ["views"]:
        return _only_get(request) or _list(request, [_view(feed, v) for v in feed.views])
    if head == ["packages"]:
        return _only_get(request) or _packages(request, feed)
    if head == ["retentionpolicies"]:
        return _only_get(request) or request.json(_retention(feed))
    if head == ["permissions"]:
        return _only_get(request) or _list(request, _permissions(request, feed))
    if len(rest) == 5 and head[:2] == ["pypi", "packages"] and head[3] == "versions":
        return _version(request, feed, rest[2], rest[4])
    if len(rest) == 4 and head[:2] == ["pypi", "packages"] and head[3] == "upstreaming":
        return _upstreaming(request, feed, rest[2])
    return None


def _only_get(request: Request) -> Iterable[bytes] | None:
    if request.method != "GET":
        return request.fail(_azure.method_not_allowed(request.method, "GET"))
    return None


def _list(request: Request, items: list[dict[str, Any]]) -> Iterable[bytes]:
    return request.json({"count": len(items), "value": items})


def _feed_document(feed: EmulatedFeed) -> dict[str, Any]:
    upstreams = []
    if feed.upstream is not None:
        upstreams.append(
            {
                "id": upstream_source_id(feed),
                "name": "PyPI",
                "protocol": "pypi",
                "location": feed.upstream.url,
                "displayLocation": feed.upstream.url,
                "upstreamSourceType": "public",
                "status": "ok",
            }
        )
    project = (
        {"id": feed.project_id, "name": feed.project, "visibility": "private"}
        if feed.project
        else None
    )
    return {
        "id": feed.feed_id,
        "name": feed.name,
        "project": project,
        "upstreamEnabled": feed.upstream is not None,
        "upstreamSources": upstreams,
        "capabilities": "upstreamV2",
        "isReadOnly": False,
        "hideDeletedPackageVersions": True,
        "defaultViewId": feed.view_id(LOCAL_VIEW) if LOCAL_VIEW in feed.views else None,
        "viewId": None,
        "viewName": None,
    }


def _retention(feed: EmulatedFeed) -> dict[str, Any]:
    return {
        "countLimit": feed.retention_count_limit,
        "daysToKeepRecentlyDownloadedPackages": feed.retention_days_recently_downloaded,
        "ageLimitInDays": None,
    }


# The REST API's names for the feed roles (the emulator's "owner" is Azure's "administrator").
_API_ROLES = {"owner": "administrator"}


def _permissions(request: Request, feed: EmulatedFeed) -> list[dict[str, Any]]:
    """One entry per identity the emulator knows whose role holds on this feed."""
    entries: dict[str, dict[str, Any]] = {}
    for grant in feed.token_grants():
        if grant.feeds is not None and feed not in grant.feeds:
            continue
        entries[grant.user_id] = {
            "role": _API_ROLES.get(grant.role, grant.role),
            "identityId": grant.user_id,
            "identityDescriptor": f"aad.{grant.user_id}",
            "displayName": grant.display_name,
            "isInheritedRole": False,
        }
    return list(entries.values())


def upstream_source_id(feed: EmulatedFeed) -> str:
    return guid(feed.feed_id, "upstream", "pypi")


def _view(feed: EmulatedFeed, view: str) -> dict[str, Any]:
    return {
        "id": feed.view_id(view),
        "name": view,
        "type": "implicit" if view == LOCAL_VIEW else "release",
        "visibility": "collection",
        "url": None,
    }


def _packages(request: Request, feed: EmulatedFeed) -> Iterable[bytes]:
    protocol = request.query.get("protocoltype")
    query = (request.query.get("packagenamequery") or "").casefold()
    include_deleted = request.query.get("includedeleted", "false").casefold() == "true"
    all_versions = request.query.get("includeallversions", "false").casefold() == "true"
    packages = []
    if protocol is None or protocol.casefold() == "pypi":
        for name in feed.package_names():
            if query and query not in name.casefold():
                continue
            records = feed.version_records(name, include_deleted=include_deleted)
            if not records:
                continue
            latest = _latest(records)
            versions = [
                _version_entry(feed, record, record is latest)
                for record in records
                if all_versions or record is latest
            ]
            versions.sort(key=lambda v: _sort_key(v["version"]), reverse=True)
            packages.append(
                {
                    "id": guid(feed.feed_id, name),
                    "name": records[-1].name,
                    "normalizedName": name,
                    "protocolType": "PyPI",
                    "url": None,
                    "versions": versions,
                }
            )
    return _list(request, packages)


def _latest(records: list[VersionRecord]) -> VersionRecord | None:
    alive = [r for r in records if not r.deleted]
    return max(alive, key=lambda r: _sort_key(r.version)) if alive else None


def _version_entry(feed: EmulatedFeed, record: VersionRecord, latest: bool) -> dict[str, Any]:
    return {
        "id": guid(feed.feed_id, str(canonicalize_name(record.name)), _normal(record.version)),
        "version": record.version,
        "normalizedVersion": _normal(record.version),
        "isLatest": latest,
        "isListed": True,
        "isDeleted": record.deleted,
        "publishDate": iso(record.published),
        "views": [
            {"id": feed.view_id(v), "name": v, "type": _view(feed, v)["type"], "url": None}
            for v in record.views
        ],
        "directUpstreamSourceId": upstream_source_id(feed) if record.from_upstream else None,
    }


def _version(request: Request, feed: EmulatedFeed, name: str, version: str) -> Iterable[bytes]:
    records = feed.version_records(name, include_deleted=True)
    record = next((r for r in records if same_version(r.version, version)), None)
    if request.method == "GET":
        if record is None:
            return request.fail(version_not_found(name, version, feed.name))
        return request.json(
            {
                "id": guid(feed.feed_id, str(canonicalize_name(name)), _normal(record.version)),
                "name": record.name,
                "version": record.version,
                "deletedDate": iso(record.published) if record.deleted else None,
                "permanentlyDeletedDate": None,
                "sourceChain": (
                    [{"id": upstream_source_id(feed), "name": "PyPI", "sourceType": "public"}]
                    if record.from_upstream
                    else []
                ),
            }
        )
    if request.method != "PATCH":
        return request.fail(_azure.method_not_allowed(request.method, "GET, PATCH"))
    if not request.grant.write:
        return request.fail(_azure.lacks_permission(request.grant.user_id, PROMOTE_PERMISSION))
    body = _json_body(request)
    views = body.get("views") if isinstance(body, dict) else None
    if not isinstance(views, dict):
        return request.fail(bad_request("The request body must name a view operation."))
    if views.get("op") != "add" or views.get("path") != "/views/-":
        return request.fail(
            bad_request("Only adding a version to a view is supported; views cannot be removed.")
        )
    view = str(views.get("value") or "")
    if feed.view_name(view) is None:
        return request.fail(_azure.view_not_found(view))
    if record is None or record.deleted:
        return request.fail(version_not_found(name, version, feed.name))
    feed.promote(record.name, record.version, view)
    return request.empty()


def _upstreaming(request: Request, feed: EmulatedFeed, name: str) -> Iterable[bytes]:
    if request.method == "GET":
        value = "allowExternalVersions" if feed.allows_external_versions(name) else "auto"
        return request.json({"versionsFromExternalUpstreams": value})
    if request.method != "PATCH":
        return request.fail(_azure.method_not_allowed(request.method, "GET, PATCH"))
    if request.grant.role != "owner":
        return request.fail(_azure.lacks_permission(request.grant.user_id, UPSTREAMING_PERMISSION))
    body = _json_body(request)
    wanted = body.get("versionsFromExternalUpstreams") if isinstance(body, dict) else None
    if wanted not in UPSTREAMING_VALUES:
        return request.fail(
            bad_request("versionsFromExternalUpstreams must be 'auto' or 'allowExternalVersions'.")
        )
    feed.allow_external_versions(name, wanted == "allowExternalVersions")
    return request.json({"versionsFromExternalUpstreams": wanted})


def _json_body(request: Request) -> Any:
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


def _normal(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def _sort_key(version: str) -> tuple[int, Version, str]:
    try:
        return (0, Version(version), "")
    except InvalidVersion:
        return (1, Version("0"), version)
