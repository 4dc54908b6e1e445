"""The refresh of an Azure CLI token before a Poetry command, when az hangs or fails."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import pytest

from tests.e2e.helpers_login import FEED_URL
from tests.e2e.helpers_login import SOURCE
from tests.e2e.helpers_login import expiry_records
from tests.e2e.helpers_login import feed_project
from tests.e2e.helpers_login import in_minutes
from tests.e2e.helpers_login import path_without_real_az
from tests.fakes.az import install_fake_az
from tests.unit.test_azure_cli import alive


if TYPE_CHECKING:
    from pathlib import Path

    from tests.fakes.az import FakeAz
    from tests.poetry_env import PoetryEnv


pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.name != "posix", reason="POSIX process groups"),
]

TOKEN = "entra-0123456789abcdefghijklmnop"


@pytest.fixture
def logged_in(poetry_env: PoetryEnv, project_dir: Path) -> tuple[FakeAz, dict[str, str]]:
    """A project whose Azure CLI token expires in two minutes: the next lock refreshes it."""
    feed_project(project_dir, FEED_URL)
    az = install_fake_az(poetry_env.bin_dir)
    az.set(mode="ok", token=TOKEN, expires_on=in_minutes(2))
    env = path_without_real_az(poetry_env)
    # The Entra token itself: a session token would need the (real) feed's sign-in.
    login = poetry_env.run(
        "ado", "login", "--azure-cli", "--no-session-token", "--no-verify", cwd=project_dir, env=env
    )
    assert login.exit_code == 0, login
    return az, env


def test_a_hung_az_costs_one_short_wait_then_none(
    poetry_env: PoetryEnv, project_dir: Path, logged_in: tuple[FakeAz, dict[str, str]]
) -> None:
    az, env = logged_in
    env = {**env, "POETRY_ADO_AZ_REFRESH_TIMEOUT": "1"}
    az.set(mode="hang")

    started = time.monotonic()
    first = poetry_env.run("lock", cwd=project_dir, env=env, timeout=60)
    first_took = time.monotonic() - started

    assert first.exit_code == 0, first
    assert f"could not refresh the Azure CLI token for '{SOURCE}'" in first.stderr
    assert "did not answer within 1 s" in first.stderr
    assert "az is not asked again for 10 minutes" in first.stderr
    assert first_took < 20, first_took
    pids = az.pids()
    deadline = time.monotonic() + 5
    while any(alive(pid) for pid in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [name for name, pid in pids.items() if alive(pid)] == [], "az left processes behind"
    assert expiry_records(poetry_env)[SOURCE]["refresh_failed_at"]
    calls = len(az.calls())

    second = poetry_env.run("lock", cwd=project_dir, env=env, timeout=60)

    assert second.exit_code == 0, second
    assert len(az.calls()) == calls, "az was asked again within ten minutes"
    assert "the last try failed" in second.stderr
    assert "did not answer within 1 s" in second.stderr
    assert f"poetry ado login {SOURCE} --azure-cli" in second.stderr


def test_a_new_login_clears_the_remembered_failure(
    poetry_env: PoetryEnv, project_dir: Path, logged_in: tuple[FakeAz, dict[str, str]]
) -> None:
    az, env = logged_in
    az.set(mode="not-logged-in")
    assert "az login" in poetry_env.run("lock", cwd=project_dir, env=env).stderr
    assert "refresh_failed_at" in expiry_records(poetry_env)[SOURCE]

    az.set(mode="ok", token=TOKEN, expires_on=in_minutes(2))
    again = poetry_env.run(
        "ado", "login", "--azure-cli", "--no-session-token", "--no-verify", cwd=project_dir, env=env
    )

    assert again.exit_code == 0, again
    assert "refresh_failed_at" not in expiry_records(poetry_env)[SOURCE]
    refreshed = poetry_env.run("lock", cwd=project_dir, env=env)
    assert f"Refreshed the Azure CLI token for {SOURCE}" in refreshed.stderr
