from __future__ import annotations

import json
import shutil
import subprocess
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any

import pytest

from poetry_ado_plugin import azure_cli
from poetry_ado_plugin.azure_cli import AZURE_DEVOPS_RESOURCE
from poetry_ado_plugin.azure_cli import AzureCliError
from poetry_ado_plugin.azure_cli import ExpiryRecord
from poetry_ado_plugin.azure_cli import forget_expiry
from poetry_ado_plugin.azure_cli import load_records
from poetry_ado_plugin.azure_cli import parse_access_token
from poetry_ado_plugin.azure_cli import record_expiry


if TYPE_CHECKING:
    from pathlib import Path


SECRET = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.canary.sig"

REAL_OUTPUT = {
    "accessToken": SECRET,
    "expiresOn": "2026-11-21 07:12:00.000000",
    "expires_on": 1795245120,
    "subscription": "00000000-0000-0000-0000-000000000000",
    "tenant": "72f988bf-86f1-41af-91ab-2d7cd011db47",
    "tokenType": "Bearer",
}


def test_parse_real_output() -> None:
    token = parse_access_token(json.dumps(REAL_OUTPUT))
    assert token.token == SECRET
    assert token.expires_on == 1795245120
    assert token.tenant == REAL_OUTPUT["tenant"]
    assert SECRET not in repr(token) and SECRET not in str(token)


def test_parse_older_output_without_epoch() -> None:
    older = {k: v for k, v in REAL_OUTPUT.items() if k != "expires_on"}
    expected = int(datetime(2026, 11, 21, 7, 12).timestamp())
    assert parse_access_token(json.dumps(older)).expires_on == expected


@pytest.mark.parametrize(
    ("stdout", "message"),
    [
        ("WARNING: " + SECRET, "not JSON"),
        ("[]", "not an object"),
        (json.dumps({"tokenType": "Bearer", "note": SECRET}), "no accessToken"),
    ],
)
def test_parse_errors_never_echo(stdout: str, message: str) -> None:
    with pytest.raises(AzureCliError) as caught:
        parse_access_token(stdout)
    assert message in str(caught.value)
    assert SECRET not in str(caught.value)


class FakeRun:
    def __init__(self, returncode: int, stdout: str = "", stderr: str = "") -> None:
        self.result = subprocess.CompletedProcess([], returncode, stdout, stderr)
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        return self.result


@pytest.fixture
def az_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/az")


def test_command_line_and_tenant(az_on_path: None, monkeypatch: pytest.MonkeyPatch) -> None:
    run = FakeRun(0, json.dumps(REAL_OUTPUT))
    monkeypatch.setattr(subprocess, "run", run)
    azure_cli.get_access_token("my-tenant")
    assert run.commands == [
        [
            "/usr/bin/az",
            "account",
            "get-access-token",
            "--resource",
            AZURE_DEVOPS_RESOURCE,
            "--output",
            "json",
            "--tenant",
            "my-tenant",
        ]
    ]


def test_not_logged_in(az_on_path: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        subprocess, "run", FakeRun(1, stderr="Please run 'az login' to setup account.\n")
    )
    with pytest.raises(AzureCliError, match=r"not logged in .*run `az login --tenant t`"):
        azure_cli.get_access_token("t")


def test_other_failure_shows_first_stderr_line(
    az_on_path: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subprocess, "run", FakeRun(2, stderr="\nERROR: something broke\nmore\n"))
    with pytest.raises(AzureCliError, match=r"exit code 2: ERROR: something broke$"):
        azure_cli.get_access_token()


def test_missing_az(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(AzureCliError, match=r"'az'\) was not found on PATH"):
        azure_cli.get_access_token()


def test_timeout(az_on_path: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(command: list[str], **kwargs: Any) -> None:
        raise subprocess.TimeoutExpired(command, kwargs["timeout"])

    monkeypatch.setattr(subprocess, "run", hang)
    with pytest.raises(AzureCliError, match="did not answer within 60 s"):
        azure_cli.get_access_token()


def test_expiry_records_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "ado-token-expiry.json"
    assert load_records(path) == {}
    record_expiry("a", 100, "tenant", "azure", path)
    record_expiry("b", 200, None, None, path)
    assert load_records(path) == {
        "a": ExpiryRecord(100, "tenant", "azure"),
        "b": ExpiryRecord(200, None, None),
    }
    assert set(json.loads(path.read_text())["a"]) == {"expires_on", "tenant", "username"}
    assert forget_expiry("a", path) is True
    assert forget_expiry("a", path) is False
    assert forget_expiry("b", path) is True
    assert not path.exists(), "an empty record file is removed, so the listener stops at a stat"


def test_corrupt_records_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "ado-token-expiry.json"
    path.write_text("{not json")
    assert load_records(path) == {}
    path.write_text(json.dumps({"a": {"expires_on": "soon"}, "b": {"expires_on": 5}}))
    assert load_records(path) == {"b": ExpiryRecord(5, None, None)}


def test_expires_within() -> None:
    record = ExpiryRecord(1000, None, None)
    assert record.expires_within(300, now=701)
    assert not record.expires_within(300, now=700)
