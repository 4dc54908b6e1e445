"""What Azure DevOps answers: error bodies, authentication challenges and the sign-in page.

Shapes follow FACTS.md ("Authentication", "Responses worth decoding"). Where Azure's exact text is
unverified the message is marked as the emulator's choice in the docstring of the builder.
"""

from __future__ import annotations

import html
import json
import uuid
from dataclasses import dataclass


JSON = "application/json; charset=utf-8"
HTML = "text/html; charset=utf-8"

# Realm and authorization URI exactly as pkgs.dev.azure.com sends them.
BASIC_REALM = "https://pkgsprodeus21.pkgs.visualstudio.com/"
LOGIN_AUTHORITY = "https://login.microsoftonline.com"

Headers = list[tuple[str, str]]

_FEED_API = "Microsoft.VisualStudio.Services.Feed.WebApi"
_FRAMEWORK = "Microsoft.TeamFoundation.Framework.Server"


@dataclass(frozen=True)
class AzureError:
    """One API error: HTTP status, message and the .NET exception Azure names in its body."""

    status: int
    message: str
    type_key: str
    assembly: str = _FEED_API
    extra_headers: tuple[tuple[str, str], ...] = ()

    @property
    def type_name(self) -> str:
        return f"{self.assembly}.{self.type_key}, {self.assembly}"

    def body(self) -> bytes:
        """Azure's JSON error document (`$id`, `innerException`, `message`, ...)."""
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


def anonymous() -> AzureError:
    """401 without credentials (an empty Basic username counts as none)."""
    return AzureError(
        401,
        "TF400813: Resource not available for anonymous access. Client authentication required.",
        "UnauthorizedRequestException",
        _FRAMEWORK,
    )


def not_authorized(user: str) -> AzureError:
    """401 for a wrong, revoked or expired token when the client sent `X-TFS-FedAuthRedirect`."""
    return AzureError(
        401,
        f"TF400813: The user '{user}' is not authorized to access this resource.",
        "UnauthorizedRequestException",
        _FRAMEWORK,
    )


def lacks_permission(user_id: str, permission: str) -> AzureError:
    """403: a valid identity without the feed role (`ReadPackages` or `AddPackage`)."""
    return AzureError(
        403,
        f"User '{user_id}' lacks permission to complete this action. "
        f"You need to have '{permission}'.",
        "FeedNeedsPermissionsException",
    )


def feed_not_found(feed: str) -> AzureError:
    return AzureError(404, f"The feed with ID '{feed}' doesn't exist.", "FeedIdNotFoundException")


def resource_not_found(path: str) -> AzureError:
    """404 for a path that is no feed endpoint at all (the emulator's wording)."""
    return AzureError(
        404,
        f"The requested resource '{path}' was not found.",
        "ResourceNotFoundException",
        _FRAMEWORK,
    )


def method_not_allowed(method: str, allow: str) -> AzureError:
    """405, as ASP.NET (which Azure DevOps runs on) words it; e.g. an upload posted to /simple/."""
    return AzureError(
        405,
        f"The requested resource does not support http method '{method}'.",
        "HttpMethodNotAllowedException",
        _FRAMEWORK,
        extra_headers=(("Allow", allow),),
    )


def view_is_read_only(feed: str, view: str) -> AzureError:
    """Publishing to `{feed}@{view}`: the emulator's choice is 400 with this message.

    Azure only publishes to the feed itself and promotes versions into views; the exact status
    for a POST to a view URL is unverified. 400 keeps it apart from the 403 of a missing role,
    so a client cannot mistake it for a token problem.
    """
    return AzureError(
        400,
        f"The view '{view}' of feed '{feed}' is read-only: packages cannot be published to a "
        f"view. Publish to the feed '{feed}' itself, then promote the version to the view.",
        "InvalidViewOperationException",
    )


def file_exists(feed: str, filename: str, name: str, version: str) -> AzureError:
    return AzureError(
        409,
        f"The feed '{feed}' already contains file '{filename}' in package '{name} {version}'.",
        "PackageFileExistsException",
    )


def version_deleted(feed: str, name: str, version: str) -> AzureError:
    """409 for a version deleted earlier (the emulator's wording; Azure never reuses versions)."""
    return AzureError(
        409,
        f"The version '{version}' of package '{name}' was deleted from the feed '{feed}' and "
        "cannot be reused: package versions are immutable, even after deletion. "
        "Publish a new version instead.",
        "PackageVersionDeletedException",
    )


def bad_upload(message: str) -> AzureError:
    return AzureError(400, message, "InvalidPackageException")


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


def challenge_headers(tenant_id: str) -> Headers:
    """The three `WWW-Authenticate` challenges pkgs.dev.azure.com sends with a 401."""
    return [
        ("WWW-Authenticate", f"Bearer authorization_uri={LOGIN_AUTHORITY}/{tenant_id}"),
        ("WWW-Authenticate", f'Basic realm="{BASIC_REALM}"'),
        ("WWW-Authenticate", "TFS-Federated"),
    ]


def vss_headers(tenant_id: str, organization: str | None) -> Headers:
    """The `X-VSS-*` headers by which clients recognise an Azure DevOps response."""
    endpoint = (
        f"https://vssps.dev.azure.com/{organization}/"
        if organization
        else "https://vssps.dev.azure.com/"
    )
    e2e = str(uuid.uuid4())
    return [
        ("X-VSS-E2EID", e2e),
        ("ActivityId", e2e),
        ("X-TFS-Session", e2e),
        ("X-VSS-ResourceTenant", tenant_id),
        ("X-VSS-AuthorizationEndpoint", endpoint),
    ]


def sign_in_page(organization: str | None) -> bytes:
    """The HTML page Azure serves with 203 to clients that do not suppress sign-in redirects."""
    target = html.escape(f"https://vssps.dev.azure.com/{organization or ''}/_signin")
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
<a id="signin" href="{target}">Sign in</a>
</div>
</body>
</html>
"""
    return page.encode("utf-8")
