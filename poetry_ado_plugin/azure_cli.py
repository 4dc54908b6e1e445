"""The Azure CLI: an Entra ID access token for Azure DevOps, and the record of when it expires.

``az account get-access-token`` prints the token in JSON on stdout. Nothing it prints on stdout is
ever echoed, so only its shape is described in errors; a line of its stderr quoted in an error has
the token, and anything that looks like one, masked. The expiry record (``ado-token-expiry.json``
beside Poetry's config.toml) holds expiry times and tenants, never a token; its existence is what
tells the console-event listener that a refresh may be due. It also remembers a failed refresh
for ten minutes, so that a hung or logged-out az does not cost every Poetry command the wait.

az runs in its own process group (a new session on POSIX), and on timeout the whole group is
killed: az is a Python program that starts children, and killing only az would leave them
running, one more per Poetry command."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from pathlib import Path
from typing import Any

from poetry_ado_plugin.errors import AzureCliError
from poetry_ado_plugin.errors import CredentialError


# Azure DevOps' application ID: the resource an Entra ID token must be issued for.
AZURE_DEVOPS_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"

# The file name the plugin.py listener checks for (one stat) before importing anything.
EXPIRY_FILE_NAME = "ado-token-expiry.json"

# A token that expires within this many seconds is refreshed before a command talks to the feed.
REFRESH_MARGIN = 300

AZ_TIMEOUT = 60.0
# A refresh runs before someone's `poetry install`: a hung az must not hold it up for long.
REFRESH_TIMEOUT = 10.0
REFRESH_TIMEOUT_VARIABLE = "POETRY_ADO_AZ_REFRESH_TIMEOUT"
# How long a failed refresh is remembered; until then no command asks az again.
FAILURE_MEMORY = 600

NOT_LOGGED_IN_HINTS = ("az login", "please run 'az login'", "aadsts", "interactive authentication")


@dataclass(frozen=True)
class AccessToken:
    token: str = field(repr=False)
    expires_on: int
    tenant: str | None

    def __str__(self) -> str:
        return f"<Azure CLI access token, expires {format_expiry(self.expires_on)}>"


_TENANT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def az_command(tenant: str | None) -> list[str]:
    """The exact command line: no token, only the resource and the tenant."""
    executable = shutil.which("az")
    if executable is None:
        raise AzureCliError(
            "the Azure CLI ('az') was not found on PATH: install it "
            "(https://learn.microsoft.com/cli/azure/install-azure-cli) and run `az login`, or "
            "give a personal access token with --pat-stdin"
        )
    command = [
        executable,
        "account",
        "get-access-token",
        "--resource",
        AZURE_DEVOPS_RESOURCE,
        "--output",
        "json",
    ]
    if tenant:
        # A tenant ID (GUID) or domain name. Anything else is refused before it reaches a
        # command line: on Windows `az` is az.cmd, whose arguments cmd.exe parses (`&`, `|`...).
        if not _TENANT.fullmatch(tenant):
            raise AzureCliError(
                f"--tenant {tenant!r} is neither a tenant ID nor a domain name "
                "(like contoso.onmicrosoft.com)"
            )
        command += ["--tenant", tenant]
    return command


def get_access_token(tenant: str | None = None, *, timeout: float = AZ_TIMEOUT) -> AccessToken:
    """Run ``az account get-access-token`` for Azure DevOps and parse its answer."""
    command = az_command(tenant)
    login_hint = f"az login --tenant {tenant}" if tenant else "az login"
    try:
        completed = _run(command, timeout)
    except subprocess.TimeoutExpired:
        raise AzureCliError(
            f"the Azure CLI did not answer within {timeout:g} s: run "
            "`az account get-access-token --resource "
            f"{AZURE_DEVOPS_RESOURCE}` yourself to see what it waits for"
        ) from None
    except OSError as error:
        raise AzureCliError(
            f"the Azure CLI could not be started ({error.strerror or type(error).__name__}): "
            "check your az installation"
        ) from None

    if completed.returncode != 0:
        stderr = completed.stderr or ""
        if any(hint in stderr.lower() for hint in NOT_LOGGED_IN_HINTS):
            raise AzureCliError(
                f"the Azure CLI is not logged in (or its login expired): run `{login_hint}` "
                "and try again"
            )
        raise AzureCliError(
            f"`az account get-access-token` failed with exit code {completed.returncode}"
            f"{_first_line(_mask_tokens(stderr, _printed_token(completed.stdout)))}"
        )
    return parse_access_token(completed.stdout, tenant=tenant)


def refresh_timeout() -> float:
    """REFRESH_TIMEOUT, or the seconds in POETRY_ADO_AZ_REFRESH_TIMEOUT."""
    from poetry_ado_plugin.environment import env_number

    return env_number(
        REFRESH_TIMEOUT_VARIABLE, REFRESH_TIMEOUT, exclusive_minimum=True, maximum=3600
    )


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``command`` in a process group of its own; kill the whole group on timeout (or
    Ctrl-C), so that none of az's children outlives it."""
    group: dict[str, Any] = (
        {"start_new_session": True}
        if os.name == "posix"
        else {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}
    )
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **group,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except BaseException:
        _kill_group(process)
        # The pipes close once the group is gone; a grandchild that left the group could
        # hold them open, so do not wait for that.
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=2)
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _kill_group(process: subprocess.Popen[str]) -> None:
    if os.name == "posix":
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
    else:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(
                ["taskkill", "/F", "/T", "/PID", str(process.pid)],
                capture_output=True,
                timeout=10,
                check=False,
            )
    with contextlib.suppress(OSError):
        process.kill()


# A JWT (an Entra token), or a long run of letters and digits with at least one digit (a PAT is
# 52 or 84 of them): masked in az's stderr even when it is not the token we were given.
_TOKEN_LIKE = re.compile(
    r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?"
    r"|(?<![A-Za-z0-9_-])(?=[A-Za-z_-]*[0-9])(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-)[A-Za-z0-9_-]{32,}"
)


def _mask_tokens(text: str, known: str | None) -> str:
    from poetry_ado_plugin.redact import register_secret
    from poetry_ado_plugin.redact import safe_text

    # Registered, the token is masked in anything else this run prints, too.
    register_secret(known)
    return safe_text(_TOKEN_LIKE.sub("***", text), keep_newlines=True)


def _printed_token(stdout: str) -> str | None:
    with contextlib.suppress(ValueError, AttributeError):
        token = json.loads(stdout).get("accessToken")
        if isinstance(token, str) and len(token) >= 8:
            return token
    return None


def parse_access_token(stdout: str, *, tenant: str | None = None) -> AccessToken:
    """Parse az's JSON. Errors describe the shape of the output, never its content."""
    try:
        data: Any = json.loads(stdout)
    except ValueError:
        raise AzureCliError(
            "`az account get-access-token` printed something that is not JSON: update the "
            "Azure CLI, or give a personal access token with --pat-stdin"
        ) from None
    if not isinstance(data, dict):
        raise AzureCliError(
            "`az account get-access-token` printed JSON that is not an object: update the "
            "Azure CLI, or give a personal access token with --pat-stdin"
        )
    token = data.get("accessToken")
    if not isinstance(token, str) or not token.strip():
        raise AzureCliError(
            "`az account get-access-token` printed no accessToken: update the Azure CLI, or "
            "give a personal access token with --pat-stdin"
        )
    expires_on = _expires_on(data)
    found_tenant = data.get("tenant")
    return AccessToken(
        token=token.strip(),
        expires_on=expires_on,
        tenant=found_tenant if isinstance(found_tenant, str) and found_tenant else tenant,
    )


def _expires_on(data: dict[str, Any]) -> int:
    # Newer az prints expires_on (epoch seconds); older ones only expiresOn in local time.
    epoch = data.get("expires_on")
    if isinstance(epoch, (int, float)) and not isinstance(epoch, bool):
        return int(epoch)
    if isinstance(epoch, str) and epoch.strip().isdigit():
        return int(epoch.strip())
    local = data.get("expiresOn")
    if isinstance(local, str):
        for pattern in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
            with contextlib.suppress(ValueError):
                return int(datetime.strptime(local.strip(), pattern).timestamp())
    # Entra ID tokens live about an hour; assume the shortest plausible life.
    return int(time.time()) + 3000


def _first_line(stderr: str) -> str:
    for line in stderr.splitlines():
        line = line.strip()
        if line:
            if len(line) > 200:
                line = line[:199] + "…"
            return f": {line}"
    return ""


def format_expiry(expires_on: int) -> str:
    return datetime.fromtimestamp(expires_on).strftime("%Y-%m-%d %H:%M")


# --- expiry records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpiryRecord:
    expires_on: int
    tenant: str | None
    username: str | None
    # The last refresh through az that failed, and why (one line, no secret).
    refresh_failed_at: int | None = None
    refresh_failure: str | None = None
    # Who mints the next token ("azure-cli", "azure-identity"), the session token's scope (None:
    # the Entra token itself is stored), its lifetime, and the feed it is for.
    identity: str = "azure-cli"
    scope: str | None = None
    valid_for: int | None = None
    feed_url: str | None = None

    def expires_within(self, seconds: float, now: float | None = None) -> bool:
        return self.expires_on - (time.time() if now is None else now) < seconds

    def refresh_failed_recently(self, now: float | None = None) -> bool:
        if self.refresh_failed_at is None:
            return False
        return (time.time() if now is None else now) - self.refresh_failed_at < FAILURE_MEMORY

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "expires_on": self.expires_on,
            "tenant": self.tenant,
            "username": self.username,
        }
        if self.identity != "azure-cli":
            data["identity"] = self.identity
        if self.scope is not None:
            data["scope"] = self.scope
            data["valid_for"] = self.valid_for
            data["feed_url"] = self.feed_url
        if self.refresh_failed_at is not None:
            data["refresh_failed_at"] = self.refresh_failed_at
            data["refresh_failure"] = self.refresh_failure
        return data


def expiry_file() -> Path:
    # CONFIG_DIR comes from POETRY_CONFIG_DIR when poetry.locations is first imported.
    from poetry.locations import CONFIG_DIR

    return Path(CONFIG_DIR) / EXPIRY_FILE_NAME


def load_records(path: Path | None = None) -> dict[str, ExpiryRecord]:
    path = path or expiry_file()
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    records = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            continue
        expires_on = entry.get("expires_on")
        if not isinstance(expires_on, int) or isinstance(expires_on, bool):
            continue
        tenant = entry.get("tenant")
        username = entry.get("username")
        failed_at = entry.get("refresh_failed_at")
        failure = entry.get("refresh_failure")
        identity = entry.get("identity")
        scope = entry.get("scope")
        valid_for = entry.get("valid_for")
        feed_url = entry.get("feed_url")
        records[str(name)] = ExpiryRecord(
            expires_on=expires_on,
            tenant=tenant if isinstance(tenant, str) else None,
            username=username if isinstance(username, str) else None,
            refresh_failed_at=(
                failed_at
                if isinstance(failed_at, int) and not isinstance(failed_at, bool)
                else None
            ),
            refresh_failure=failure if isinstance(failure, str) else None,
            identity=identity if identity in ("azure-cli", "azure-identity") else "azure-cli",
            scope=scope if isinstance(scope, str) and scope else None,
            valid_for=(
                valid_for
                if isinstance(valid_for, int) and not isinstance(valid_for, bool)
                else None
            ),
            feed_url=feed_url if isinstance(feed_url, str) and feed_url else None,
        )
    return records


def _write_records(records: dict[str, ExpiryRecord], path: Path) -> None:
    from poetry_ado_plugin import files

    if not records:
        # No file means the listener stops at one stat: free when nothing came from az.
        files.remove_file(path, error=CredentialError)
        return
    data = {name: record.as_json() for name, record in sorted(records.items())}
    path.parent.mkdir(parents=True, exist_ok=True)
    files.write_atomic(path, json.dumps(data, indent=2) + "\n", error=CredentialError)


def record_expiry(
    name: str,
    expires_on: int,
    tenant: str | None,
    username: str | None,
    path: Path | None = None,
    *,
    identity: str = "azure-cli",
    scope: str | None = None,
    valid_for: int | None = None,
    feed_url: str | None = None,
) -> None:
    from poetry_ado_plugin import files

    path = path or expiry_file()
    with files.locked(path, error=CredentialError):
        records = load_records(path)
        records[name] = ExpiryRecord(
            expires_on=expires_on,
            tenant=tenant,
            username=username,
            identity=identity,
            scope=scope,
            valid_for=valid_for,
            feed_url=feed_url,
        )
        _write_records(records, path)


def record_refresh_failure(
    name: str, reason: str, now: float | None = None, path: Path | None = None
) -> None:
    """Remember that refreshing ``name`` through az failed, so that for FAILURE_MEMORY seconds
    no command waits for az again. A later login or refresh replaces the record."""
    from poetry_ado_plugin import files

    path = path or expiry_file()
    with files.locked(path, error=CredentialError):
        records = load_records(path)
        if name not in records:
            return
        records[name] = dataclasses.replace(
            records[name],
            refresh_failed_at=int(time.time() if now is None else now),
            refresh_failure=reason,
        )
        _write_records(records, path)


def forget_expiry(name: str, path: Path | None = None) -> bool:
    """Drop the record for ``name``; True when there was one."""
    from poetry_ado_plugin import files

    path = path or expiry_file()
    with files.locked(path, error=CredentialError):
        records = load_records(path)
        if name not in records:
            return False
        del records[name]
        _write_records(records, path)
    return True
