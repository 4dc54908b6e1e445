from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.poetry_env import PoetryEnv
from tests.poetry_env import ProjectFactory


pytest_plugins = ["tests.emulator.pytest_plugin", "tests.public_index_plugin"]


if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator
    from pathlib import Path

    from tests.poetry_env import Outcome


@pytest.fixture
def poetry_env(tmp_path: Path) -> PoetryEnv:
    """An isolated Poetry home for the real ``poetry`` executable."""
    return PoetryEnv(tmp_path / "poetry-home")


@pytest.fixture
def project_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "project"
    directory.mkdir()
    return directory


@pytest.fixture
def project_factory(tmp_path: Path, project_dir: Path) -> ProjectFactory:
    """``project_factory(name, sources=..., dependencies=..., extra=...)`` writes a test project
    into ``project_dir`` (or ``directory=``) and returns its directory."""
    return ProjectFactory(tmp_path, project_dir)


@pytest.fixture
def ado_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, project_dir: Path
) -> Callable[..., Outcome]:
    """``ado_app("ado", "login", ..., stdin=...)``: one command through Poetry's own
    Application in this process, with the plugin activated and Poetry's dirs in ``tmp_path``,
    run in ``project_dir``. Application.run rather than cleo's CommandTester: Poetry's plugin
    loading and console events (our listeners) take part, as in a real run."""
    from tests.inprocess import in_process_poetry

    return in_process_poetry(tmp_path, monkeypatch, project_dir)


@pytest.fixture(autouse=True)
def fresh_process_state() -> Iterator[None]:
    """Each test starts as a command does, with a whole Retry-After allowance and no secret
    registered for masking: tests that drive the uploader, the sessions or the token sources
    directly share one process."""
    from poetry_ado_plugin import http
    from poetry_ado_plugin import redact

    http.reset_retry_after_budget()
    redact.forget_secrets()
    yield
    redact.forget_secrets()
