"""The release story with the real poetry: publish, promote to @Release, and a consumer of the
view that sees the version only after the promotion; publish --promote; the first-publish hint
and protect; check-name reading the upstream setting."""

from __future__ import annotations

from typing import TYPE_CHECKING
from typing import NamedTuple

import pytest

from tests.e2e.test_round_trip import PACKAGE
from tests.e2e.test_round_trip import VERSION
from tests.e2e.test_round_trip import make_producer
from tests.poetry_env import PoetryEnv
from tests.poetry_env import ok
from tests.poetry_env import write_project
from tests.public_index_server import closed_port_url


if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.poetry_env import Result


pytestmark = pytest.mark.e2e


def publish(poetry_env: PoetryEnv, producer: Path, *args: str) -> Result:
    # The public index is a closed local port: the name lookups fail fast and stay local.
    return poetry_env.run(
        "ado", "publish", "--no-check-name", "--index-url", closed_port_url(), *args, cwd=producer
    )


def consumer_add(poetry_env: PoetryEnv, consumer: Path, source: str) -> Result:
    return poetry_env.run("add", f"{PACKAGE}=={VERSION}", "--source", source, cwd=consumer)


class Producer(NamedTuple):
    directory: Path
    source: str


@pytest.fixture
def producer(poetry_env: PoetryEnv, ado_emulator: AdoEmulator, tmp_path: Path) -> Producer:
    """The package's project, built and logged in to the feed with the write token."""
    directory = tmp_path / "producer"
    feed = ado_emulator.feed
    return Producer(
        directory, make_producer(poetry_env, directory, feed.index_url, ado_emulator.write_token)
    )


def test_a_consumer_of_release_sees_the_version_after_promote(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, tmp_path: Path, producer: Producer
) -> None:
    feed = ado_emulator.feed
    source = producer.source
    feed.allow_external_versions(PACKAGE)  # not protected: the first publish hints at protect

    published = ok(publish(poetry_env, producer.directory))

    assert f"This was the first version of {PACKAGE} on team-feed: run poetry ado protect" in (
        published.stdout
    )
    # The consumer is someone else, on another machine: a Poetry home of its own.
    reader_env = PoetryEnv(tmp_path / "consumer-home")
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    write_project(consumer, "consumer-app")
    release = feed.view_url("Release")
    ok(reader_env.run("ado", "add-feed", release, "--priority", "explicit", cwd=consumer))
    ok(
        reader_env.run(
            "ado", "login", "--pat-stdin", cwd=consumer, stdin=ado_emulator.read_token + "\n"
        )
    )
    before = consumer_add(reader_env, consumer, source)
    assert before.exit_code != 0, before  # not in the view yet

    versions = ok(poetry_env.run("ado", "versions", "--format", "json", cwd=producer.directory))
    assert versions.json()["current"]["state"] == "published"
    promoted = ok(poetry_env.run("ado", "promote", "--view", "Release", cwd=producer.directory))
    again = ok(poetry_env.run("ado", "promote", "--view", "Release", cwd=producer.directory))

    assert f"Promoted {PACKAGE} {VERSION} to view Release of team-feed." in promoted.stdout
    assert "nothing to do" in again.stdout
    after = ok(consumer_add(reader_env, consumer, source))
    assert f"Installing {PACKAGE} ({VERSION})" in after.stdout
    lock = (consumer / "poetry.lock").read_text()
    assert "team-feed@Release" in lock

    # The owner protects the name; the hint is not repeated for the next version.
    owner = ado_emulator.emulator.generate_token(role="owner")
    ok(poetry_env.run("config", f"http-basic.{source}", "azure", owner, cwd=producer.directory))
    protected = ok(poetry_env.run("ado", "protect", cwd=producer.directory))
    assert "Protected 1 package." in protected.stdout
    assert not feed.allows_external_versions(PACKAGE)


def test_publish_promote_promotes_after_the_upload(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, producer: Producer
) -> None:
    feed = ado_emulator.feed

    result = ok(publish(poetry_env, producer.directory, "--promote", "Release"))

    assert f"Promoted {PACKAGE} {VERSION} to view Release of team-feed." in result.stdout
    assert "poetry ado protect" not in result.stdout  # auto is the default: already protected
    assert feed.views_of(PACKAGE, VERSION) == ("Local", "Release")
    methods = [r.method for r in feed.requests() if r.status is not None]
    assert methods.index("PATCH") > max(i for i, m in enumerate(methods) if m == "POST")


def test_publish_promote_to_an_unknown_view_says_the_files_were_published(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, producer: Producer
) -> None:
    feed = ado_emulator.feed

    result = publish(poetry_env, producer.directory, "--promote", "Staging")

    assert result.exit_code == 1, result
    assert f"{PACKAGE} {VERSION} was published, but not promoted to view Staging" in result.stderr
    assert "its views: Local, Prerelease, Release" in result.stderr
    assert feed.stored_files()


def test_check_name_reports_a_dependency_whose_feed_allows_external_versions(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, project_dir: Path
) -> None:
    feed = ado_emulator.feed
    write_project(
        project_dir,
        "consumer-app",
        extra=(
            "\n[tool.poetry.dependencies]\n"
            'acme-core = { version = "^1", source = "team-feed" }\n'
            "\n[[tool.poetry.source]]\n"
            f'name = "team-feed"\nurl = "{feed.index_url}"\npriority = "explicit"\n'
        ),
    )
    index = closed_port_url()
    args = ("ado", "check-name", "--dependencies", "--index-url", index, "--format", "json")

    unread = poetry_env.run(*args, cwd=project_dir)
    ok(
        poetry_env.run(
            "config", "http-basic.team-feed", "azure", ado_emulator.read_token, cwd=project_dir
        )
    )
    feed.allow_external_versions("acme-core")
    exposed = poetry_env.run(*args, cwd=project_dir)
    feed.allow_external_versions("acme-core", False)
    guarded = poetry_env.run(*args, cwd=project_dir)

    def upstreaming(result: Result) -> dict[str, str]:
        [dependency] = result.json()["dependencies"]
        return next(c for c in dependency["checks"] if c["check"] == "upstreaming")

    assert upstreaming(unread)["verdict"] == "skipped"
    assert "run poetry ado login team-feed" in upstreaming(unread)["reason"]
    assert upstreaming(exposed)["verdict"] == "problem", upstreaming(exposed)
    assert exposed.exit_code == 1, exposed
    assert "poetry ado protect acme-core --feed team-feed" in upstreaming(exposed)["reason"]
    assert upstreaming(guarded)["verdict"] == "ok"
    assert exposed.json()["schema"] == 2
