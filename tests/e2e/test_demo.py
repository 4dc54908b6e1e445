"""The README's demo command keeps working."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_the_whole_story() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "tests.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    out = completed.stdout
    for command in (
        "$ poetry ado add-feed http://127.0.0.1:",
        '$ echo "$ADO_TOKEN" | poetry ado login --pat-stdin',
        "$ poetry ado check-name --index-url",
        "$ poetry ado publish --build",
        "$ poetry add contoso-greetings --source team-feed",
        "$ poetry ado check-name --dependencies",
    ):
        assert command in out
    assert "Published contoso-greetings 0.1.0 to team-feed: 2 uploaded." in out
    assert "\n    contoso-greetings 0.1.0\n" in out
    assert "(exit code 1, as expected)" in out
    assert (
        "The feed holds: contoso_greetings-0.1.0-py3-none-any.whl, contoso_greetings-0.1.0.tar.gz"
        in out
    )
