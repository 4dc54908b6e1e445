"""Keyring backends for tests, selected in a poetry subprocess with
``PYTHON_KEYRING_BACKEND=tests.fakes.keyrings.<Class>`` and the repository on ``PYTHONPATH``
(see ``keyring_env``).

- ``FileKeyring``: a working keyring kept in the JSON file named by ``FAKE_KEYRING_FILE``;
- ``RaisingKeyring``: reads work (nothing stored), writes and deletes raise, like
  artifacts-keyring's ``set_password``;
- ``HangingKeyring``: every call blocks, like a locked keyring waiting for an unlock prompt on a
  headless machine;
- ``WinVaultKeyring``: a ``FileKeyring`` that refuses a secret over 2,560 bytes (UTF-16) the way
  the Windows Credential Manager does, and counts its ``set_password`` calls in
  ``FAKE_KEYRING_FILE`` + ``.sets``.

Their names avoid "plaintext", "null", "fail" and "chainer", which Poetry refuses to use."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import KeyringError
from keyring.errors import PasswordDeleteError


REPOSITORY = Path(__file__).resolve().parents[2]


def keyring_env(backend: str, store: Path | None = None) -> dict[str, str]:
    """The variables that make a poetry subprocess use ``backend`` (a class name here)."""
    env = {
        "POETRY_KEYRING_ENABLED": "true",
        "PYTHON_KEYRING_BACKEND": f"tests.fakes.keyrings.{backend}",
        "PYTHONPATH": str(REPOSITORY),
    }
    if store is not None:
        env["FAKE_KEYRING_FILE"] = str(store)
    return env


class FileKeyring(KeyringBackend):
    priority = 1

    @property
    def _path(self) -> Path:
        return Path(os.environ["FAKE_KEYRING_FILE"])

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            data: dict[str, dict[str, str]] = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        return data

    def _save(self, data: dict[str, dict[str, str]]) -> None:
        self._path.write_text(json.dumps(data, indent=2, sort_keys=True), encoding="utf-8")

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(service, {}).get(username)

    def set_password(self, service: str, username: str, password: str) -> None:
        data = self._load()
        data.setdefault(service, {})[username] = password
        self._save(data)

    def delete_password(self, service: str, username: str) -> None:
        data = self._load()
        if username not in data.get(service, {}):
            raise PasswordDeleteError("not found")
        del data[service][username]
        if not data[service]:
            del data[service]
        self._save(data)


class RaisingKeyring(KeyringBackend):
    priority = 1

    def get_password(self, service: str, username: str) -> str | None:
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringError("the credential provider refused to store the password")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringError("the credential provider refused to delete the password")


class HangingKeyring(KeyringBackend):
    """A keyring that never answers, like a locked one waiting for an unlock prompt.

    In-process tests call ``release()`` when done: the call that hangs holds a lock of Poetry's
    (``functools.cached_property`` on Python < 3.12) that every later PasswordManager in the
    process would wait for."""

    priority = 1
    _released = threading.Event()

    @classmethod
    def release(cls) -> None:
        """Let every hanging call return, and hang again from now on."""
        released, cls._released = cls._released, threading.Event()
        released.set()

    def _hang(self) -> None:
        self._released.wait(3600)

    def get_password(self, service: str, username: str) -> str | None:
        self._hang()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._hang()

    def delete_password(self, service: str, username: str) -> None:
        self._hang()


class WinVaultKeyring(FileKeyring):
    """Named like keyring's Windows backend (keyring.backends.Windows.WinVaultKeyring)."""

    LIMIT = 2560

    def set_password(self, service: str, username: str, password: str) -> None:
        sets = self._path.with_name(self._path.name + ".sets")
        count = int(sets.read_text()) if sets.exists() else 0
        sets.write_text(str(count + 1))
        if len(password.encode("utf-16-le")) > self.LIMIT:
            # What pywin32's CredWrite raises for a blob over CRED_MAX_CREDENTIAL_BLOB_SIZE.
            raise KeyringError("(1783, 'CredWrite', 'The stub received bad data.')")
        super().set_password(service, username, password)
