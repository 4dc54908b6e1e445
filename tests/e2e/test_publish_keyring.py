"""`poetry ado publish` with a keyring that never answers: bounded like login, nothing sent."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from tests.emulator.packages import build_sdist
from tests.emulator.packages import build_wheel
from tests.fakes.keyrings import keyring_env
from tests.poetry_env import source_table
from tests.poetry_env import write_project


if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.poetry_env import PoetryEnv
    from tests.public_index_server import PublicIndexServer


pytestmark = pytest.mark.e2e

SOURCE = "team-feed"


@pytest.mark.public_index(["requests"])
def test_a_hanging_keyring_is_one_line_within_the_keyring_timeout(
    ado_emulator: AdoEmulator,
    poetry_env: PoetryEnv,
    project_dir: Path,
    public_index: PublicIndexServer,
) -> None:
    write_project(
        project_dir, "sample-app", extra=source_table(SOURCE, ado_emulator.feed.index_url)
    )
    build_wheel(project_dir / "dist", "sample-app", "0.1.0")
    build_sdist(project_dir / "dist", "sample-app", "0.1.0")
    poetry_env.config_file.write_text(
        f'[repositories.{SOURCE}]\nurl = "{ado_emulator.feed.upload_url}"\n'
    )
    # The password is in the keyring, so Poetry asks it: and it never answers.
    poetry_env.auth_file.write_text(f'[http-basic.{SOURCE}]\nusername = "azure"\n')
    env = {**keyring_env("HangingKeyring"), "POETRY_ADO_KEYRING_TIMEOUT": "1"}

    started = time.monotonic()
    result = poetry_env.run(
        "ado", "publish", "--index-url", public_index.url, cwd=project_dir, env=env, timeout=60
    )
    took = time.monotonic() - started

    assert result.exit_code == 1, result
    assert "the keyring did not answer within 1 s" in result.stderr
    assert "poetry ado login" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result
    assert took < 30
    assert [r for r in ado_emulator.requests if r.method == "POST"] == []
