"""Shared setup for the login/logout/env end-to-end tests."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tests.poetry_env import Source
from tests.poetry_env import write_project


if TYPE_CHECKING:
    from tests.poetry_env import PoetryEnv


SOURCE = "team-feed"
PRIVATE_PACKAGE = "contoso-private-lib"
# A hosted feed nothing listens for: for the tests that never reach the feed.
FEED_URL = "https://pkgs.dev.azure.com/contoso/Web/_packaging/team-feed/pypi/simple/"


def feed_project(
    directory: Path,
    index_url: str,
    *,
    name: str = "consumer-app",
    source: str = SOURCE,
    dependency: str | None = None,
) -> Path:
    """A project with one explicit Azure feed source (and optionally a dependency pinned to it)."""
    if dependency is None:
        return write_project(directory, name, sources=[Source(source, index_url)])
    return write_project(
        directory,
        name,
        sources=[Source(source, index_url)],
        dependencies=[f"{dependency} (>=1.0)"],
        extra=f'\n[tool.poetry.dependencies]\n{dependency} = {{ source = "{source}" }}\n',
    )


def auth_toml(env: PoetryEnv) -> str:
    return env.auth_file.read_text() if env.auth_file.exists() else ""


def config_toml(env: PoetryEnv) -> str:
    return env.config_file.read_text() if env.config_file.exists() else ""


def expiry_records(env: PoetryEnv) -> dict[str, dict[str, object]]:
    path = env.config_dir / "ado-token-expiry.json"
    if not path.exists():
        return {}
    data: dict[str, dict[str, object]] = json.loads(path.read_text())
    return data


def in_minutes(minutes: float) -> int:
    return int(time.time() + minutes * 60)


def path_without_real_az(env: PoetryEnv) -> dict[str, str]:
    """PATH with the fake bin first and no other directory holding an `az`."""
    directories = [
        d
        for d in env.environ()["PATH"].split(os.pathsep)
        if d and (d == str(env.bin_dir) or not (Path(d) / "az").exists())
    ]
    return {"PATH": os.pathsep.join(directories)}
