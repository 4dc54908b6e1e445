"""What differs on Windows and macOS, tested where it can run (Linux): the Windows Credential
Manager's size limit, how ``az`` is started (``az.cmd`` on Windows) and paths."""

from __future__ import annotations

import ast
import functools
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import keyring
import pytest
from poetry.config.config import Config
from poetry.config.file_config_source import FileConfigSource
from poetry.toml.file import TOMLFile
from poetry.utils.password_manager import PoetryKeyring

from poetry_ado_plugin import azure_cli
from poetry_ado_plugin import credential_store
from poetry_ado_plugin.errors import AzureCliError
from tests.fakes.keyrings import FileKeyring


if TYPE_CHECKING:
    from collections.abc import Iterator


PACKAGE = Path(credential_store.__file__).resolve().parent


@pytest.fixture
def file_keyring(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    previous = keyring.get_keyring()
    store = tmp_path / "keyring.json"
    monkeypatch.setenv("FAKE_KEYRING_FILE", str(store))
    monkeypatch.setenv("POETRY_ADO_KEYRING_TIMEOUT", "2")
    cache_clear = getattr(PoetryKeyring.is_available, "cache_clear", None)
    keyring.set_keyring(FileKeyring())  # type: ignore[no-untyped-call]
    if cache_clear:
        cache_clear()
    yield store
    keyring.set_keyring(previous)
    if cache_clear:
        cache_clear()


def config(tmp_path: Path) -> Config:
    result = Config(use_environment=False)
    result.merge({"keyring": {"enabled": True}})
    result.set_config_source(FileConfigSource(TOMLFile(tmp_path / "config.toml")))
    result.set_auth_config_source(FileConfigSource(TOMLFile(tmp_path / "auth.toml")))
    return result


LONG_TOKEN = "eyJ0eXAiOiJKV1QifQ." + "a" * 1400 + ".sig"  # an Entra ID token's length


def on(monkeypatch: pytest.MonkeyPatch, platform: str) -> None:
    """The keyring check believes it runs on ``platform`` (sys.platform itself stays: the file
    lock picks its implementation from it)."""
    check = credential_store._windows_keyring_limit
    monkeypatch.setattr(
        credential_store, "_windows_keyring_limit", functools.partial(check, platform=platform)
    )


def test_windows_keyring_limit_counts_utf16_bytes() -> None:
    check = credential_store._windows_keyring_limit
    assert check("a" * 1280, platform="win32") is None
    assert check("a" * 1281, platform="win32") == (
        "the Windows Credential Manager holds at most 2,560 bytes per secret and this token "
        "needs 2,562"
    )
    assert check("\N{EURO SIGN}" * 1281, platform="win32") is not None  # UTF-16: 2 bytes each
    assert check(LONG_TOKEN, platform="darwin") is None
    assert check(LONG_TOKEN, platform="linux") is None
    assert (check(LONG_TOKEN) is None) is (sys.platform != "win32")


def test_a_token_too_long_for_windows_goes_to_auth_toml_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, file_keyring: Path
) -> None:
    on(monkeypatch, "win32")
    result = credential_store.store_credential("feed", "azure", LONG_TOKEN, config=config(tmp_path))
    assert result.location == "auth.toml"
    assert result.fallback_reason is not None
    assert "Windows Credential Manager holds at most 2,560 bytes" in result.fallback_reason
    assert LONG_TOKEN not in result.fallback_reason
    assert LONG_TOKEN in (tmp_path / "auth.toml").read_text()
    assert not file_keyring.exists()  # the keyring was not even asked


def test_the_same_token_goes_to_the_keyring_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, file_keyring: Path
) -> None:
    on(monkeypatch, "darwin")
    result = credential_store.store_credential("feed", "azure", LONG_TOKEN, config=config(tmp_path))
    assert (result.location, result.fallback_reason) == ("keyring", None)
    assert LONG_TOKEN in file_keyring.read_text()


def test_az_is_run_by_the_path_shutil_which_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    # On Windows shutil.which("az") finds az.cmd through PATHEXT; the command starts with that
    # full path (no shell), so it is not looked up again by name.
    found = r"C:\Program Files\Microsoft SDKs\Azure\CLI2\wbin\az.cmd"
    monkeypatch.setattr("shutil.which", lambda name: found if name == "az" else None)
    command = azure_cli.az_command("72f988bf-86f1-41af-91ab-2d7cd011db47")
    assert command[0] == found
    assert command[-2:] == ["--tenant", "72f988bf-86f1-41af-91ab-2d7cd011db47"]
    assert azure_cli.az_command("contoso.onmicrosoft.com")[-1] == "contoso.onmicrosoft.com"


@pytest.mark.parametrize(
    "tenant", ["contoso&calc", "a|b", "x y", '"quoted"', "%PATH%", "-leading", "a^b", ""]
)
def test_a_tenant_cmd_exe_would_reparse_is_refused(
    monkeypatch: pytest.MonkeyPatch, tenant: str
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: "/usr/bin/az")
    if not tenant:
        assert "--tenant" not in azure_cli.az_command(tenant)
        return
    with pytest.raises(AzureCliError, match="neither a tenant ID nor a domain name"):
        azure_cli.az_command(tenant)


def test_az_runs_without_a_shell() -> None:
    source = (PACKAGE / "azure_cli.py").read_text(encoding="utf-8")
    assert "shell=True" not in source
    assert "start_new_session" in source and "CREATE_NEW_PROCESS_GROUP" in source


def test_no_file_path_is_joined_with_a_slash() -> None:
    """File paths are built with pathlib; "/" joins are for URLs only. Flags string literals
    passed to open(), Path() or os.path functions that contain a "/" or a "\\"."""
    offenders: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = ast.unparse(node.func)
            if not re.fullmatch(r"(open|Path|os\.path\.\w+|pathlib\.Path)", name):
                continue
            for argument in node.args:
                for inner in ast.walk(argument):
                    if (
                        isinstance(inner, ast.Constant)
                        and isinstance(inner.value, str)
                        and re.search(r"[/\\]", inner.value)
                    ):
                        offenders.append(f"{path.name}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []
