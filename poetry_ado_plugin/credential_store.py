"""Storing and removing a feed credential exactly where Poetry looks for it.

Storage goes through Poetry's own ``PasswordManager``/``PoetryKeyring`` (service
``poetry-repository-<name>``), like ``poetry config http-basic NAME USER PASS``: the password in
the keyring when one is usable, else in ``auth.toml``; the username always in ``auth.toml``.

Every keyring call runs in a daemon thread with a timeout. A keyring that raises (artifacts-keyring
refuses ``set_password``) or never answers (a locked keyring on headless Linux waiting for an unlock
prompt) does not stop the command: the credential goes to ``auth.toml`` (mode 0600) instead, and the
caller says so in one line. Messages never contain the password."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar

from poetry_ado_plugin.errors import CredentialError


if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Mapping
    from pathlib import Path

    from poetry.config.config import Config
    from poetry.config.file_config_source import FileConfigSource
    from poetry.utils.password_manager import PoetryKeyring


T = TypeVar("T")

DEFAULT_KEYRING_TIMEOUT = 5.0
KEYRING_TIMEOUT_VARIABLE = "POETRY_ADO_KEYRING_TIMEOUT"
SERVICE_NAMESPACE = "poetry-repository"


def keyring_timeout() -> float:
    from poetry_ado_plugin.environment import env_number

    return env_number(
        KEYRING_TIMEOUT_VARIABLE, DEFAULT_KEYRING_TIMEOUT, exclusive_minimum=True, maximum=3600
    )


@dataclass(frozen=True)
class StoreResult:
    location: str  # "keyring" or "auth.toml"
    path: Path
    # Why the keyring was not used although it is enabled; None when it was used, or is off.
    fallback_reason: str | None = None


@dataclass(frozen=True)
class RemoveResult:
    removed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _KeyringTimeout(Exception):
    pass


class _KeyringUnavailable(Exception):
    pass


def _call_with_timeout(function: Callable[[], T], timeout: float) -> T:
    """Run ``function`` in a daemon thread; raise _KeyringTimeout when it does not return in time.

    A thread that never returns is abandoned: being a daemon, it cannot keep the process alive."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function()
        except BaseException as error:
            outcome["error"] = error

    thread = threading.Thread(target=target, name="poetry-ado-keyring", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise _KeyringTimeout
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


def bounded_keyring_call(function: Callable[[], T], *, fix: str) -> T:
    """Run ``function``, which may read the keyring, with the keyring timeout; a keyring that
    does not answer in time is a CredentialError ending in ``fix``."""
    timeout = keyring_timeout()
    try:
        return _call_with_timeout(function, timeout)
    except _KeyringTimeout:
        raise CredentialError(f"{_timeout_reason(timeout)}: {fix}") from None


def _config() -> Config:
    from poetry.config.config import Config

    return Config.create()


def auth_file(config: Config | None = None) -> Path:
    from pathlib import Path

    source = (config or _config()).auth_config_source
    return Path(getattr(source, "name", "auth.toml"))


def _keyring_enabled(config: Config) -> bool:
    return bool(config.get("keyring.enabled"))


# PasswordManager.use_keyring and .keyring are the same checks as the two functions below, but
# they are cached properties: on Python < 3.12 functools.cached_property holds one lock for every
# instance while it computes, so a keyring that hangs in there would also block every later
# PasswordManager in this process, Poetry's own included. These calls hold no lock.


def _keyring_available() -> bool:
    """PoetryKeyring.is_available(); on newer Poetry it reads from the keyring, so it may hang."""
    from poetry.utils.password_manager import PoetryKeyring

    return bool(PoetryKeyring.is_available())


def _poetry_keyring() -> PoetryKeyring:
    from poetry.utils.password_manager import PoetryKeyring

    return PoetryKeyring(SERVICE_NAMESPACE)


def _describe_keyring_error(error: BaseException, *secrets: str) -> str:
    text = " ".join(str(error).split())
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    if len(text) > 160:
        text = text[:159] + "…"
    kind = type(error).__name__
    return f"the keyring failed ({kind}: {text})" if text else f"the keyring failed ({kind})"


# The Windows Credential Manager keeps at most 2,560 bytes per secret, and keyring stores the
# password as UTF-16: a token over 1,280 characters (an Entra ID token often is) cannot go there.
WINDOWS_SECRET_LIMIT = 2560


class _KeyringTooSmall(Exception):
    pass


def _is_windows_backend(backend: object) -> bool:
    """The keyring backend is the Windows Credential Manager (``WinVaultKeyring``), or a chain of
    backends holding one."""
    if backend is None:
        return False
    for kind in type(backend).__mro__:
        if kind.__name__ == "WinVaultKeyring" or kind.__module__.startswith(
            "keyring.backends.Windows"
        ):
            return True
    chained = getattr(backend, "backends", None)
    if isinstance(chained, (list, tuple)):
        return any(_is_windows_backend(inner) for inner in chained)
    return False


def _active_backend() -> object:
    try:
        import keyring

        return keyring.get_keyring()
    except Exception:
        return None


def _windows_keyring_limit(
    password: str, platform: str | None = None, backend: object = None
) -> str | None:
    """Why the Windows Credential Manager cannot hold ``password``, or None: on Windows, or
    wherever the keyring backend is the Credential Manager's."""
    size = len(password.encode("utf-16-le"))
    windows = (platform or sys.platform) == "win32" or _is_windows_backend(backend)
    if not windows or size <= WINDOWS_SECRET_LIMIT:
        return None
    return (
        f"the Windows Credential Manager holds at most {WINDOWS_SECRET_LIMIT:,} bytes per "
        f"secret and this token needs {size:,}"
    )


def _timeout_reason(timeout: float) -> str:
    return f"the keyring did not answer within {timeout:g} s (locked?)"


def store_credential(
    name: str, username: str, password: str, *, config: Config | None = None
) -> StoreResult:
    """Store ``username``/``password`` for source/repository ``name`` where Poetry reads it."""
    if not username:
        raise CredentialError("the username is empty: Poetry needs a non-empty username")
    config = config or _config()
    path = auth_file(config)
    path.parent.mkdir(parents=True, exist_ok=True)

    fallback_reason: str | None = None
    if _keyring_enabled(config):

        def store_in_keyring() -> str | None:
            if not _keyring_available():
                raise _KeyringUnavailable
            # Not offered at all: the Credential Manager refuses it with an unhelpful error.
            too_big = _windows_keyring_limit(password, backend=_active_backend())
            if too_big:
                raise _KeyringTooSmall(too_big)
            keyring = _poetry_keyring()
            previous = keyring.get_password(name, username)
            keyring.set_password(name, username, password)
            return previous

        timeout = keyring_timeout()
        try:
            previous = _call_with_timeout(store_in_keyring, timeout)
        except _KeyringUnavailable:
            fallback_reason = None
        except _KeyringTimeout:
            fallback_reason = _timeout_reason(timeout)
        except _KeyringTooSmall as error:
            fallback_reason = str(error)
        except Exception as error:
            fallback_reason = _describe_keyring_error(error, password, username)
        else:
            # What PasswordManager.set_http_password writes next to a keyring entry; replacing
            # the whole table also drops a plain-text password stored there before.
            try:
                _write_auth(config, name, {"username": username})
            except BaseException:
                # A failed store must leave the previous credential working, not the new token.
                _put_back_keyring(name, username, previous, timeout)
                raise
            return StoreResult("keyring", path)

    _write_auth(config, name, {"username": username, "password": password})
    return StoreResult("auth.toml", path, fallback_reason)


def _put_back_keyring(name: str, username: str, previous: str | None, timeout: float) -> None:
    def put_back() -> None:
        keyring = _poetry_keyring()
        if previous is None:
            keyring.delete_password(name, username)
        else:
            keyring.set_password(name, username, previous)

    with contextlib.suppress(Exception):
        _call_with_timeout(put_back, timeout)


def _write_auth(config: Config, name: str, value: dict[str, str]) -> None:
    # A dotted string key: Poetry 2.0's config sources accept nothing else. Source names are
    # validated to contain no dots.
    # Poetry creates auth.toml 0600; make sure an older, wider file is tightened too.
    mode = 0o600 if "password" in value and os.name == "posix" else None
    _edit_auth(config, lambda source: source.add_property(f"http-basic.{name}", value), mode)


def _edit_auth(
    config: Config, edit: Callable[[FileConfigSource], None], mode: int | None = None
) -> None:
    from poetry_ado_plugin.poetry_config import edit_poetry_file

    path = auth_file(config)
    try:
        edit_poetry_file(path, edit, mode=mode, error=CredentialError)
    except CredentialError:
        raise
    except OSError as error:
        raise CredentialError(
            f"could not write {path}: {error.strerror or type(error).__name__}; check its "
            "permissions and run again"
        ) from None
    except Exception:
        raise CredentialError(
            f"could not read {path}: fix or remove the file and run again"
        ) from None


def _auth_entry(name: str, config: Config) -> dict[str, Any]:
    from poetry.config.config_source import PropertyNotFoundError

    try:
        value = config.auth_config_source.get_property(f"http-basic.{name}")
    except PropertyNotFoundError:
        return {}
    except Exception:
        raise CredentialError(
            f"could not read {auth_file(config)}: fix or remove the file and run again"
        ) from None
    return dict(value) if isinstance(value, dict) else {}


def remove_credential(name: str, *, config: Config | None = None) -> RemoveResult:
    """Remove ``name``'s credential from the keyring and from auth.toml."""
    config = config or _config()
    result = RemoveResult()
    entry = _auth_entry(name, config)
    username = entry.get("username") if isinstance(entry.get("username"), str) else None

    if _keyring_enabled(config):
        timeout = keyring_timeout()
        try:
            if _call_with_timeout(lambda: _delete_from_keyring(name, username), timeout):
                result.removed.append("keyring")
        except _KeyringTimeout:
            result.warnings.append(
                f"{_timeout_reason(timeout)}: an entry for '{name}' there, if any, was not "
                "removed (Poetry no longer uses it without the username in auth.toml)"
            )
        except Exception as error:
            result.warnings.append(
                f"{_describe_keyring_error(error)}: an entry for '{name}' there, if any, was not "
                "removed"
            )

    if entry:
        _edit_auth(config, lambda source: source.remove_property(f"http-basic.{name}"))
        result.removed.append(str(auth_file(config)))
    return result


def _delete_from_keyring(name: str, username: str | None) -> bool:
    """Delete every entry of service ``poetry-repository-<name>`` we can find. True if any."""
    if not _keyring_available():
        return False

    import keyring
    import keyring.errors

    service = _poetry_keyring().get_entry_name(name)
    usernames: list[str] = [username] if username else []
    # A backend may know the username even when auth.toml lost it.
    with contextlib.suppress(Exception):
        credential = keyring.get_credential(service, None)
        if credential is not None and credential.username and credential.username not in usernames:
            usernames.append(credential.username)

    removed = False
    for user in usernames:
        try:
            keyring.delete_password(service, user)
        except keyring.errors.PasswordDeleteError:
            continue
        removed = True
    return removed


@dataclass(frozen=True)
class CredentialPlace:
    """Where Poetry will take ``name``'s credential from, as a place, never the secret."""

    where: str
    """``POETRY_HTTP_BASIC_<NAME>_PASSWORD``, the auth.toml path, ``the keyring`` or ``none``."""
    username: str | None = None
    expires_on: int | None = None
    """A recorded expiry (az or a session token), else a JWT's own ``exp``; None when unknown."""

    @property
    def found(self) -> bool:
        return self.where != "none"


def locate_credential(
    name: str, config: Config | None = None, environ: Mapping[str, str] | None = None
) -> CredentialPlace:
    """Poetry's order: the environment, then auth.toml, then the keyring (a username in
    auth.toml with no password there). Reads no keyring, so it can neither hang nor prompt."""
    import os

    from poetry_ado_plugin.azure_cli import load_records
    from poetry_ado_plugin.credentials import token_expiry
    from poetry_ado_plugin.poetry_config import poetry_variable

    environ = os.environ if environ is None else environ
    recorded = load_records().get(name)
    expires_on = recorded.expires_on if recorded is not None else None
    password_variable = poetry_variable("http-basic", name, "password")
    password = environ.get(password_variable)
    if password:
        username = environ.get(poetry_variable("http-basic", name, "username"))
        return CredentialPlace(password_variable, username, token_expiry(password))
    config = config or _config()
    entry = _auth_entry(name, config)
    username = entry.get("username") if isinstance(entry.get("username"), str) else None
    password = entry.get("password")
    if isinstance(password, str) and password:
        return CredentialPlace(
            str(auth_file(config)), username, expires_on or token_expiry(password)
        )
    if username:
        return CredentialPlace("the keyring", username, expires_on)
    return CredentialPlace("none")
