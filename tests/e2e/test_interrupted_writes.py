"""Writes that are killed, interrupted or refused: every file is the old one or the new one.

The process is stopped at the write itself through the writer's fault-injection variable
(``POETRY_ADO_FAULT_AT_WRITE``, see poetry_ado_plugin/files.py)."""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING

import pytest

from tests.e2e.helpers_login import FEED_URL
from tests.e2e.helpers_login import SOURCE
from tests.e2e.helpers_login import feed_project


if TYPE_CHECKING:
    from pathlib import Path

    from tests.poetry_env import PoetryEnv
    from tests.poetry_env import ProjectFactory
    from tests.poetry_env import Result


pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(os.name != "posix", reason="SIGKILL and POSIX signals"),
]

FAULT = "POETRY_ADO_FAULT_AT_WRITE"
UPLOAD_URL = FEED_URL.replace("/simple/", "/upload/")
OTHER_FEED_URL = "https://pkgs.dev.azure.com/fabrikam/_packaging/other/pypi/simple/"
TOKEN = "canary-token-0123456789abcdefghijklmnopqrstuvwxyz"

OLD_CONFIG = '[repositories.elsewhere]\nurl = "https://example.com/upload/"\n'
OLD_AUTH = '[http-basic.elsewhere]\nusername = "someone"\npassword = "old-secret"\n'


# Every way a write is stopped, for the commands that write more than one file.
KILLED = pytest.mark.parametrize("action", ["kill", "kill-after-rename"])
INTERRUPTED = pytest.mark.parametrize(("signal_name", "code"), [("sigint", 130), ("sigterm", 143)])


def run_faulted(
    poetry: PoetryEnv, cwd: Path, fault: str | None, *args: str, stdin: str | None = None
) -> Result:
    """``poetry ARGS`` with the writer told to stop at ``fault`` (none: a normal run)."""
    env = {FAULT: fault} if fault else {}
    return poetry.run(*args, cwd=cwd, stdin=stdin, env=env, timeout=120)


def add_feed(poetry: PoetryEnv, cwd: Path, fault: str | None = None, *args: str) -> Result:
    return run_faulted(poetry, cwd, fault, "ado", "add-feed", FEED_URL, *args)


def login(poetry: PoetryEnv, cwd: Path, fault: str | None = None, *args: str) -> Result:
    return run_faulted(
        poetry, cwd, fault, "ado", "login", "--pat-stdin", "--no-verify", *args, stdin=TOKEN + "\n"
    )


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith((".tmp", ".lock")))


@pytest.fixture
def project(project_factory: ProjectFactory) -> Path:
    return project_factory()


@pytest.fixture
def configured(poetry_env: PoetryEnv) -> PoetryEnv:
    poetry_env.config_file.write_text(OLD_CONFIG)
    poetry_env.auth_file.write_text(OLD_AUTH)
    poetry_env.auth_file.chmod(0o600)
    return poetry_env


# --- add-feed: pyproject.toml and config.toml ----------------------------------------------------


@pytest.mark.parametrize("killed_at", ["config.toml", "pyproject.toml"])
@KILLED
def test_add_feed_killed_at_a_write_leaves_old_or_new_files(
    configured: PoetryEnv, project: Path, killed_at: str, action: str
) -> None:
    pyproject = project / "pyproject.toml"
    old_pyproject = pyproject.read_text()

    killed = add_feed(configured, project, f"{killed_at}:{action}")

    assert killed.exit_code == -signal.SIGKILL, killed
    config = configured.config_file.read_text()
    text = pyproject.read_text()
    new_config = OLD_CONFIG in config and UPLOAD_URL in config
    assert config == OLD_CONFIG or new_config, config
    assert text == old_pyproject or (text.startswith(old_pyproject) and FEED_URL in text), text
    if killed_at == "config.toml":
        assert new_config is (action == "kill-after-rename")
        assert text == old_pyproject, "pyproject.toml is written after config.toml"
    else:
        assert new_config, "config.toml is written first"
        assert (text != old_pyproject) is (action == "kill-after-rename")
    # The next run finishes the job and cleans up after the killed one.
    again = add_feed(configured, project)
    assert again.exit_code == 0, again
    assert FEED_URL in pyproject.read_text()
    assert UPLOAD_URL in configured.config_file.read_text()
    assert leftovers(project) == []
    assert leftovers(configured.config_dir) == []


@pytest.mark.parametrize("at", ["config.toml", "pyproject.toml"])
@INTERRUPTED
def test_add_feed_interrupted_at_a_write_goes_all_the_way(
    configured: PoetryEnv, project: Path, at: str, signal_name: str, code: int
) -> None:
    pyproject = project / "pyproject.toml"

    result = add_feed(configured, project, f"{at}:{signal_name}")

    assert result.exit_code == code, result
    assert "interrupted by SIG" in result.stderr
    assert "Traceback" not in result.output
    assert FEED_URL in pyproject.read_text()
    assert UPLOAD_URL in configured.config_file.read_text()
    assert OLD_CONFIG in configured.config_file.read_text()
    assert leftovers(project) == []


def test_add_feed_undoes_config_toml_when_pyproject_cannot_be_written(
    configured: PoetryEnv, project: Path
) -> None:
    pyproject = project / "pyproject.toml"
    before = pyproject.read_text()
    pyproject.chmod(0o444)

    result = add_feed(configured, project)

    assert result.exit_code == 1, result
    assert "pyproject.toml is read-only" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result
    assert pyproject.read_text() == before
    assert configured.config_file.read_text() == OLD_CONFIG


def test_a_read_only_pyproject_is_refused_even_as_root(
    poetry_env: PoetryEnv, project: Path
) -> None:
    pyproject = project / "pyproject.toml"
    before = pyproject.read_text()
    pyproject.chmod(0o444)

    result = add_feed(poetry_env, project, None, "--no-repository")

    assert result.exit_code == 1, result
    assert "pyproject.toml is read-only: make it writable" in result.stderr
    assert pyproject.read_text() == before
    assert pyproject.stat().st_mode & 0o777 == 0o444


@pytest.mark.parametrize(
    "command",
    [
        ("ado", "add-feed", FEED_URL),
        ("ado", "add-feed", FEED_URL, "--dry-run"),
        ("ado", "login", "--no-verify", "--pat-stdin"),
        ("ado", "env", "--format", "shell"),
        ("ado", "check-name"),
    ],
    ids=lambda args: " ".join(args[1:3]),
)
def test_a_duplicate_key_is_refused_before_any_edit(
    poetry_env: PoetryEnv, project_dir: Path, command: tuple[str, ...]
) -> None:
    pyproject = feed_project(project_dir, FEED_URL)
    broken = pyproject.read_text().replace(
        'version = "0.1.0"\n', 'version = "0.1.0"\nversion = "0.2.0"\n', 1
    )
    pyproject.write_text(broken)

    result = poetry_env.run(
        *command, cwd=project_dir, stdin=TOKEN + "\n", env={"AZURE_DEVOPS_EXT_PAT": TOKEN}
    )

    assert result.exit_code == 1, result
    assert "is not valid TOML" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result
    assert pyproject.read_text() == broken
    assert not poetry_env.config_file.exists()
    assert not poetry_env.auth_file.exists()


# --- login: auth.toml, config.toml and the expiry records ----------------------------------------


@pytest.fixture
def feed_dir(project_dir: Path) -> Path:
    feed_project(project_dir, FEED_URL)
    return project_dir


@pytest.mark.parametrize("killed_at", ["auth.toml", "config.toml"])
@KILLED
def test_login_killed_at_a_write_leaves_old_or_new_files(
    configured: PoetryEnv, feed_dir: Path, killed_at: str, action: str
) -> None:
    killed = login(configured, feed_dir, f"{killed_at}:{action}")

    assert killed.exit_code == -signal.SIGKILL, killed
    auth = configured.auth_file.read_text()
    config = configured.config_file.read_text()
    assert auth == OLD_AUTH or (OLD_AUTH in auth and TOKEN in auth), auth
    assert config == OLD_CONFIG or (OLD_CONFIG in config and UPLOAD_URL in config), config
    assert configured.auth_file.stat().st_mode & 0o777 == 0o600
    if killed_at == "auth.toml":
        assert (TOKEN in auth) is (action == "kill-after-rename")
    again = login(configured, feed_dir)
    assert again.exit_code == 0, again
    assert TOKEN in configured.auth_file.read_text()
    assert "old-secret" in configured.auth_file.read_text()
    assert leftovers(configured.config_dir) == []


@INTERRUPTED
def test_login_interrupted_at_a_write_goes_all_the_way(
    configured: PoetryEnv, feed_dir: Path, signal_name: str, code: int
) -> None:
    result = login(configured, feed_dir, f"config.toml:{signal_name}")

    assert result.exit_code == code, result
    assert "Traceback" not in result.output
    assert TOKEN in configured.auth_file.read_text()
    assert UPLOAD_URL in configured.config_file.read_text()


def test_a_login_that_fails_on_config_toml_stores_no_token(
    poetry_env: PoetryEnv, feed_dir: Path
) -> None:
    poetry_env.config_file.write_text('repositories = "broken"\n')
    poetry_env.auth_file.write_text(OLD_AUTH)

    result = login(poetry_env, feed_dir)

    assert result.exit_code == 1, result
    assert "config.toml cannot be used" in result.stderr
    assert poetry_env.auth_file.read_text() == OLD_AUTH
    assert poetry_env.config_file.read_text() == 'repositories = "broken"\n'


def test_a_login_that_cannot_write_auth_toml_leaves_config_toml_alone(
    configured: PoetryEnv, feed_dir: Path
) -> None:
    configured.auth_file.chmod(0o400)

    result = login(configured, feed_dir)

    assert result.exit_code == 1, result
    assert "auth.toml is read-only" in result.stderr
    assert configured.auth_file.read_text() == OLD_AUTH
    assert configured.config_file.read_text() == OLD_CONFIG


def test_login_does_not_take_over_another_feeds_repository(
    poetry_env: PoetryEnv, feed_dir: Path
) -> None:
    other_upload = OTHER_FEED_URL.replace("/simple/", "/upload/")
    poetry_env.config_file.write_text(f'[repositories.{SOURCE}]\nurl = "{other_upload}"\n')
    before = poetry_env.config_file.read_text()

    result = login(poetry_env, feed_dir)

    assert result.exit_code == 1, result
    assert f"repository '{SOURCE}' already points at another feed" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result
    assert poetry_env.config_file.read_text() == before
    assert not poetry_env.auth_file.exists()
