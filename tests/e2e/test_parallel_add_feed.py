"""Two ``poetry ado add-feed`` on one pyproject.toml at the same time: nothing is lost.

Each of 20 pairs adds two feeds to its own project at the same moment; all 40 commands share one
Poetry config.toml. Every command either keeps its change (source and repository) or refuses
with "changed while we were writing"; none exits 0 having lost its source or repository."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest

from tests.poetry_env import POETRY
from tests.poetry_env import write_project


if TYPE_CHECKING:
    from pathlib import Path

    from tests.poetry_env import PoetryEnv


pytestmark = pytest.mark.e2e

PAIRS = 20
PAIRS_AT_ONCE = 4


def feed_url(name: str) -> str:
    return f"https://pkgs.dev.azure.com/contoso/_packaging/{name}/pypi/simple/"


def run_pair(
    poetry: PoetryEnv, project: Path, names: tuple[str, str]
) -> list[tuple[str, int, str]]:
    environ = poetry.environ()
    started = [
        subprocess.Popen(
            [str(POETRY), "ado", "add-feed", feed_url(name)],
            cwd=project,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    results = []
    for name, process in zip(names, started, strict=True):
        stdout, stderr = process.communicate(timeout=120)
        results.append((name, process.returncode, stdout + stderr))
    return results


def test_twenty_pairs_of_add_feed_lose_nothing(poetry_env: PoetryEnv, tmp_path: Path) -> None:
    projects = []
    for number in range(PAIRS):
        directory = tmp_path / f"project-{number}"
        directory.mkdir()
        write_project(directory)
        projects.append((directory, (f"pair{number}-a", f"pair{number}-b")))

    with ThreadPoolExecutor(PAIRS_AT_ONCE) as pool:
        outcomes = list(pool.map(lambda job: run_pair(poetry_env, *job), projects))

    config = poetry_env.config_file.read_text()
    problems = []
    for (directory, _), results in zip(projects, outcomes, strict=True):
        pyproject = (directory / "pyproject.toml").read_text()
        for name, code, output in results:
            if code == 0:
                if feed_url(name) not in pyproject:
                    problems.append(f"{name}: exit 0 but its source is missing")
                if feed_url(name).replace("/simple/", "/upload/") not in config:
                    problems.append(f"{name}: exit 0 but its repository is missing")
            elif code != 1 or "changed while we were writing" not in output:
                problems.append(f"{name}: exit {code}: {output.strip()}")
        assert sorted(p.name for p in directory.iterdir() if p.name.startswith(".")) == []
    assert problems == []
