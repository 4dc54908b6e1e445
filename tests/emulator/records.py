"""What the emulator records and whom it lets in: requests, uploads and token grants."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from dataclasses import field
from http import HTTPStatus
from typing import TYPE_CHECKING


if TYPE_CHECKING:
    from tests.emulator.feed import EmulatedFeed


@dataclass(frozen=True)
class UploadInfo:
    """What an upload request carried: the file name and the name/version form fields."""

    filename: str
    name: str
    version: str


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator saw it. `password` is kept for comparisons but never shown."""

    method: str
    path: str  # percent-decoded, e.g. "/contoso/Fabrikam Web/_packaging/..."
    raw_path: (
        str  # as sent, e.g. "/contoso/Fabrikam%20Web/_packaging/..." (compare with feed.path())
    )
    query: str
    status: int | None  # None: the connection was dropped without a response
    username: str | None
    password: str | None = field(repr=False)
    feed: EmulatedFeed | None
    view: str | None
    upload: UploadInfo | None
    fault: str | None  # "fail", "drop" or None
    user_agent: str
    duration: float

    @property
    def password_sent(self) -> bool:
        return bool(self.password)


@dataclass(frozen=True)
class RecordedUpload:
    """One upload attempt to a feed (accepted or not)."""

    feed: EmulatedFeed
    filename: str
    name: str
    version: str
    status: int | None
    username: str | None

    @property
    def accepted(self) -> bool:
        return self.status == HTTPStatus.OK


ROLES: tuple[str, ...] = ("reader", "collaborator", "contributor", "owner")
WRITE_SCOPES = frozenset({"vso.packaging_write", "vso.packaging_manage"})
PACKAGING_SCOPES = frozenset({"vso.packaging"}) | WRITE_SCOPES


@dataclass
class EntraIdentity:
    """An Entra ID access token the session-token endpoint exchanges (the feed itself does not
    accept it: `add_entra_token`). `tenant` is the tenant it was issued in."""

    token: str = field(repr=False)
    tenant: str
    role: str = "contributor"
    user_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    display_name: str = "Emulated User"
    feeds: frozenset[EmulatedFeed] | None = None


@dataclass(frozen=True)
class IssuedSessionToken:
    """One answer of the session-token endpoint. `requested_valid_to` is the body's `validTo`
    (None when it was left out); `valid_to` what was granted (epoch seconds)."""

    token: str = field(repr=False)
    scope: str
    token_type: str
    display_name: str
    requested_valid_to: str | None
    valid_to: float
    entra_token: str = field(repr=False)


@dataclass
class TokenGrant:
    """A token the emulator accepts and the feed role of its identity.

    Roles, lowest first: reader (ReadPackages), collaborator ("Feed and Upstream Reader": also
    AddUpstreamPackage), contributor (also AddPackage), owner. `feeds=None` means the role holds
    on every feed; otherwise only on those (others answer 403 ReadPackages). `packaging_scope`
    False is a valid token without the Packaging scope (401 TF400813 naming the identity).
    """

    token: str = field(repr=False)
    role: str = "contributor"
    expired: bool = False
    feeds: frozenset[EmulatedFeed] | None = None
    user_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    packaging_scope: bool = True
    display_name: str = "Emulated User"
    """connectionData's `authenticatedUser.providerDisplayName`."""
    scopes: frozenset[str] | None = None
    """A session token's scopes (`vso.packaging`, `vso.packaging_write`); None: a full PAT."""
    expires_at: float | None = None
    """A session token's `validTo` (epoch seconds, the emulator's clock); None: no end."""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown feed role {self.role!r}; one of {', '.join(ROLES)}")

    @property
    def write(self) -> bool:
        """May publish (AddPackage): contributor or owner."""
        return ROLES.index(self.role) >= ROLES.index("contributor")

    @property
    def may_read(self) -> bool:
        """The scopes allow reading packages (any packaging scope, or no scope limit)."""
        return self.scopes is None or bool(self.scopes & PACKAGING_SCOPES)

    @property
    def may_write(self) -> bool:
        """The scopes allow an upload (`vso.packaging_write` or `_manage`, or no limit)."""
        return self.scopes is None or bool(self.scopes & WRITE_SCOPES)

    @property
    def can_ingest(self) -> bool:
        """May save a never-seen upstream version (AddUpstreamPackage): collaborator or higher."""
        return ROLES.index(self.role) >= ROLES.index("collaborator")


@dataclass(frozen=True)
class BlobRequest:
    """One request to the blob host that downloads are redirected to."""

    method: str
    path: str
    query: str
    status: int
    authorization: str | None = field(repr=False)  # the Authorization header, if one was sent
    range: str | None

    @property
    def authorization_sent(self) -> bool:
        return self.authorization is not None
