"""The GitHub workflows validate against the GitHub-workflow schema (check-jsonschema's vendored
copy: nothing is downloaded) and say what the release process promises; ``dev.py
release-notes`` prints a version's CHANGELOG section."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

import dev
from poetry_ado_plugin.pyproject import load_toml


pytestmark = pytest.mark.packaging

ROOT = Path(dev.__file__).resolve().parent
WORKFLOWS = ROOT / ".github" / "workflows"


def validate(*files: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-workflows",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def load(name: str) -> dict[str, Any]:
    data = YAML(typ="safe").load((WORKFLOWS / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps_text(job: dict[str, Any]) -> str:
    return "\n".join(str(step.get("run", "")) + str(step.get("uses", "")) for step in job["steps"])


def test_workflows_validate_against_the_schema() -> None:
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert [f.name for f in files] == ["ci.yml", "release.yml"]
    result = validate(*files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_broken_workflow_fails_validation(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    step: []\n")
    result = validate(broken)
    assert result.returncode == 1, result.stdout + result.stderr


def test_ci_runs_lint_the_os_python_poetry_matrix_and_the_full_matrix() -> None:
    jobs = load("ci.yml")["jobs"]
    assert "python3 dev.py lint" in steps_text(jobs["lint"])
    assert "python3 dev.py build" in steps_text(jobs["lint"])
    suite = jobs["suite"]["strategy"]["matrix"]
    assert suite["os"] == ["ubuntu-latest", "macos-latest", "windows-latest"]
    assert suite["python"] == ["3.10", "3.13"]
    assert suite["poetry"] == [dev.MATRIX_POETRY[0], dev.MATRIX_POETRY[-1]]
    assert "dev.py matrix --poetry ${{ matrix.poetry }} tests" in steps_text(jobs["suite"])
    assert jobs["matrix"]["runs-on"] == "ubuntu-latest"
    assert "python3 dev.py matrix\n" in steps_text(jobs["matrix"]) + "\n"


def test_release_publishes_with_trusted_publishing_and_smoke_tests() -> None:
    workflow = load("release.yml")
    # ruamel's safe loader reads the key `on` as the string "on" (YAML 1.2).
    assert workflow["on"] == {"push": {"tags": ["v*"]}}
    jobs = workflow["jobs"]
    build = steps_text(jobs["build"])
    assert "python3 dev.py build" in build
    assert 'python3 dev.py release-notes "$GITHUB_REF_NAME"' in build
    publish = jobs["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert "pypa/gh-action-pypi-publish@release/v1" in steps_text(publish)
    text = (WORKFLOWS / "release.yml").read_text(encoding="utf-8")
    # Trusted publishing: no token secret anywhere.
    assert "secrets." not in text
    assert "password" not in text
    assert "--notes-file release-notes.md" in steps_text(jobs["github-release"])
    smoke = jobs["smoke-test"]
    assert smoke["needs"] == "publish"
    assert "pipx install poetry" in steps_text(smoke)
    assert 'self add "poetry-ado-plugin==$version"' in steps_text(smoke)


CHANGELOG = """# Changelog

Intro.

## [Unreleased]

### Added
- next thing

## [0.2.0] - 2026-12-01

### Added
- a thing

### Fixed
- a bug

## 0.1.0

- first

[0.2.0]: https://example.invalid/compare/v0.1.0...v0.2.0
"""


def test_changelog_section() -> None:
    assert dev.changelog_section("0.2.0", CHANGELOG) == (
        "### Added\n- a thing\n\n### Fixed\n- a bug\n"
    )
    assert dev.changelog_section("v0.2.0", CHANGELOG) == dev.changelog_section("0.2.0", CHANGELOG)
    assert dev.changelog_section("0.1.0", CHANGELOG) == "- first\n"
    assert dev.changelog_section("Unreleased", CHANGELOG) == "### Added\n- next thing\n"
    assert dev.changelog_section("0.3.0", CHANGELOG) is None
    assert dev.changelog_section("0.2", CHANGELOG) is None


def test_release_notes_task_reads_the_real_changelog() -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "dev.py"), "release-notes", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )

    version = load_toml((ROOT / "pyproject.toml").read_text())["project"]["version"]
    current = run(version)  # the version pyproject.toml declares has its section
    assert current.returncode == 0, current.stderr
    assert "### Added" in current.stdout
    missing = run("v99.0.0")
    assert missing.returncode == 1
    assert missing.stdout == ""
    assert "CHANGELOG.md has no section for v99.0.0" in missing.stderr
    assert run().returncode == 2
