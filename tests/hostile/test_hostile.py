"""Every command that talks to a server, against every hostile server, through the real `poetry`.

Each run must end within a bound, with bounded memory (the child's own peak RSS, from
``os.wait4``), with neither the canary token nor an escape sequence in its output, and with
nothing stored. Deadlines are short, set through the environment as a user would."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.hostile.servers import BEHAVIOURS
from tests.hostile.servers import HostileServer
from tests.poetry_env import POETRY
from tests.poetry_env import PoetryEnv
from tests.poetry_env import ProjectFactory
from tests.poetry_env import Source
from tests.poetry_env import write_project


if TYPE_CHECKING:
    from collections.abc import Iterator


pytestmark = pytest.mark.e2e

CANARY = "CANARYhostile7d1e0b6a4c"
SOURCE = "hostile"
# Seconds: per read, per request, and all the Retry-After a command may wait.
SHORT_DEADLINES = {
    "POETRY_REQUESTS_TIMEOUT": "1",
    "POETRY_ADO_REQUEST_DEADLINE": "1",
    "POETRY_ADO_RETRY_AFTER_MAX": "1",
    "POETRY_ADO_PUBLISH_RETRIES": "1",
    "POETRY_ADO_PUBLISH_BACKOFF": "0",
}
TIME_BOUND = 30.0  # seconds for one command; unbounded waits would be hours
MEMORY_BOUND_MB = 400  # Poetry itself needs about 100; a bomb read whole would be 4,000


@dataclass(frozen=True)
class Run:
    exit_code: int
    output: str
    seconds: float
    peak_rss_mb: float


def run_measured(
    env: PoetryEnv, args: list[str], *, cwd: Path, stdin: str, extra: dict[str, str]
) -> Run:
    environ = env.environ()
    environ.update(SHORT_DEADLINES)
    environ.update(extra)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as feed:
        feed.write(stdin.encode())
        feed.seek(0)
        started = time.monotonic()
        process = subprocess.Popen(
            [str(POETRY), *args],
            cwd=cwd,
            stdin=feed,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=environ,
            start_new_session=True,
        )
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > TIME_BOUND * 2:
                os.killpg(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode(errors="replace")
    return Run(process.returncode, output, seconds, usage.ru_maxrss / 1024)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project built once: its dist/ is copied into each test's project."""
    root = tmp_path_factory.mktemp("built")
    write_project(root / "project")
    env = PoetryEnv(root / "home")
    result = env.run("build", cwd=root / "project", timeout=120)
    assert result.exit_code == 0, result
    return root / "project" / "dist"


@pytest.fixture(params=sorted(BEHAVIOURS))
def server(request: pytest.FixtureRequest) -> Iterator[HostileServer]:
    with HostileServer(request.param) as hostile:
        yield hostile


@pytest.fixture
def project(project_factory: ProjectFactory, server: HostileServer, built: Path) -> Path:
    directory = project_factory(sources=[Source(SOURCE, server.feed_url)])
    shutil.copytree(built, directory / "dist")
    return directory


def _snapshot(*roots: Path) -> dict[Path, bytes]:
    return {
        path: path.read_bytes()
        for root in roots
        for path in root.rglob("*")
        if path.is_file() and "cache" not in path.parts
    }


COMMANDS = {
    "login": (["ado", "login", SOURCE, "--pat-stdin"], f"{CANARY}\n", {}),
    "check-name": (["ado", "check-name", "sample-app", "--index-url", "{index}"], "", {}),
    "check-name --similar": (
        ["ado", "check-name", "sample-app", "--similar", "--index-url", "{index}"],
        "",
        {},
    ),
    "publish": (
        ["ado", "publish", SOURCE, "--index-url", "{index}"],
        "",
        {
            "POETRY_HTTP_BASIC_HOSTILE_USERNAME": "user",
            "POETRY_HTTP_BASIC_HOSTILE_PASSWORD": CANARY,
            "POETRY_REPOSITORIES_HOSTILE_URL": "{upload}",
        },
    ),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_hostile_server_cannot_hang_bloat_leak_or_store(
    poetry_env: PoetryEnv, project: Path, server: HostileServer, command: str
) -> None:
    args, stdin, extra = COMMANDS[command]
    upload = server.feed_url.replace("/simple/", "/upload/")
    args = [a.format(index=server.index_url) for a in args]
    extra = {k: v.format(upload=upload) for k, v in extra.items()}
    before = _snapshot(poetry_env.config_dir, project)

    run = run_measured(poetry_env, args, cwd=project, stdin=stdin, extra=extra)

    where = f"{command} against {server.behaviour}:\n{run.output}"
    assert run.seconds < TIME_BOUND, where
    assert run.peak_rss_mb < MEMORY_BOUND_MB, where
    assert CANARY not in run.output, where
    assert "\x1b" not in run.output and "\x9b" not in run.output, where
    assert "Traceback" not in run.output and "Stack trace" not in run.output, where
    if command == "login" and BEHAVIOURS[server.behaviour].accepts_login:
        return  # the probe's answer says the token is good, whatever its body does
    if command in ("login", "publish"):
        assert run.exit_code != 0, where
    assert _snapshot(poetry_env.config_dir, project) == before, f"something was stored: {where}"
