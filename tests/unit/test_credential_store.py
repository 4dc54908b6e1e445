from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import keyring
import pytest
from poetry.config.config import Config
from poetry.config.file_config_source import FileConfigSource
from poetry.toml.file import TOMLFile
from poetry.utils.password_manager import PasswordManager
from poetry.utils.password_manager import PoetryKeyring

from poetry_ado_plugin.credential_store import CredentialPlace
from poetry_ado_plugin.credential_store import locate_credential
from poetry_ado_plugin.credential_store import remove_credential
from poetry_ado_plugin.credential_store import store_credential
from tests.fakes.keyrings import FileKeyring
from tests.fakes.keyrings import HangingKeyring
from tests.fakes.keyrings import RaisingKeyring


if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from keyring.backend import KeyringBackend


SECRET = "unit-canary-0123456789"


def make_config(tmp_path: Path, *, keyring_enabled: bool) -> Config:
    config = Config(use_environment=False)
    config.merge({"keyring": {"enabled": keyring_enabled}})
    config.set_config_source(FileConfigSource(TOMLFile(tmp_path / "config.toml")))
    config.set_auth_config_source(FileConfigSource(TOMLFile(tmp_path / "auth.toml")))
    return config


@pytest.fixture
def use_backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[object]:
    previous = keyring.get_keyring()
    monkeypatch.setenv("FAKE_KEYRING_FILE", str(tmp_path / "keyring.json"))
    monkeypatch.setenv("POETRY_ADO_KEYRING_TIMEOUT", "0.5")
    cache_clear = getattr(PoetryKeyring.is_available, "cache_clear", None)

    def select(backend: KeyringBackend) -> None:
        keyring.set_keyring(backend)
        if cache_clear:
            cache_clear()

    yield select
    keyring.set_keyring(previous)
    HangingKeyring.release()
    if cache_clear:
        cache_clear()


def auth(tmp_path: Path) -> str:
    path = tmp_path / "auth.toml"
    return path.read_text() if path.exists() else ""


def test_keyring_off_writes_auth_toml_like_poetry(tmp_path: Path) -> None:
    config = make_config(tmp_path, keyring_enabled=False)
    result = store_credential("feed", "azure", SECRET, config=config)
    assert (result.location, result.fallback_reason) == ("auth.toml", None)
    ours = auth(tmp_path)

    # Byte for byte what `poetry config http-basic feed azure SECRET` writes.
    other = tmp_path / "poetry"
    other.mkdir()
    PasswordManager(make_config(other, keyring_enabled=False)).set_http_password(
        "feed", "azure", SECRET
    )
    assert ours == auth(other)
    assert (tmp_path / "auth.toml").stat().st_mode & 0o777 == 0o600
    place = locate_credential("feed", config, environ={})
    assert (place.where, place.username) == (str(tmp_path / "auth.toml"), "azure")


def test_working_keyring(tmp_path: Path, use_backend) -> None:  # type: ignore[no-untyped-def]
    use_backend(FileKeyring())  # type: ignore[no-untyped-call]
    config = make_config(tmp_path, keyring_enabled=True)
    result = store_credential("feed", "azure", SECRET, config=config)
    assert result.location == "keyring"
    assert json.loads((tmp_path / "keyring.json").read_text()) == {
        "poetry-repository-feed": {"azure": SECRET}
    }
    assert SECRET not in auth(tmp_path)
    # Poetry reads it back.
    fresh = make_config(tmp_path, keyring_enabled=True)
    fresh.merge(TOMLFile(tmp_path / "auth.toml").read())
    credential = PasswordManager(fresh).get_http_auth("feed")
    assert (credential.username, credential.password) == ("azure", SECRET)

    removed = remove_credential("feed", config=config)
    assert removed.removed == ["keyring", str(tmp_path / "auth.toml")]
    assert json.loads((tmp_path / "keyring.json").read_text()) == {}
    assert remove_credential("feed", config=config).removed == []


def test_keyring_replaces_an_old_plain_text_password(tmp_path: Path, use_backend) -> None:  # type: ignore[no-untyped-def]
    store_credential(
        "feed", "azure", "old-token", config=make_config(tmp_path, keyring_enabled=False)
    )
    use_backend(FileKeyring())  # type: ignore[no-untyped-call]
    store_credential("feed", "azure", SECRET, config=make_config(tmp_path, keyring_enabled=True))
    assert "old-token" not in auth(tmp_path)


def test_raising_keyring_falls_back(tmp_path: Path, use_backend) -> None:  # type: ignore[no-untyped-def]
    use_backend(RaisingKeyring())  # type: ignore[no-untyped-call]
    result = store_credential(
        "feed", "azure", SECRET, config=make_config(tmp_path, keyring_enabled=True)
    )
    assert result.location == "auth.toml"
    assert result.fallback_reason is not None
    assert result.fallback_reason.startswith("the keyring failed (PoetryKeyringError:")
    assert SECRET not in result.fallback_reason
    assert SECRET in auth(tmp_path)

    removed = remove_credential("feed", config=make_config(tmp_path, keyring_enabled=True))
    assert removed.removed == [str(tmp_path / "auth.toml")]
    assert removed.warnings and "the keyring failed" in removed.warnings[0]


def test_hanging_keyring_falls_back_in_time(tmp_path: Path, use_backend) -> None:  # type: ignore[no-untyped-def]
    use_backend(HangingKeyring())  # type: ignore[no-untyped-call]
    started = time.monotonic()
    result = store_credential(
        "feed", "azure", SECRET, config=make_config(tmp_path, keyring_enabled=True)
    )
    assert time.monotonic() - started < 3
    assert result.location == "auth.toml"
    assert result.fallback_reason == "the keyring did not answer within 0.5 s (locked?)"
    assert SECRET in auth(tmp_path)

    started = time.monotonic()
    removed = remove_credential("feed", config=make_config(tmp_path, keyring_enabled=True))
    assert time.monotonic() - started < 3
    assert "did not answer" in removed.warnings[0]
    assert SECRET not in auth(tmp_path)


def test_a_backend_error_message_never_carries_the_password(tmp_path: Path, use_backend) -> None:  # type: ignore[no-untyped-def]
    class Echoing(RaisingKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            raise keyring.errors.KeyringError(f"cannot store {password!r} for {username}")

    use_backend(Echoing())  # type: ignore[no-untyped-call]
    result = store_credential(
        "feed", "azure", SECRET, config=make_config(tmp_path, keyring_enabled=True)
    )
    assert result.fallback_reason is not None
    assert SECRET not in result.fallback_reason
    assert "***" in result.fallback_reason


def test_locate_credential_names_the_place_poetry_will_use(tmp_path: Path) -> None:
    import base64

    config = make_config(tmp_path, keyring_enabled=False)
    assert locate_credential("feed", config, environ={}).where == "none"
    (tmp_path / "auth.toml").write_text('[http-basic.feed]\nusername = "azure"\n')
    assert locate_credential("feed", config, environ={}) == CredentialPlace(
        "the keyring", "azure", None
    )
    claims = base64.urlsafe_b64encode(b'{"exp": 1900000000}').decode().rstrip("=")
    token = f"eyJhbGciOiJub25lIn0.{claims}.sig"
    environ = {"POETRY_HTTP_BASIC_FEED_USERNAME": "ci", "POETRY_HTTP_BASIC_FEED_PASSWORD": token}
    assert locate_credential("feed", config, environ=environ) == CredentialPlace(
        "POETRY_HTTP_BASIC_FEED_PASSWORD", "ci", 1900000000
    )
