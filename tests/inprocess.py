"""Poetry's own Application, in this process, with the plugin activated: for the tests of input
and output that would cost a second each through a ``poetry`` subprocess.

Poetry's config, cache and data dirs, HOME and the keyring are isolated in a temporary
directory; ``poetry.locations.CONFIG_DIR`` (read when Poetry is first imported) is patched."""

from __future__ import annotations

import io
import os
from typing import TYPE_CHECKING

from cleo.io.inputs.argv_input import ArgvInput
from cleo.io.outputs.buffered_output import BufferedOutput

from poetry_ado_plugin import redact
from tests.poetry_env import Outcome
from tests.poetry_env import is_leaky


if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    import pytest


# Besides what could leak a credential: what makes a command believe it runs in CI (or which
# CI), since these tests share the process's environment.
_CI_PREFIXES = ("ARTIFACTS_", "GITHUB_", "TF_")


def in_process_poetry(
    root: Path, monkeypatch: pytest.MonkeyPatch, cwd: Path
) -> Callable[..., Outcome]:
    """``run("ado", "login", ..., stdin="...")`` runs one command in ``cwd``."""
    import poetry.config.config
    import poetry.locations

    config = root / "config"
    for directory in (config, root / "cache", root / "data", root / "home"):
        directory.mkdir(exist_ok=True)
    monkeypatch.setattr(poetry.locations, "CONFIG_DIR", config)
    monkeypatch.setattr(poetry.config.config, "CONFIG_DIR", config)
    monkeypatch.setattr(poetry.config.config, "_default_config", None, raising=False)
    for key in list(os.environ):
        if is_leaky(key) or key.startswith(_CI_PREFIXES):
            monkeypatch.delenv(key)
    monkeypatch.setenv("POETRY_CONFIG_DIR", str(config))
    monkeypatch.setenv("POETRY_CACHE_DIR", str(root / "cache"))
    monkeypatch.setenv("POETRY_DATA_DIR", str(root / "data"))
    monkeypatch.setenv("POETRY_KEYRING_ENABLED", "false")
    monkeypatch.setenv("POETRY_REQUESTS_TIMEOUT", "2")
    monkeypatch.setenv("HOME", str(root / "home"))
    monkeypatch.chdir(cwd)

    def run(*args: str, stdin: str = "") -> Outcome:
        from poetry.console.application import Application

        application = Application()
        application.auto_exits(False)
        argv = ArgvInput(["poetry", *args])
        argv.set_stream(io.StringIO(stdin))
        output, error = BufferedOutput(), BufferedOutput()
        try:
            code = application.run(argv, output, error)
        finally:
            redact.forget_secrets()
        return Outcome(code, output.fetch(), error.fetch())

    return run


def snapshot(root: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in root.rglob("*") if path.is_file()}
