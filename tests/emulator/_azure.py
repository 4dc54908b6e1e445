"""What Azure DevOps answers: error bodies, reason phrases, challenges, sign-in and blob errors.

The wording and the evidence behind each answer are in docs/azure-artifacts.md. Builders whose
text or status nobody has seen from the real service say "emulator's choice" in their docstring.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import quote


JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"
# The project page is served without a charset parameter.
PAGE_HTML = "text/html"
TEXT = "text/plain"
XML = "application/xml"

# Realm and authorization URI as pkgs.dev.azure.com sends them; the scale unit varies.
BASIC_REALM = "https://pkgsprodeus21.pkgs.visualstudio.com/"
LOGIN_AUTHORITY = "https://login.microsoftonline.com"
SIGN_IN_HOST = "https://app.vssps.visualstudio.com"
ROOT_BODY = b"This functionality is currently not available."
REASON_LIMIT = 512

Headers = list[tuple[str, str]]

_FEED_API = "Microsoft.VisualStudio.Services.Feed.WebApi"
_PYPI_API = "Microsoft.VisualStudio.Services.PyPi.WebApi"
_FRAMEWORK = "Microsoft.TeamFoundation.Framework.Server"


@dataclass(frozen=True)
class AzureError:
    """One API error: HTTP status, message and the .NET exception Azure names in its body."""

    status: int
    message: str
    type_key: str
    assembly: str = _FEED_API
    extra_headers: tuple[tuple[str, str], ...] = ()
    # Azure puts the message into the reason phrase of its feed errors; not into 401s.
    message_in_reason: bool = True
    empty_body: bool = False

    @property
    def type_name(self) -> str:
        return f"{self.assembly}.{self.type_key}, {self.assembly}"

    def body(self) -> bytes:
        """Azure's JSON error document (`$id`, `innerException`, `message`, ...)."""
        if self.empty_body:
            return b""
        document = {
            "$id": "1",
            "innerException": None,
            "message": self.message,
            "typeName": self.type_name,
            "typeKey": self.type_key,
            "errorCode": 0,
            "eventId": 3000,
        }
        return json.dumps(document, separators=(",", ":")).encode("utf-8")

    def status_line(self, activity_id: str) -> str:
        """`404 Not Found - {message} (DevOps Activity ID: {id})`, cut at 512 characters."""
        phrase = HTTPStatus(self.status).phrase
        if self.message_in_reason:
            phrase = reason_phrase(phrase, self.message, activity_id)
        return f"{self.status} {phrase}"


def reason_phrase(phrase: str, message: str, activity_id: str) -> str:
    text = f"{phrase} - {message} (DevOps Activity ID: {activity_id.upper()})"
    # A reason phrase is latin-1 on the wire and one line.
    text = " ".join(text.split()).encode("latin-1", "replace").decode("latin-1")
    return text[:REASON_LIMIT]


# -- authentication ---------------------------------------------------------------------------


def anonymous() -> AzureError:
    """401 for a request without usable credentials that asked for no sign-in redirect."""
    return AzureError(
        401,
        "TF400813: Resource not available for anonymous access. Client authentication required.",
        "UnauthorizedRequestException",
        _FRAMEWORK,
        message_in_reason=False,
    )


def unknown_token() -> AzureError:
    """401 with an empty body: a well-formed PAT or JWT that does not validate."""
    return AzureError(401, "", "", _FRAMEWORK, message_in_reason=False, empty_body=True)


def token_expired() -> AzureError:
    """401 for an expired PAT. The type key is the emulator's choice."""
    return AzureError(
        401,
        "Access Denied: The Personal Access Token used has expired.",
        "UnauthorizedRequestException",
        _FRAMEWORK,
        message_in_reason=False,
    )


def not_authorized(user_id: str) -> AzureError:
    """401 TF400813 naming the identity's GUID: a valid token without the Packaging scope.

    Which situation gives this text is the emulator's choice; that it names the GUID and not
    the Basic user name is known.
    """
    return AzureError(
        401,
        f"TF400813: The user '{user_id}' is not authorized to access this resource.",
        "UnauthorizedRequestException",
        _FRAMEWORK,
        message_in_reason=False,
    )


def insufficient_scope(needed: str) -> AzureError:
    """403 for a session token whose scope does not cover the action (emulator's wording)."""
    return AzureError(
        403,
        f"The token's scope does not allow this action: it needs '{needed}'.",
        "InsufficientScopeException",
        _FRAMEWORK,
    )


def session_token_refused(status: int, message: str) -> AzureError:
    """An error of the session-token endpoint (emulator's wording and type key)."""
    return AzureError(status, message, "SessionTokenException", _FRAMEWORK)


def lacks_permission(user_id: str, permission: str) -> AzureError:
    """403: a valid identity without the feed role (`ReadPackages`, `AddPackage`, ...)."""
    return AzureError(
        403,
        f"User '{user_id}' lacks permission to complete this action. "
        f"You need to have '{permission}'.",
        "FeedNeedsPermissionsException",
    )


def hosted_challenges(tenant_id: str, *, federated: bool = True) -> Headers:
    """The `WWW-Authenticate` challenges pkgs.dev.azure.com sends with a 401."""
    challenges = [
        ("WWW-Authenticate", f"Bearer authorization_uri={LOGIN_AUTHORITY}/{tenant_id}"),
        ("WWW-Authenticate", f'Basic realm="{BASIC_REALM}"'),
    ]
    if federated:
        challenges.append(("WWW-Authenticate", "TFS-Federated"))
    return challenges


def server_challenges(base_url: str) -> Headers:
    """Azure DevOps Server's challenges (emulator's choice: Windows auth plus Basic for PATs)."""
    return [
        ("WWW-Authenticate", "Negotiate"),
        ("WWW-Authenticate", "NTLM"),
        ("WWW-Authenticate", f'Basic realm="{base_url}/"'),
    ]


def sign_in_url(realm: str, reply_to: str) -> str:
    """Where the anonymous redirect points (`*.vssps.visualstudio.com/_signin?realm=...`)."""
    return (
        f"{SIGN_IN_HOST}/_signin?realm={quote(realm, safe='')}"
        f"&reply_to={quote(reply_to, safe='')}&redirect=1"
    )


# Where hosted Azure sends clients to exchange an Entra token for a session token. `{base}` is
# the emulator's own URL and `{org}` the organization of the request (empty when unknown).
AUTHORIZATION_ENDPOINT = "https://vssps.dev.azure.com/{org}/"


def authorization_endpoint(template: str, base: str, organization: str | None) -> str:
    endpoint = template.replace("{base}", base).replace("{org}", organization or "")
    return endpoint.replace("//", "/").replace(":/", "://", 1)


def vss_headers(
    tenant_id: str,
    organization: str | None,
    activity_id: str,
    *,
    hosted: bool,
    endpoint: str = "https://vssps.dev.azure.com/",
) -> Headers:
    """The `X-VSS-*` headers by which clients recognise an Azure DevOps response."""
    headers = [
        ("X-VSS-E2EID", activity_id),
        ("ActivityId", activity_id),
        ("X-TFS-Session", activity_id),
    ]
    if hosted:
        headers += [
            ("X-VSS-ResourceTenant", tenant_id),
            ("X-VSS-AuthorizationEndpoint", endpoint),
        ]
    return headers


def sign_in_page(target: str) -> bytes:
    """The HTML page some clients get with 203 from the sign-in front end (opt-in)."""
    link = html.escape(target)
    page = f"""<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="utf-8">
<title>Azure DevOps Services | Sign In</title>
</head>
<body>
<div class="signin-page">
<h1>Azure DevOps</h1>
<p>Sign in to continue to Azure DevOps.</p>
<a id="signin" href="{link}">Sign in</a>
</div>
</body>
</html>
"""
    return page.encode("utf-8")


# -- routing and index pages ------------------------------------------------------------------


def feed_not_found(feed: str) -> AzureError:
    return AzureError(404, f"The feed with ID '{feed}' doesn't exist.", "FeedIdNotFoundException")


def view_not_found(view: str) -> AzureError:
    return AzureError(
        404, f"The feed view with name '{view}' doesn't exist.", "FeedViewNotFoundException"
    )


def package_not_found(name: str, feed: str) -> AzureError:
    return AzureError(
        404,
        f"Cannot find the package '{name}' in feed '{feed}'",
        "PackageNotFoundException",
    )


def file_not_found(filename: str, name: str, version: str, feed: str) -> AzureError:
    """404 for a download of a file the feed does not have (emulator's wording)."""
    return AzureError(
        404,
        f"Cannot find the file '{filename}' of package '{name} {version}' in feed '{feed}'",
        "PackageNotFoundException",
    )


def resource_not_found(path: str) -> AzureError:
    """404 for a path that is no feed endpoint at all (emulator's wording)."""
    return AzureError(
        404,
        f"The requested resource '{path}' was not found.",
        "ResourceNotFoundException",
        _FRAMEWORK,
    )


def method_not_allowed(method: str, allow: str) -> AzureError:
    """405, as ASP.NET words it; e.g. an upload posted to /simple/ or a HEAD of a page."""
    return AzureError(
        405,
        f"The requested resource does not support http method '{method}'.",
        "HttpMethodNotAllowedException",
        _FRAMEWORK,
        extra_headers=(("Allow", allow),),
    )


# -- uploads ----------------------------------------------------------------------------------


def view_is_read_only(feed_and_view: str) -> AzureError:
    return AzureError(
        405,
        f"Cannot perform the requested operation because the feed '{feed_and_view}' is read-only.",
        "ReadOnlyViewOperationException",
    )


def file_exists(feed: str, filename: str, name: str, version: str) -> AzureError:
    return AzureError(
        409,
        f"The feed '{feed}' already contains file '{filename}' in package '{name} {version}'.",
        "PackageAlreadyExistsException",
    )


def version_deleted(name: str, version: str) -> AzureError:
    return AzureError(
        409,
        f"The version {version} of {name} has been deleted. It cannot be restored or pushed.",
        "PackageExistsAsDeletedException",
    )


def exists_upstream(name: str, version: str) -> AzureError:
    """409 for a version an upstream source has. The type key is the emulator's choice."""
    return AzureError(
        409,
        f"'{name} {version}' cannot be published to the feed because it exists in at least "
        "one of the feed's upstream sources. Publish a different version, or remove the "
        "version from the upstream source.",
        "PackageExistsInUpstreamException",
    )


def bad_upload(message: str) -> AzureError:
    return AzureError(400, message, "InvalidPackageException", _PYPI_API)


def too_large(limit: int) -> AzureError:
    return bad_upload(f"File is too large to publish. The size limit is {limit}.")


def upstream_failed(source: str, detail: str) -> AzureError:
    """502 when the upstream cannot be read. The rest of the message is the emulator's choice."""
    return AzureError(
        502,
        f"Failed to retrieve data from the upstream package source '{source}': {detail}",
        "UpstreamFailureException",
    )


def fault(status: int) -> AzureError:
    """The body of an injected server fault."""
    messages = {
        429: "Request was blocked due to exceeding usage of resource 'Packaging' (emulated fault).",
        500: "An unexpected error occurred while processing the request (emulated fault).",
        502: "Bad gateway (emulated fault).",
        503: "The service is temporarily unavailable (emulated fault). Try again later.",
        504: "The gateway timed out (emulated fault).",
    }
    message = messages.get(status, f"Emulated fault with status {status}.")
    return AzureError(status, message, "EmulatedFaultException", _FRAMEWORK)


# -- blob storage -----------------------------------------------------------------------------


def blob_error(code: str, message: str) -> bytes:
    """Azure Storage's XML error document."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f"<Error><Code>{html.escape(code)}</Code><Message>{html.escape(message)}</Message></Error>"
    ).encode()
