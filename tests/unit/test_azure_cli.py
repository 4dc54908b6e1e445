from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from poetry_ado_plugin import azure_cli
from poetry_ado_plugin.azure_cli import AZURE_DEVOPS_RESOURCE
from poetry_ado_plugin.azure_cli import ExpiryRecord
from poetry_ado_plugin.azure_cli import forget_expiry
from poetry_ado_plugin.azure_cli import load_records
from poetry_ado_plugin.azure_cli import parse_access_token
from poetry_ado_plugin.azure_cli import record_expiry
from poetry_ado_plugin.errors import AzureCliError
from poetry_ado_plugin.errors import UsageError
from tests.fakes.az import FakeAz
from tests.fakes.az import install_fake_az


posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX process groups")


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

    def __call__(self, command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        self.commands.append(command)
        return self.result


@pytest.fixture
def az_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/bin/az")


def test_command_line_and_tenant(az_on_path: None, monkeypatch: pytest.MonkeyPatch) -> None:
    run = FakeRun(0, json.dumps(REAL_OUTPUT))
    monkeypatch.setattr(azure_cli, "_run", run)
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
        azure_cli, "_run", FakeRun(1, stderr="Please run 'az login' to setup account.\n")
    )
    with pytest.raises(AzureCliError, match=r"not logged in .*run `az login --tenant t`"):
        azure_cli.get_access_token("t")


def test_other_failure_shows_first_stderr_line(
    az_on_path: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azure_cli, "_run", FakeRun(2, stderr="\nERROR: something broke\nmore\n"))
    with pytest.raises(AzureCliError, match=r"exit code 2: ERROR: something broke$"):
        azure_cli.get_access_token()


def test_missing_az(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(AzureCliError, match=r"'az'\) was not found on PATH"):
        azure_cli.get_access_token()


def test_timeout(az_on_path: None, monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(command: list[str], timeout: float) -> None:
        raise subprocess.TimeoutExpired(command, timeout)

    monkeypatch.setattr(azure_cli, "_run", hang)
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


# --- a real az process: deadlines, process groups, what its stderr may show --------------------


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its parent to reap it does not)."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.is_dir() and Path("/proc/self").exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def fake_az(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeAz:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    return install_fake_az(bin_dir)


@posix_only
def test_a_hung_az_is_killed_with_its_children(fake_az: FakeAz) -> None:
    fake_az.set(mode="hang")
    started = time.monotonic()
    with pytest.raises(AzureCliError, match=r"did not answer within 1\.5 s"):
        azure_cli.get_access_token(timeout=1.5)
    assert time.monotonic() - started < 6
    pids = fake_az.pids()
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [name for name, pid in pids.items() if alive(pid)] == []


@posix_only
def test_az_stderr_never_shows_the_token(fake_az: FakeAz) -> None:
    fake_az.set(mode="leaky-error", token=SECRET)
    with pytest.raises(AzureCliError) as caught:
        azure_cli.get_access_token()
    message = str(caught.value)
    assert "failed with exit code 1: ERROR: the request with token *** failed" in message
    assert SECRET not in message
    assert "canary" not in message


@pytest.mark.parametrize(
    "token",
    [
        "abcdefghij0123456789abcdefghij0123456789abcdefghij01",  # a 52-character PAT
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",  # a JWT
    ],
)
def test_anything_token_like_in_stderr_is_masked(
    az_on_path: None, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setattr(azure_cli, "_run", FakeRun(1, stderr=f"ERROR: bad {token}\n"))
    with pytest.raises(AzureCliError) as caught:
        azure_cli.get_access_token()
    assert token not in str(caught.value)
    assert str(caught.value).endswith("ERROR: bad ***")


def test_a_tenant_id_in_stderr_stays(az_on_path: None, monkeypatch: pytest.MonkeyPatch) -> None:
    tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    monkeypatch.setattr(azure_cli, "_run", FakeRun(1, stderr=f"ERROR: tenant {tenant} refused\n"))
    with pytest.raises(AzureCliError, match=tenant):
        azure_cli.get_access_token()


def test_the_refresh_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(azure_cli.REFRESH_TIMEOUT_VARIABLE, raising=False)
    assert azure_cli.refresh_timeout() == 10
    monkeypatch.setenv(azure_cli.REFRESH_TIMEOUT_VARIABLE, "2.5")
    assert azure_cli.refresh_timeout() == 2.5
    for value in ("0", "-1", "inf", "nan", "soon"):
        monkeypatch.setenv(azure_cli.REFRESH_TIMEOUT_VARIABLE, value)
        with pytest.raises(UsageError, match="POETRY_ADO_AZ_REFRESH_TIMEOUT must be"):
            azure_cli.refresh_timeout()


def test_a_failed_refresh_is_remembered_beside_the_expiry(tmp_path: Path) -> None:
    path = tmp_path / "ado-token-expiry.json"
    record_expiry("a", 100, "tenant", "azure", path)
    azure_cli.record_refresh_failure("a", "az did not answer", now=1000, path=path)
    azure_cli.record_refresh_failure("unknown", "ignored", now=1000, path=path)
    record = load_records(path)["a"]
    assert record.refresh_failure == "az did not answer"
    assert record.refresh_failed_recently(now=1000 + 599)
    assert not record.refresh_failed_recently(now=1000 + 600)
    assert set(load_records(path)) == {"a"}
    record_expiry("a", 200, "tenant", "azure", path)
    assert not load_records(path)["a"].refresh_failed_recently(now=1001)
