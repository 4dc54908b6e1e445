from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.poetry_env import PoetryEnv


pytest_plugins = ["tests.emulator.pytest_plugin", "tests.public_index_plugin"]


if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def poetry_env(tmp_path: Path) -> PoetryEnv:
    """An isolated Poetry home for the real ``poetry`` executable."""
    return PoetryEnv(tmp_path / "poetry-home")


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    return directory


@pytest.fixture(autouse=True)
def fresh_retry_after_allowance() -> None:
    """Each test starts with a whole Retry-After allowance, as each command does: tests that
    drive the uploader or the sessions directly share one process."""
    from poetry_ado_plugin import http

    http.reset_retry_after_budget()
