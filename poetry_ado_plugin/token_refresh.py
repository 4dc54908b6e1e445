"""Refreshing Azure CLI tokens before a Poetry command talks to the feed.

plugin.py's console-event listener imports this module only for install, lock, add, update, sync
and publish, and only when the expiry record file exists (so only after a ``login --azure-cli``).
For each source of the project (and the ``publish -r`` repository) whose recorded token expires
within five minutes, a new token is fetched through ``az`` and stored like ``login`` stores it, and
Poetry's in-memory config is updated so this very run uses it. A failure is a warning, never an
error: the command goes on and Poetry reports the feed's answer itself.

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
        due = [name for name in sorted(names) if records[name].expires_within(REFRESH_MARGIN, now)]
        if not due:
            return
        config = _poetry_config(event)
        for name in due:
            record = records[name]
            if record.refresh_failed_recently(now) and record.refresh_failed_at is not None:
                retry = format_expiry(record.refresh_failed_at + FAILURE_MEMORY)
                _warn(
                    io,
                    f"the Azure CLI token for '{name}' was not refreshed: the last try failed "
                    f"({record.refresh_failure or 'no reason recorded'}), and az is not asked "
                    f"again before {retry}. Run `poetry ado login {name} --azure-cli`",
                )
                continue
            _refresh(name, io, config)
    except Exception as error:  # a listener must not break the user's command
        _warn(io, f"could not check the Azure CLI tokens ({type(error).__name__})")


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


def refresh(name: str, config: Config | None = None) -> tuple[int, str]:
    """Fetch and store a new token for ``name``; returns (expires_on, location)."""
    from poetry_ado_plugin.azure_cli import get_access_token
    from poetry_ado_plugin.azure_cli import record_expiry
    from poetry_ado_plugin.azure_cli import refresh_timeout
    from poetry_ado_plugin.credential_store import store_credential
    from poetry_ado_plugin.credentials import DEFAULT_USERNAME
    from poetry_ado_plugin.credentials import clean_token

    record = load_records()[name]
    access = get_access_token(record.tenant, timeout=refresh_timeout())
    token = clean_token(access.token, "the Azure CLI")
    username = record.username or DEFAULT_USERNAME
    result = store_credential(name, username, token)
    if config is not None:
        # Poetry merged auth.toml into this Config when the command started; without this the
        # run would still send the old token.
        config.merge({"http-basic": {name: {"username": username, "password": token}}})
    record_expiry(name, access.expires_on, access.tenant or record.tenant, username)
    location = result.location
    if result.fallback_reason:
        location += f" ({result.fallback_reason})"
    return access.expires_on, location


def _refresh(name: str, io: IO, config: Config) -> None:
    from poetry_ado_plugin.azure_cli import record_refresh_failure

    try:
        expires_on, location = refresh(name, config)
    except AdoError as error:
        remembered = ""
        try:
            record_refresh_failure(name, str(error))
        except AdoError:
            pass
        else:
            remembered = f" az is not asked again for {FAILURE_MEMORY // 60} minutes."
        _warn(
            io,
            f"could not refresh the Azure CLI token for '{name}': {error}.{remembered} Run "
            f"`poetry ado login {name} --azure-cli`",
        )
        return
    io.write_error_line(
        f"Refreshed the Azure CLI token for <c1>{name}</c1> (valid until "
        f"{format_expiry(expires_on)}, stored in {location})."
    )


def _warn(io: IO, message: str) -> None:
    from cleo.formatters.formatter import Formatter

    io.write_error_line(f"<warning>Warning: {Formatter.escape(message)}</warning>")
