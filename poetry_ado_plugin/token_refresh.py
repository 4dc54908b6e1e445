"""Refreshing Entra-based tokens (az, azure-identity) before a Poetry command talks to the feed.

plugin.py's console-event listener imports this module only for install, lock, add, update, sync
and publish, and only when the expiry record file exists (so only after a ``login --azure-cli``).
For each source of the project (and the ``publish -r`` repository) whose recorded token expires
within five minutes, a new token is minted through the same identity (a new session token of the
recorded scope, exchanged as ``login`` does it) and stored like ``login`` stores it, and Poetry's
in-memory config is updated so this very run uses it. A publish whose recorded session token is
read-only (``vso.packaging``) mints a ``vso.packaging_write`` one first, whatever its expiry.
A failure is a warning, never an error: the command goes on and Poetry reports the feed's
answer itself.

az gets at most ``REFRESH_TIMEOUT`` (10 s) here. A failed refresh is remembered in the expiry
record for ten minutes: until then the next commands warn without asking az again."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from typing import Any

from poetry_ado_plugin.azure_cli import FAILURE_MEMORY
from poetry_ado_plugin.azure_cli import REFRESH_MARGIN
from poetry_ado_plugin.azure_cli import format_expiry
from poetry_ado_plugin.azure_cli import load_records
from poetry_ado_plugin.errors import AdoError
from poetry_ado_plugin.session_tokens import READ_SCOPE


if TYPE_CHECKING:
    from cleo.events.console_command_event import ConsoleCommandEvent
    from cleo.io.io import IO
    from poetry.config.config import Config


def refresh_if_needed(event: ConsoleCommandEvent) -> None:
    """The listener's body. Never raises: a problem is one warning line."""
    io = event.io
    try:
        records = load_records()
        if not records:
            return
        names = _names_in_use(event, set(records))
        now = time.time()
        publishing = str(getattr(event.command, "name", "")).endswith("publish")
        due = [
            name
            for name in sorted(names)
            if records[name].expires_within(REFRESH_MARGIN, now)
            or (publishing and records[name].scope == READ_SCOPE)
        ]
        if not due:
            return
        config = _poetry_config(event)
        for name in due:
            record = records[name]
            if record.refresh_failed_recently(now) and record.refresh_failed_at is not None:
                retry = format_expiry(record.refresh_failed_at + FAILURE_MEMORY)
                label, asked, option = _identity_words(record.identity)
                _warn(
                    io,
                    f"the {label} token for '{name}' was not refreshed: the last try failed "
                    f"({record.refresh_failure or 'no reason recorded'}), and {asked} is not "
                    f"asked again before {retry}. Run `poetry ado login {name} {option}`",
                )
                continue
            _refresh(name, io, config, write=publishing, identity=record.identity)
    except Exception as error:  # a listener must not break the user's command
        _warn(io, f"could not check the Entra ID tokens ({type(error).__name__})")


def _names_in_use(event: ConsoleCommandEvent, recorded: set[str]) -> set[str]:
    command: Any = event.command
    names: set[str] = set()
    if str(command.name).endswith("publish"):  # publish, and the plugin's own ado publish
        try:
            repository = event.io.input.option("repository")
        except Exception:
            repository = None
        if repository in recorded:
            names.add(repository)
    try:
        sources = command.poetry.get_sources()
    except Exception:
        # Not a project, or one Poetry cannot load: the command itself will say so.
        return names
    names.update(source.name for source in sources if source.name in recorded)
    return names


def _poetry_config(event: ConsoleCommandEvent) -> Config:
    """The Config object this run's repositories and publisher read credentials from."""
    from poetry.config.config import Config

    try:
        config: Config = event.command.poetry.config  # type: ignore[attr-defined]
    except Exception:
        config = Config.create()
    return config


def refresh(name: str, config: Config | None = None, *, write: bool = False) -> tuple[int, str]:
    """Mint and store a new token for ``name``; returns (expires_on, location). ``write``
    asks for a write-scoped session token (a publish) where the recorded one is read-only."""
    from poetry_ado_plugin.azure_cli import record_expiry
    from poetry_ado_plugin.azure_cli import refresh_timeout
    from poetry_ado_plugin.credential_store import store_credential
    from poetry_ado_plugin.credentials import DEFAULT_USERNAME
    from poetry_ado_plugin.credentials import clean_token
    from poetry_ado_plugin.errors import CredentialError
    from poetry_ado_plugin.session_tokens import DEFAULT_VALID_FOR
    from poetry_ado_plugin.session_tokens import IDENTITY_NAMES
    from poetry_ado_plugin.session_tokens import WRITE_SCOPE
    from poetry_ado_plugin.session_tokens import mint

    record = load_records()[name]
    scope = record.scope
    if scope is not None and write:
        scope = WRITE_SCOPE
    feed = None
    if scope is not None:
        from poetry_ado_plugin.feed import Feed

        feed = Feed.parse_or_none(record.feed_url or "")
        if feed is None:
            raise CredentialError("the expiry record names no feed")
    if feed is None:
        from poetry_ado_plugin import redact
        from poetry_ado_plugin.session_tokens import entra_token

        # The Entra token itself (--no-session-token): no feed needed.
        secret, expires_on, tenant = entra_token(
            record.identity, record.tenant, timeout=refresh_timeout()
        )
        redact.register_secret(secret)
        minted_scope = None
    else:
        minted = mint(
            feed,
            record.identity,
            name=name,
            tenant=record.tenant,
            scope=scope or WRITE_SCOPE,
            valid_for=record.valid_for or DEFAULT_VALID_FOR,
            timeout=refresh_timeout(),
        )
        secret, expires_on, tenant, minted_scope = (
            minted.secret,
            minted.expires_on,
            minted.tenant,
            minted.scope,
        )
    token = clean_token(secret, IDENTITY_NAMES.get(record.identity, record.identity))
    username = record.username or DEFAULT_USERNAME
    result = store_credential(name, username, token)
    if config is not None:
        # Poetry merged auth.toml into this Config when the command started; without this the
        # run would still send the old token.
        config.merge({"http-basic": {name: {"username": username, "password": token}}})
    record_expiry(
        name,
        expires_on,
        tenant or record.tenant,
        username,
        identity=record.identity,
        scope=minted_scope,
        valid_for=record.valid_for,
        feed_url=record.feed_url,
    )
    location = result.location
    if result.fallback_reason:
        location += f" ({result.fallback_reason})"
    return expires_on, location


def _identity_words(identity: str) -> tuple[str, str, str]:
    """(what the token is called, who is asked, the login option) for an identity."""
    if identity == "azure-identity":
        return "azure-identity", "azure-identity", "--azure-identity"
    return "Azure CLI", "az", "--azure-cli"


def _refresh(
    name: str, io: IO, config: Config, *, write: bool = False, identity: str = "azure-cli"
) -> None:
    from poetry_ado_plugin.azure_cli import record_refresh_failure

    label, asked, option = _identity_words(identity)
    try:
        expires_on, location = refresh(name, config, write=write)
    except AdoError as error:
        remembered = ""
        try:
            record_refresh_failure(name, str(error))
        except AdoError:
            pass
        else:
            remembered = f" {asked} is not asked again for {FAILURE_MEMORY // 60} minutes."
        _warn(
            io,
            f"could not refresh the {label} token for '{name}': {error}.{remembered} Run "
            f"`poetry ado login {name} {option}`",
        )
        return
    io.write_error_line(
        f"Refreshed the {label} token for <c1>{name}</c1> (valid until "
        f"{format_expiry(expires_on)}, stored in {location})."
    )


def _warn(io: IO, message: str) -> None:
    from cleo.formatters.formatter import Formatter

    io.write_error_line(f"<warning>Warning: {Formatter.escape(message)}</warning>")
