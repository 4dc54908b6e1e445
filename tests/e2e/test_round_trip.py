"""Publish and install round trips with the real ``poetry`` against the Azure feed emulator.

A producer project adds the feed, logs in, builds and publishes with Poetry's own
``poetry publish -r``; a consumer project adds the same feed as an explicit source, adds the
package pinned to it and installs it into its own virtual environment."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

import pytest

from poetry_ado_plugin.verify import PROBE_PACKAGE
from tests.poetry_env import ok
from tests.poetry_env import write_project


if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulator import EmulatedFeed
    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.emulator.pytest_plugin import EmulatorFactory
    from tests.poetry_env import PoetryEnv


pytestmark = pytest.mark.e2e

PACKAGE = "contoso-greetings"
VERSION = "1.2.0"
DIST_FILES = [
    "contoso_greetings-1.2.0-py3-none-any.whl",
    "contoso_greetings-1.2.0.tar.gz",
]


def add_feed_and_login(
    poetry_env: PoetryEnv, directory: Path, url: str, token: str, *add_feed: str
) -> str:
    """``add-feed URL ADD_FEED`` and a verified login with ``token``; returns the source name."""
    added = ok(poetry_env.run("ado", "add-feed", url, *add_feed, cwd=directory))
    name = added.stdout.split("Added source ")[1].split()[0]
    ok(poetry_env.run("ado", "login", name, "--pat-stdin", cwd=directory, stdin=token + "\n"))
    return name


def make_producer(poetry_env: PoetryEnv, directory: Path, url: str, token: str) -> str:
    """A built producer project, with the feed added and a verified login; returns the name."""
    directory.mkdir()
    write_project(directory, PACKAGE, version=VERSION)
    name = add_feed_and_login(poetry_env, directory, url, token)
    ok(poetry_env.run("build", cwd=directory))
    return name


def install_in_consumer(
    poetry_env: PoetryEnv, directory: Path, url: str, token: str
) -> tuple[Path, str]:
    directory.mkdir()
    write_project(directory, "consumer-app")
    name = add_feed_and_login(poetry_env, directory, url, token, "--priority", "explicit")
    ok(poetry_env.run("add", PACKAGE, "--source", name, cwd=directory))
    ok(poetry_env.run("install", cwd=directory))
    return directory, name


def imported_value(project: Path) -> str:
    python = project / ".venv" / "bin" / "python"
    return subprocess.run(
        [str(python), "-c", "import contoso_greetings; print(contoso_greetings.VALUE)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def assert_published(feed: EmulatedFeed, token: str) -> None:
    accepted = [upload for upload in feed.uploads() if upload.accepted]
    assert sorted(upload.filename for upload in accepted) == DIST_FILES
    assert feed.stored_files() == DIST_FILES
    posts = [request for request in feed.requests() if request.method == "POST"]
    assert posts
    assert all(request.path.endswith("/pypi/upload/") for request in posts)
    assert all(request.password == token for request in posts)
    assert all(request.username for request in posts)


def assert_installed_from(consumer: Path, name: str, index_url: str) -> None:
    assert imported_value(consumer) == f"{PACKAGE} {VERSION}"
    lock = (consumer / "poetry.lock").read_text()
    assert f'name = "{PACKAGE}"' in lock
    # Poetry records the source URL without its trailing slash.
    assert f'url = "{index_url.rstrip("/")}"\nreference = "{name}"' in lock


@pytest.mark.parametrize("scope", ["project", "organization"])
def test_publish_then_install(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, tmp_path: Path, scope: str
) -> None:
    feed = ado_emulator.feed if scope == "project" else ado_emulator.org_feed
    assert ("/Fabrikam%20Web/_packaging/" in feed.index_url) == (scope == "project")
    name = make_producer(
        poetry_env, tmp_path / "producer", feed.index_url, ado_emulator.write_token
    )

    ok(poetry_env.run("publish", "-r", name, cwd=tmp_path / "producer"))

    assert_published(feed, ado_emulator.write_token)
    consumer, source = install_in_consumer(
        poetry_env, tmp_path / "consumer", feed.index_url, ado_emulator.read_token
    )
    assert_installed_from(consumer, source, feed.index_url)


def test_publishing_the_same_version_again(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, tmp_path: Path
) -> None:
    producer = tmp_path / "producer"
    name = make_producer(
        poetry_env, producer, ado_emulator.feed.index_url, ado_emulator.write_token
    )
    ok(poetry_env.run("publish", "-r", name, cwd=producer))

    again = poetry_env.run("publish", "-r", name, cwd=producer)
    skipped = poetry_env.run("publish", "-r", name, "--skip-existing", cwd=producer)

    # What Poetry's own uploader shows today; `poetry ado publish` explains it better.
    assert again.exit_code == 1, again
    assert "409" in again.output
    assert skipped.exit_code == 0, skipped
    assert "file exists. skipping" in skipped.output.lower()
    assert ado_emulator.feed.stored_files() == DIST_FILES


def test_round_trip_through_a_server_prefixed_feed_and_a_view(
    poetry_env: PoetryEnv, ado_emulator_factory: EmulatorFactory, tmp_path: Path
) -> None:
    emulator = ado_emulator_factory(prefix="/tfs")
    feed = emulator.add_feed("DefaultCollection", "onprem-feed", project="Web")
    token = emulator.generate_token(write=True)
    assert "/tfs/DefaultCollection/Web/_packaging/onprem-feed/" in feed.index_url
    name = make_producer(poetry_env, tmp_path / "producer", feed.index_url, token)

    ok(poetry_env.run("publish", "-r", name, cwd=tmp_path / "producer"))

    assert_published(feed, token)
    # A view shows only promoted versions (`poetry ado promote` is tested on its own).
    assert feed.promote(PACKAGE, VERSION, "Release")
    release_view = feed.view_url("Release")
    consumer, source = install_in_consumer(poetry_env, tmp_path / "consumer", release_view, token)
    assert source == "onprem-feed"
    assert_installed_from(consumer, source, release_view)
    # login's probe of a package the view does not have answers 404; everything else is found
    view_requests = [
        r for r in feed.requests() if r.view == "Release" and PROBE_PACKAGE not in r.path
    ]
    assert view_requests
    assert all(r.status in (200, 303) for r in view_requests if r.method == "GET")


def producer_with_unverified_token(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, directory: Path, token: str
) -> None:
    directory.mkdir()
    write_project(directory, PACKAGE, version=VERSION)
    ok(poetry_env.run("ado", "add-feed", ado_emulator.feed.index_url, cwd=directory))
    # Poetry's own credential command, which stores a token without checking it.
    ok(poetry_env.run("config", "http-basic.team-feed", "azure", token, cwd=directory))
    ok(poetry_env.run("build", cwd=directory))


def test_publish_with_a_read_only_token_gets_azure_403(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, tmp_path: Path
) -> None:
    producer = tmp_path / "producer"
    producer_with_unverified_token(poetry_env, ado_emulator, producer, ado_emulator.read_token)

    result = poetry_env.run("publish", "-r", "team-feed", cwd=producer)

    assert result.exit_code == 1, result
    assert "HTTP Error 403" in result.output
    assert ado_emulator.feed.stored_files() == []
    posts = [r for r in ado_emulator.feed.requests() if r.method == "POST"]
    assert [r.status for r in posts] == [403]


@pytest.mark.parametrize(("sign_in", "without_plugin"), [("redirect", 302), ("page", 203)])
def test_publish_with_a_wrong_token_is_a_401_that_names_the_credential(
    poetry_env: PoetryEnv,
    ado_emulator: AdoEmulator,
    tmp_path: Path,
    sign_in: str,
    without_plugin: int,
) -> None:
    """Azure answers a token it cannot read, from a client that does not send
    X-TFS-FedAuthRedirect: Suppress, with a 302 to its sign-in page (or, from the sign-in front
    end, a 203 page). Poetry alone then fails with "Redirects are not supported" (302), or takes
    the 203 for success and exits 0 with nothing stored. With the plugin, Poetry's own publish
    asks for a plain 401, fails on it, and one line says what to do."""
    ado_emulator.emulator.sign_in = sign_in  # type: ignore[assignment]
    producer = tmp_path / "producer"
    producer_with_unverified_token(poetry_env, ado_emulator, producer, "not-a-valid-token")

    alone = poetry_env.run("--no-plugins", "publish", "-r", "team-feed", cwd=producer)
    result = poetry_env.run("publish", "-r", "team-feed", cwd=producer)

    assert alone.exit_code == (1 if without_plugin == 302 else 0), alone
    assert result.exit_code == 1, result
    assert "HTTP Error 401" in result.output
    assert (
        "Azure feed source team-feed refused the request (HTTP 401); Poetry sent the credential "
        "from "
    ) in result.stderr
    assert "run `poetry ado login team-feed`" in result.stderr
    assert ado_emulator.feed.stored_files() == []
    posts = [r for r in ado_emulator.requests if r.method == "POST"]
    alone_posts = [r.status for r in posts if r.status == without_plugin]
    assert alone_posts
    assert posts[-1].status == 401


def test_installing_from_an_unknown_feed_fails_with_404(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, tmp_path: Path
) -> None:
    missing = ado_emulator.feed.index_url.replace("team-feed", "no-such-feed")
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    write_project(consumer, "consumer-app")
    ok(poetry_env.run("ado", "add-feed", missing, "--priority", "explicit", cwd=consumer))
    login = poetry_env.run(
        "ado", "login", "--pat-stdin", cwd=consumer, stdin=ado_emulator.read_token + "\n"
    )
    assert login.exit_code == 1, login
    assert "feed not found" in login.stderr
    ok(
        poetry_env.run(
            "config", "http-basic.no-such-feed", "azure", ado_emulator.read_token, cwd=consumer
        )
    )

    result = poetry_env.run("add", PACKAGE, "--source", "no-such-feed", cwd=consumer)

    # Poetry reads the feed's 404 as "no such package" and says only that today.
    assert result.exit_code == 1, result
    assert "Could not find a matching version of package contoso-greetings" in result.output
    gets = [r for r in ado_emulator.requests if r.method == "GET" and "no-such-feed" in r.path]
    assert gets
    assert {r.status for r in gets} == {404}
