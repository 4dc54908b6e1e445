"""Poetry's own commands with an Azure feed, through the real ``poetry``: ``poetry publish -r``
with no repository configured, and a refused token named in one line by every command."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING
from typing import Any

import pytest

from tests.emulator.emulator import make_pat
from tests.poetry_env import PoetryEnv
from tests.poetry_env import ok
from tests.poetry_env import write_project


if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.emulator.pytest_plugin import EmulatorFactory


pytestmark = pytest.mark.e2e

PACKAGE = "contoso-lib"


def github_env_variables(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def test_the_github_recipe_publishes_with_plain_poetry_publish(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, project_dir: Path, tmp_path: Path
) -> None:
    # A developer added the feed once and committed pyproject.toml.
    write_project(project_dir, "contoso-app")
    ok(poetry_env.run("ado", "add-feed", ado_emulator.feed.index_url, cwd=project_dir))

    # CI: a fresh HOME and Poetry config; only what `ado env` hands to the later steps.
    ci = PoetryEnv(tmp_path / "ci-home")
    github_env = tmp_path / "github-env"
    ok(
        ci.run(
            "ado", "env", "team-feed", "--format", "github", cwd=project_dir,
            env={
                "AZURE_DEVOPS_EXT_PAT": ado_emulator.write_token,
                "GITHUB_ENV": str(github_env),
                "GITHUB_ACTIONS": "true",
            },
        )
    )  # fmt: skip
    variables = github_env_variables(github_env)
    assert set(variables) == {
        "POETRY_HTTP_BASIC_TEAM_FEED_USERNAME",
        "POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD",
    }
    ok(ci.run("build", cwd=project_dir, env=variables))

    result = ci.run("publish", "-r", "team-feed", "-v", cwd=project_dir, env=variables)

    assert result.exit_code == 0, result
    assert (
        f"Publishing to {ado_emulator.feed.upload_url}: the upload URL of source team-feed "
        "(repositories.team-feed.url is not set; nothing was written)"
    ) in result.stdout
    assert ado_emulator.feed.stored_files() == [
        "contoso_app-0.1.0-py3-none-any.whl",
        "contoso_app-0.1.0.tar.gz",
    ]
    posts = [r for r in ado_emulator.feed.requests() if r.method == "POST"]
    assert {r.status for r in posts} == {200}
    assert not (ci.config_dir / "config.toml").exists()  # nothing was written
    assert "Publishing to" not in ci.run("publish", "-r", "team-feed", cwd=project_dir).stdout


def test_a_configured_repository_is_never_changed(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, project_dir: Path
) -> None:
    write_project(project_dir, "contoso-app")
    ok(poetry_env.run("ado", "add-feed", ado_emulator.feed.index_url, cwd=project_dir))
    ok(poetry_env.run("build", cwd=project_dir))
    elsewhere = ado_emulator.org_feed.upload_url
    env = {
        "POETRY_HTTP_BASIC_TEAM_FEED_USERNAME": "azure",
        "POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD": ado_emulator.write_token,
        "POETRY_REPOSITORIES_TEAM_FEED_URL": elsewhere,
    }

    ok(poetry_env.run("publish", "-r", "team-feed", cwd=project_dir, env=env))

    assert ado_emulator.feed.stored_files() == []
    assert len(ado_emulator.org_feed.stored_files()) == 2


@pytest.fixture
def locked_project(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, project_dir: Path
) -> tuple[Path, str]:
    """A consumer of PACKAGE from the feed, logged in and locked; returns (dir, token)."""
    ado_emulator.feed.add_package(PACKAGE, "1.0.0")
    ado_emulator.feed.add_package("contoso-extra", "1.0.0")
    token = make_pat()
    ado_emulator.emulator.add_token(token, write=False)
    write_project(project_dir, "consumer-app")
    ok(
        poetry_env.run(
            "ado", "add-feed", ado_emulator.feed.index_url, "--priority", "primary",
            cwd=project_dir,
        )
    )  # fmt: skip
    ok(poetry_env.run("ado", "login", "--pat-stdin", cwd=project_dir, stdin=token + "\n"))
    ok(poetry_env.run("add", PACKAGE, cwd=project_dir))
    return project_dir, token


@pytest.mark.parametrize("sign_in", ["redirect", "page"])
@pytest.mark.parametrize("command", [("lock",), ("install",), ("add", "contoso-extra")])
@pytest.mark.parametrize("change", ["expired", "rotated"])
def test_a_refused_token_is_named_in_one_line(
    poetry_env: PoetryEnv,
    ado_emulator: AdoEmulator,
    locked_project: tuple[Path, str],
    sign_in: str,
    command: tuple[str, ...],
    change: str,
) -> None:
    project, token = locked_project
    ado_emulator.emulator.sign_in = sign_in  # type: ignore[assignment]
    if command == ("install",):
        ok(poetry_env.run("env", "remove", "--all", cwd=project))
    if change == "expired":
        ado_emulator.emulator.expire_token(token)
    else:
        ado_emulator.emulator.revoke_token(token)  # rotated: the old one is unknown now
    seen = len(ado_emulator.requests)
    if command == ("lock",):
        (project / "poetry.lock").unlink()

    result = poetry_env.run(*command, cwd=project)

    assert result.exit_code != 0, result
    lines = [line for line in result.stderr.splitlines() if "Azure feed source" in line]
    assert len(lines) == 1, result
    assert lines[0].startswith(
        "Azure feed source team-feed refused the request (HTTP 401); Poetry sent the credential "
        "from "
    )
    assert "auth.toml (username azure)" in lines[0]
    assert lines[0].endswith("; run `poetry ado login team-feed`")
    assert token not in result.output
    # The header turned the sign-in page or redirect into a 401 that Poetry reports as such.
    statuses = {r.status for r in ado_emulator.requests[seen:]}
    assert statuses == {401}


def test_a_feed_role_that_is_missing_says_which(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, project_dir: Path
) -> None:
    token = make_pat()
    ado_emulator.emulator.add_token(token, feeds=[ado_emulator.org_feed])
    write_project(project_dir, "consumer-app")
    ok(poetry_env.run("ado", "add-feed", ado_emulator.feed.index_url, cwd=project_dir))
    env = {
        "POETRY_HTTP_BASIC_TEAM_FEED_USERNAME": "ci",
        "POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD": token,
    }

    result = poetry_env.run("add", PACKAGE, "--source", "team-feed", cwd=project_dir, env=env)

    assert result.exit_code != 0
    assert (
        "Azure feed source team-feed refused the request (HTTP 403); Poetry sent the credential "
        "from POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD (username ci); the identity has no role on "
        "the feed: ask a feed owner for the Feed Reader role (Contributor to publish)"
    ) in result.stderr


class _Refuses(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="elsewhere"')
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def refusing_index() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuses)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
    finally:
        server.shutdown()
        server.server_close()


def test_nothing_is_said_for_a_source_that_is_not_azure(
    poetry_env: PoetryEnv,
    ado_emulator_factory: EmulatorFactory,
    refusing_index: str,
    project_dir: Path,
) -> None:
    emulator = ado_emulator_factory()
    feed = emulator.add_feed("contoso", "team-feed")
    write_project(
        project_dir,
        "consumer-app",
        extra=(
            f'\n[[tool.poetry.source]]\nname = "other"\nurl = "{refusing_index}"\n'
            f'priority = "primary"\n'
            f'\n[[tool.poetry.source]]\nname = "team-feed"\nurl = "{feed.index_url}"\n'
            'priority = "explicit"\n'
        ),
    )

    result = poetry_env.run("add", "anything", cwd=project_dir)

    assert result.exit_code != 0
    assert "Azure feed source" not in result.output
    assert feed.requests() == []
