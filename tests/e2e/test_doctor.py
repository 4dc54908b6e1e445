"""`poetry ado doctor` through the real poetry executable (isolated home) against the emulator:
a project that passes after add-feed and login, one without a credential, the JSON report."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.e2e.helpers_login import SOURCE
from tests.e2e.helpers_login import feed_project


if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.poetry_env import PoetryEnv


pytestmark = pytest.mark.e2e


def test_doctor_after_add_feed_and_login(
    poetry_env: PoetryEnv, project_dir: Path, ado_emulator: AdoEmulator
) -> None:
    feed = ado_emulator.feed
    feed_project(project_dir, feed.index_url)
    poetry_env.run("config", f"repositories.{SOURCE}", feed.upload_url, cwd=project_dir)

    missing = poetry_env.run("ado", "doctor", cwd=project_dir)
    login = poetry_env.run(
        "ado", "login", "--pat-stdin", cwd=project_dir, stdin=ado_emulator.read_token + "\n"
    )
    passing = poetry_env.run("ado", "doctor", cwd=project_dir)
    report = poetry_env.run("ado", "doctor", "--format", "json", cwd=project_dir)

    assert missing.exit_code == 1, missing
    assert f"fix: poetry ado login {SOURCE}" in missing.stdout
    assert login.exit_code == 0, login
    assert passing.exit_code == 0, passing
    assert "[ok]   " in passing.stdout and "[FAIL]" not in passing.stdout
    document = report.json()
    assert document["schema"] == 1 and document["exit_code"] == 0
    (source,) = document["sources"]
    checks = {c["check"]: c["verdict"] for c in source["checks"]}
    assert checks["network.read"] == "ok" and checks["network.identity"] == "ok"
    assert ado_emulator.read_token not in passing.stdout + passing.stderr + report.stdout


def test_doctor_offline_outside_a_project(
    poetry_env: PoetryEnv, tmp_path: Path, ado_emulator: AdoEmulator
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    poetry_env.run("config", f"repositories.{SOURCE}", ado_emulator.feed.upload_url, cwd=elsewhere)
    ado_emulator.emulator.clear_requests()

    result = poetry_env.run("ado", "doctor", "--offline", cwd=elsewhere)

    assert "Not in a project: checking the repositories that are Azure feeds." in result.stdout
    assert f"no credential for {SOURCE}" in result.stdout
    assert result.exit_code == 1
    assert ado_emulator.requests == []
