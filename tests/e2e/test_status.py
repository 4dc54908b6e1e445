"""``poetry ado`` / ``poetry ado status`` through the real ``poetry``: where things stand, with
no request sent."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any

import pytest

from tests.emulator.emulator import make_jwt
from tests.poetry_env import ok
from tests.poetry_env import write_project


if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.poetry_env import PoetryEnv
    from tests.poetry_env import ProjectFactory
    from tests.poetry_env import Result


pytestmark = pytest.mark.e2e


def report(result: Result) -> dict[str, Any]:
    document: dict[str, Any] = ok(result).json()
    return document


@pytest.fixture
def project(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, project_factory: ProjectFactory
) -> Path:
    project = project_factory()
    ok(poetry_env.run("ado", "add-feed", ado_emulator.feed.index_url, cwd=project))
    return project


def test_a_logged_in_source(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, project: Path
) -> None:
    ok(
        poetry_env.run(
            "ado", "login", "--pat-stdin", cwd=project, stdin=ado_emulator.read_token + "\n"
        )
    )
    seen = len(ado_emulator.requests)

    text = ok(poetry_env.run("ado", cwd=project))
    document = report(poetry_env.run("ado", "status", "--format", "json", cwd=project))

    assert len(ado_emulator.requests) == seen  # no request
    assert ado_emulator.read_token not in text.output
    config = poetry_env.config_dir
    lines = text.stdout.splitlines()
    assert (
        lines[0]
        == f"Azure Artifacts feed sources in pyproject.toml ({project / 'pyproject.toml'}):"
    )
    assert "team-feed (supplemental)" in lines
    assert f"  index       {ado_emulator.feed.index_url}" in lines
    assert (
        f"  publish     {ado_emulator.feed.upload_url} (repositories.team-feed.url, in "
        f"{config / 'config.toml'})"
    ) in lines
    assert f"  credential  {config / 'auth.toml'}, username azure" in lines
    assert "Commands:" in lines
    assert any(line.startswith("  poetry ado login ") for line in lines)

    [source] = document["sources"]
    assert document["schema"] == 1
    assert document["pyproject"] == str(project / "pyproject.toml")
    assert source == {
        "name": "team-feed",
        "priority": "supplemental",
        "index_url": ado_emulator.feed.index_url,
        "upload_url": ado_emulator.feed.upload_url,
        "repository": {
            "state": "set",
            "url": ado_emulator.feed.upload_url,
            "where": str(config / "config.toml"),
        },
        "credential": {"where": str(config / "auth.toml"), "username": "azure", "expires_on": None},
        "refresh": None,
    }
    names = [c["name"] for c in document["commands"]]
    assert "ado login" in names
    assert "ado status" not in names


def test_ci_variables_and_no_repository(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, project: Path
) -> None:
    (poetry_env.config_dir / "config.toml").unlink()
    expires = int(datetime(2030, 1, 2, 3, 4).timestamp())
    env = {
        "POETRY_HTTP_BASIC_TEAM_FEED_USERNAME": "build",
        "POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD": make_jwt({"exp": int(expires)}),
    }

    text = ok(poetry_env.run("ado", "status", cwd=project, env=env))
    document = report(poetry_env.run("ado", "--format", "json", cwd=project, env=env))

    assert (
        f"  publish     {ado_emulator.feed.upload_url} (repositories.team-feed.url is not set; "
        "poetry publish -r team-feed gets this URL from the plugin)"
    ) in text.stdout.splitlines()
    assert (
        "  credential  POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD, username build, expires "
        "2030-01-02 03:04"
    ) in text.stdout.splitlines()
    [source] = document["sources"]
    assert source["repository"] == {"state": "missing", "url": None, "where": None}
    assert source["credential"] == {
        "where": "POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD",
        "username": "build",
        "expires_on": expires,
    }


def test_a_repository_that_points_elsewhere_and_no_credential(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, project: Path
) -> None:
    env = {"POETRY_REPOSITORIES_TEAM_FEED_URL": ado_emulator.org_feed.upload_url}

    document = report(poetry_env.run("ado", "--format", "json", cwd=project, env=env))
    text = ok(poetry_env.run("ado", cwd=project, env=env)).stdout.splitlines()

    [source] = document["sources"]
    assert source["repository"] == {
        "state": "elsewhere",
        "url": ado_emulator.org_feed.upload_url,
        "where": "POETRY_REPOSITORIES_TEAM_FEED_URL",
    }
    assert source["credential"] == {"where": "none", "username": None, "expires_on": None}
    assert "  credential  none: run poetry ado login team-feed" in text


def test_outside_a_project_the_configured_feeds(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    url = ado_emulator.org_feed.upload_url
    ok(poetry_env.run("config", "repositories.org", url, cwd=outside))
    ok(poetry_env.run("config", "repositories.public", "https://example.org/legacy/", cwd=outside))

    document = report(poetry_env.run("ado", "--format", "json", cwd=outside))
    text = ok(poetry_env.run("ado", cwd=outside)).stdout

    assert document["pyproject"] is None
    assert [(s["name"], s["priority"], s["repository"]["state"]) for s in document["sources"]] == [
        ("org", None, "set")
    ]
    assert text.startswith(
        "Not in a project. Repositories in Poetry's config that are Azure feeds:"
    )


def test_a_project_without_azure_sources(poetry_env: PoetryEnv, project_dir: Path) -> None:
    write_project(project_dir)
    result = ok(poetry_env.run("ado", cwd=project_dir))
    assert "No Azure Artifacts feed source in pyproject.toml" in result.stdout
    assert "poetry ado add-feed <feed URL>" in result.stdout
    bad = poetry_env.run("ado", "--format", "yaml", cwd=project_dir)
    assert (bad.exit_code, bad.stderr.strip()) == (
        1,
        "Error: --format must be text or json, not 'yaml'",
    )
