"""`poetry ado publish` driving the real poetry against the feed emulator.

Every run is checked for the token (never shown, at any verbosity) and for HTML (never dumped);
each test then asserts what the emulator stored and received, and what the user saw."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from tests.emulator.packages import build_sdist
from tests.emulator.packages import build_wheel
from tests.poetry_env import source_table
from tests.poetry_env import write_project
from tests.public_index_server import PublicIndexServer
from tests.public_index_server import closed_port_url


if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.emulator.records import RecordedRequest
    from tests.poetry_env import PoetryEnv
    from tests.poetry_env import Result


pytestmark = [pytest.mark.e2e, pytest.mark.public_index(["requests"])]

SOURCE = "team-feed"
PROJECT = "sample-app"
WHEEL = "sample_app-0.1.0-py3-none-any.whl"
SDIST = "sample_app-0.1.0.tar.gz"
FAST_RETRIES = {"POETRY_ADO_PUBLISH_BACKOFF": "0.05"}


@dataclass
class Publishing:
    poetry: PoetryEnv
    project: Path
    ado: AdoEmulator
    public: PublicIndexServer

    @property
    def dist(self) -> Path:
        return self.project / "dist"

    def configure(self, token: str | None = None, *, repository: str | None = "upload") -> None:
        """Store the credential as a user would, and the publish repository (upload URL)."""
        token = token or self.ado.write_token
        result = self.poetry.run(
            "config", f"http-basic.{SOURCE}", self.ado.username, token, cwd=self.project
        )
        assert result.exit_code == 0, result
        if repository is not None:
            url = self.ado.feed.upload_url if repository == "upload" else repository
            result = self.poetry.run("config", f"repositories.{SOURCE}", url, cwd=self.project)
            assert result.exit_code == 0, result

    def build(self, version: str = "0.1.0") -> None:
        build_wheel(self.dist, PROJECT, version)
        build_sdist(self.dist, PROJECT, version)

    def run(self, *args: str, index_url: str | None = None) -> Result:
        result = self.poetry.run(
            "ado",
            "publish",
            "--index-url",
            index_url or self.public.url,
            *args,
            cwd=self.project,
            env=FAST_RETRIES,
        )
        for token in (self.ado.write_token, self.ado.read_token, self.ado.expired_token):
            assert token not in result.output
        assert "<html" not in result.output.lower()
        assert "<!doctype" not in result.output.lower()
        return result

    def posts(self) -> list[RecordedRequest]:
        return [r for r in self.ado.requests if r.method == "POST"]

    def post_statuses(self) -> list[int | None]:
        return [r.status for r in self.posts()]


@pytest.fixture
def publishing(
    project_dir: Path,
    poetry_env: PoetryEnv,
    ado_emulator: AdoEmulator,
    public_index: PublicIndexServer,
) -> Publishing:
    write_project(project_dir, PROJECT, extra=source_table(SOURCE, ado_emulator.feed.index_url))
    return Publishing(poetry_env, project_dir, ado_emulator, public_index)


@pytest.fixture
def ready(publishing: Publishing) -> Publishing:
    """Credential and repository configured, 0.1.0 built."""
    publishing.configure()
    publishing.build()
    return publishing


# --- success ---------------------------------------------------------------------------------


def test_publishes_the_current_version_with_poetrys_progress(ready: Publishing) -> None:
    result = ready.run()
    assert result.exit_code == 0, result
    assert ready.ado.feed.stored_files() == [WHEEL, SDIST]
    assert [(u.filename, u.accepted) for u in ready.ado.feed.uploads()] == [
        (SDIST, True),
        (WHEEL, True),
    ]
    assert all(u.username == ready.ado.username for u in ready.ado.feed.uploads())
    assert f"Name {PROJECT}: no problems found against {ready.public.url}" in result.stdout
    assert "Publishing sample-app (0.1.0) to team-feed" in result.stdout
    assert f" - Uploading {WHEEL}" in result.output
    assert "Published sample-app 0.1.0 to team-feed: 2 uploaded." in result.stdout
    # The name was checked on the public index; the feed's index was read before uploading.
    assert ready.public.count("/simple/sample-app/") == 1
    [index_read] = [r for r in ready.ado.requests if r.method == "GET" and "/_apis/" not in r.path]
    assert index_read.path.endswith("/_packaging/team-feed/pypi/simple/sample-app/")
    assert index_read.status == 404  # no such project on the feed yet
    # A first version: its upstream setting is read once, after the upload (auto: no hint).
    [setting] = [r for r in ready.ado.requests if "/_apis/" in r.path]
    assert setting.path.endswith("/pypi/packages/sample-app/upstreaming")
    assert "poetry ado protect" not in result.stdout


def test_token_stays_hidden_at_full_verbosity(ready: Publishing) -> None:
    result = ready.run("-vvv")
    assert result.exit_code == 0, result
    ready.configure(ready.ado.expired_token)
    ready.build("0.1.0")
    result = ready.run("-vvv")
    assert result.exit_code == 1, result  # run() asserted that neither token was shown


def test_dry_run_checks_everything_and_sends_nothing(ready: Publishing) -> None:
    result = ready.run("--dry-run")
    assert result.exit_code == 0, result
    assert ready.posts() == []
    assert ready.ado.feed.stored_files() == []
    assert [r.method for r in ready.ado.requests] == ["GET"]  # the version check ran
    assert (
        f"Dry run: would publish sample-app (0.1.0) to team-feed at {ready.ado.feed.upload_url}:"
    ) in result.stdout
    assert f" - {SDIST}\n - {WHEEL}\nNothing was uploaded." in result.stdout


def test_build_first(publishing: Publishing) -> None:
    publishing.configure()
    result = publishing.run("--build")
    assert result.exit_code == 0, result
    assert "Building sample-app (0.1.0)" in result.stdout
    assert publishing.ado.feed.stored_files() == [WHEEL, SDIST]


# --- the version is already there ------------------------------------------------------------


def test_existing_version_stops_before_any_upload(ready: Publishing) -> None:
    ready.ado.feed.add_package(PROJECT, "0.1.0")
    result = ready.run()
    assert result.exit_code == 1, result
    assert ready.posts() == []
    assert (
        f"Error: sample-app 0.1.0 is already on feed team-feed ({WHEEL}): Azure Artifacts never "
        "lets a package version be published again, not even after it was deleted: give the "
        "project a new version"
    ) in result.stderr
    assert "--skip-existing" in result.stderr


def test_skip_existing_skips_what_is_there_and_uploads_the_rest(ready: Publishing) -> None:
    ready.ado.feed.add_package(PROJECT, "0.1.0")  # the same wheel, byte for byte
    result = ready.run("--skip-existing")
    assert result.exit_code == 0, result
    assert f"Skipping {WHEEL}: already on the feed\n" in result.stdout
    assert [p.upload.filename for p in ready.posts() if p.upload] == [SDIST]
    assert ready.ado.feed.stored_files() == [WHEEL, SDIST]
    assert "1 uploaded, 1 skipped as already there" in result.stdout

    again = ready.run("--skip-existing")
    assert again.exit_code == 0, again
    assert "Nothing to upload: sample-app 0.1.0 is already on team-feed." in again.stdout
    assert len(ready.posts()) == 1


def test_deleted_version_is_explained_even_with_skip_existing(ready: Publishing) -> None:
    ready.ado.feed.add_package(PROJECT, "0.1.0")
    ready.ado.feed.delete_version(PROJECT, "0.1.0")
    for args in ((), ("--skip-existing",)):
        result = ready.run(*args)
        assert result.exit_code == 1, result
        assert f"the feed refused {SDIST} (HTTP 409) although its index does not list it" in (
            result.stderr
        )
        assert "published before and deleted" in result.stderr
        assert "Published" not in result.stdout
    assert ready.post_statuses() == [409, 409]
    assert ready.ado.feed.stored_files() == []


# --- tokens ----------------------------------------------------------------------------------


def test_read_only_token_needs_contributor(publishing: Publishing) -> None:
    publishing.configure(publishing.ado.read_token)
    publishing.build()
    result = publishing.run()
    assert result.exit_code == 1, result
    assert publishing.post_statuses() == [403]  # a 4xx is never retried
    assert "the token for team-feed may not publish to feed team-feed (HTTP 403" in result.stderr
    assert "Contributor role on the feed" in result.stderr
    assert "Packaging Read & write" in result.stderr
    assert publishing.ado.feed.stored_files() == []


@pytest.mark.parametrize("kind", ["expired", "wrong"])
def test_expired_or_wrong_token_says_login_and_uploads_nothing(
    publishing: Publishing, kind: str
) -> None:
    token = publishing.ado.expired_token if kind == "expired" else "not-a-token"
    publishing.configure(token)
    publishing.build()
    result = publishing.run()
    assert result.exit_code == 1, result
    if kind == "expired":
        assert result.stderr.strip() == (
            "Error: the token for team-feed has expired (HTTP 401: Access Denied: The Personal "
            "Access Token used has expired.): run poetry ado login team-feed with a new one"
        )
    else:
        assert result.stderr.strip() == (
            "Error: team-feed did not accept the token for team-feed (HTTP 401): it is wrong "
            "or has expired; run poetry ado login team-feed"
        )
    assert publishing.posts() == []
    assert [r.status for r in publishing.ado.requests] == [401]


def test_missing_credential_says_login(publishing: Publishing) -> None:
    result = publishing.poetry.run(
        "config", f"repositories.{SOURCE}", publishing.ado.feed.upload_url, cwd=publishing.project
    )
    assert result.exit_code == 0, result
    publishing.build()
    result = publishing.run()
    assert result.exit_code == 1, result
    assert "no credential for team-feed" in result.stderr
    assert "poetry ado login team-feed" in result.stderr
    assert publishing.ado.requests == []


# --- network failures ------------------------------------------------------------------------


def test_server_errors_are_retried(ready: Publishing) -> None:
    ready.ado.emulator.fail_next(2, status=500, method="POST")
    result = ready.run()
    assert result.exit_code == 0, result
    assert ready.post_statuses() == [500, 500, 200, 200]
    assert (
        f"Retrying upload of {SDIST} (attempt 2 of 4) after 500 Internal Server Error"
    ) in result.stdout
    assert f"Retrying upload of {SDIST} (attempt 3 of 4)" in result.stdout
    assert ready.ado.feed.stored_files() == [WHEEL, SDIST]


def test_dropped_connection_is_retried(ready: Publishing) -> None:
    ready.ado.emulator.drop_next(1, method="POST")
    result = ready.run()
    assert result.exit_code == 0, result
    assert ready.post_statuses() == [None, 200, 200]
    assert f"Retrying upload of {SDIST} (attempt 2 of 4) after a dropped connection" in (
        result.stdout
    )
    assert ready.ado.feed.stored_files() == [WHEEL, SDIST]


def test_server_that_keeps_failing_is_given_up(ready: Publishing) -> None:
    ready.ado.emulator.fail_next(10, status=503, method="POST")
    result = ready.run()
    assert result.exit_code == 1, result
    assert ready.post_statuses() == [503] * 4
    assert f"could not upload {SDIST} to team-feed after 4 attempts" in result.stderr


# --- names -----------------------------------------------------------------------------------


def test_name_on_the_public_index_stops_unless_told(ready: Publishing) -> None:
    ready.public.add(PROJECT)
    result = ready.run()
    assert result.exit_code == 1, result
    assert "Error: the name sample-app has a problem: sample-app exists on 127.0.0.1" in (
        result.stderr
    )
    assert "--no-check-name" in result.stderr
    assert ready.ado.requests == []

    ready.public.reset()
    result = ready.run("--no-check-name")
    assert result.exit_code == 0, result
    # no name check; the public page is read once for its files, to tell upstream copies
    assert [r.path for r in ready.public.requests] == [f"/simple/{PROJECT}/"]
    assert ready.ado.feed.stored_files() == [WHEEL, SDIST]


def test_unreachable_public_index_is_a_warning(ready: Publishing) -> None:
    result = ready.run(index_url=closed_port_url())
    assert result.exit_code == 0, result
    assert "Warning: could not check 127.0.0.1" in result.stderr
    assert "publishing anyway" in result.stderr
    assert ready.ado.feed.stored_files() == [WHEEL, SDIST]


# --- dist/ -----------------------------------------------------------------------------------


def test_stale_file_of_another_version_is_ignored(ready: Publishing) -> None:
    build_wheel(ready.dist, PROJECT, "0.2.0")
    result = ready.run()
    assert result.exit_code == 0, result
    assert (
        "Ignoring dist/sample_app-0.2.0-py3-none-any.whl: it is version 0.2.0; the project is 0.1.0"
    ) in result.stdout
    assert ready.ado.feed.stored_files() == [WHEEL, SDIST]
    assert {p.upload.version for p in ready.posts() if p.upload} == {"0.1.0"}


def test_file_whose_metadata_disagrees_is_refused(publishing: Publishing) -> None:
    publishing.configure()
    build_wheel(publishing.dist, PROJECT, "0.2.0").rename(publishing.dist / WHEEL)
    result = publishing.run()
    assert result.exit_code == 1, result
    assert (
        f"Error: {WHEEL} says it is sample-app 0.2.0 in its METADATA, but the project is "
        "sample-app 0.1.0"
    ) in result.stderr
    assert publishing.ado.requests == []


def test_nothing_built_says_build(publishing: Publishing) -> None:
    publishing.configure()
    result = publishing.run()
    assert result.exit_code == 1, result
    assert "no files of sample-app 0.1.0" in result.stderr
    assert "--build" in result.stderr


# --- sources and repositories ----------------------------------------------------------------


def test_view_source_publishes_to_the_feed_itself(
    project_dir: Path,
    poetry_env: PoetryEnv,
    ado_emulator: AdoEmulator,
    public_index: PublicIndexServer,
) -> None:
    view_url = ado_emulator.feed.view_url("Release")
    write_project(project_dir, PROJECT, extra=source_table(SOURCE, view_url))
    publishing = Publishing(poetry_env, project_dir, ado_emulator, public_index)
    publishing.configure()
    publishing.build()
    result = publishing.run()
    assert result.exit_code == 0, result
    assert ado_emulator.feed.stored_files() == [WHEEL, SDIST]
    assert all(r.view is None for r in ado_emulator.requests)  # index read and uploads
    assert all("@" not in p.path for p in publishing.posts())


@pytest.mark.parametrize("repository", [None, "simple"])
def test_unset_or_install_repository_url_still_publishes_with_a_warning(
    publishing: Publishing, repository: str | None
) -> None:
    configured = publishing.ado.feed.index_url if repository == "simple" else None
    publishing.configure(repository=configured)
    publishing.build()
    result = publishing.run()
    assert result.exit_code == 0, result
    assert "Warning: repositories.team-feed.url" in result.stderr
    assert "poetry ado add-feed" in result.stderr
    assert [p.status for p in publishing.posts()] == [200, 200]
    assert all(p.path.endswith("/pypi/upload/") for p in publishing.posts())


def test_no_azure_source_points_to_add_feed(project_dir: Path, poetry_env: PoetryEnv) -> None:
    write_project(project_dir, PROJECT)
    result = poetry_env.run("ado", "publish", "--no-check-name", cwd=project_dir)
    assert result.exit_code == 1, result
    assert (
        "pyproject.toml has no Azure Artifacts feed source: add one with poetry ado add-feed"
        in (result.stderr)
    )


def test_several_azure_sources_must_be_named(
    project_dir: Path, poetry_env: PoetryEnv, ado_emulator: AdoEmulator
) -> None:
    extra = source_table(SOURCE, ado_emulator.feed.index_url) + source_table(
        "org-feed", ado_emulator.org_feed.index_url
    )
    write_project(project_dir, PROJECT, extra=extra)
    result = poetry_env.run("ado", "publish", "--no-check-name", cwd=project_dir)
    assert result.exit_code == 1, result
    assert "2 Azure feed sources (team-feed, org-feed)" in result.stderr
    assert "poetry ado publish team-feed" in result.stderr
