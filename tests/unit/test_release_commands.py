"""`poetry ado versions`, `promote` and `protect` in-process (cleo's ApplicationTester on Poetry's
own application) against the emulator: success, the no-op re-run, each error, the JSON."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from cleo.testers.application_tester import ApplicationTester
from poetry.console.application import Application

from tests.inprocess import in_process_poetry
from tests.poetry_env import Outcome
from tests.poetry_env import source_table
from tests.poetry_env import write_project


if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulator.pytest_plugin import AdoEmulator


PROJECT = "sample-app"


@dataclass
class Cli:
    ado: AdoEmulator
    project: Path
    monkeypatch: pytest.MonkeyPatch

    def login(self, token: str) -> None:
        self.monkeypatch.setenv("POETRY_HTTP_BASIC_TEAM_FEED_USERNAME", "azure")
        self.monkeypatch.setenv("POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD", token)

    def token(self, role: str) -> str:
        token = self.ado.emulator.generate_token(role=role)
        self.login(token)
        return token

    def run(self, args: str, *, inputs: str | None = None, interactive: bool = False) -> Outcome:
        tester = ApplicationTester(Application())
        code = tester.execute(args, inputs=inputs, interactive=interactive)
        return Outcome(code, tester.io.fetch_output(), tester.io.fetch_error())

    def patches(self) -> list[str]:
        return [r.path for r in self.ado.requests if r.method == "PATCH"]


@pytest.fixture
def cli(
    ado_emulator: AdoEmulator, tmp_path: Path, project_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> Cli:
    write_project(
        project_dir, PROJECT, extra=source_table("team-feed", ado_emulator.feed.index_url)
    )
    # Poetry's config, cache and data dirs, HOME and the keyring in tmp_path, the working
    # directory in the project, no POETRY_* variable of the user's: never their real config.
    in_process_poetry(tmp_path, monkeypatch, project_dir)
    return Cli(ado_emulator, project_dir, monkeypatch)


def test_poetrys_dirs_are_the_tests_own(cli: Cli, tmp_path: Path) -> None:
    result = cli.run("config cache-dir")
    assert result.exit_code == 0, result
    assert result.stdout.strip() == str(tmp_path / "cache")


def seed(ado: AdoEmulator, *versions: str) -> None:
    for version in versions:
        ado.feed.add_package(PROJECT, version)


# --------------------------------------------------------------------------------------------
# versions


def test_versions_lists_newest_first_and_says_the_project_version_is_new(cli: Cli) -> None:
    seed(cli.ado, "0.0.1", "0.0.2")
    cli.ado.feed.promote(PROJECT, "0.0.1", "Release")
    cli.token("reader")

    result = cli.run("ado versions")

    assert result.exit_code == 0, result
    lines = result.stdout.splitlines()
    assert lines[0] == f"Versions of {PROJECT} on team-feed:"
    assert lines[1].split() == ["version", "published", "views", "deleted", "upstream"]
    assert lines[2].split()[0] == "0.0.2"
    assert lines[3].split()[0] == "0.0.1" and "Local, Release" in lines[3]
    assert "sample-app 0.1.0 (the project's version) is not on team-feed: it can be published." in (
        result.stdout
    )


def test_versions_marks_a_deleted_project_version_which_cannot_be_published(cli: Cli) -> None:
    seed(cli.ado, "0.0.1", "0.1.0")
    cli.ado.feed.delete_version(PROJECT, "0.1.0")
    cli.token("reader")

    hidden = cli.run("ado versions")
    shown = cli.run("ado versions --all")

    assert "0.1.0" not in hidden.stdout.split("\n", 2)[2].split("sample-app 0.1.0")[0]
    assert "was deleted from team-feed: a deleted version can never be published again" in (
        hidden.stdout
    )
    deleted = next(line for line in shown.stdout.splitlines() if line.startswith("*"))
    assert deleted.split()[1:2] == ["0.1.0"] and " yes " in deleted


def test_versions_of_another_package_and_of_none(cli: Cli) -> None:
    cli.ado.feed.add_package("other-lib", "2.0")
    cli.token("reader")

    other = cli.run("ado versions Other_Lib")
    missing = cli.run("ado versions nothing-here")

    assert other.exit_code == 0 and "2.0" in other.stdout and "*" not in other.stdout
    assert "project's version" not in other.stdout
    assert missing.exit_code == 0
    assert missing.stdout.strip() == "nothing-here has no versions on team-feed."


def test_versions_json(cli: Cli) -> None:
    seed(cli.ado, "0.1.0")
    cli.token("reader")

    document = cli.run("ado versions --all --format json -q").json()

    assert document["schema"] == 1
    assert document["current"] == {"version": "0.1.0", "state": "published", "publishable": False}
    versions = document["versions"]
    assert isinstance(versions, list)
    [version] = versions
    assert version["version"] == "0.1.0"
    assert version["views"] == ["Local"]
    assert (version["deleted"], version["upstream"], version["current"]) == (False, None, True)


def test_versions_without_a_role_on_the_feed(cli: Cli) -> None:
    grant = cli.ado.emulator.add_token("other-feed-only", feeds=[cli.ado.org_feed])
    cli.login(grant.token)

    result = cli.run("ado versions")

    assert result.exit_code == 1
    assert "needs the feed Reader role" in result.stderr
    assert grant.token not in result.stdout + result.stderr


def test_versions_without_a_credential_points_to_login(cli: Cli) -> None:
    result = cli.run("ado versions")
    assert result.exit_code == 1
    assert "poetry ado login team-feed" in result.stderr
    assert cli.ado.requests == []


@pytest.mark.parametrize("command", ["versions", "promote --view Release", "protect"])
def test_a_source_that_is_not_azure(cli: Cli, command: str) -> None:
    write_project(
        cli.project, PROJECT, extra=source_table("mirror", "https://pypi.example.com/simple/")
    )
    cli.token("owner")

    plain = cli.run(f"ado {command}")
    named = cli.run(f"ado {command} --feed mirror")

    assert plain.exit_code == named.exit_code == 1
    assert "no Azure Artifacts feed source" in plain.stderr
    assert f"then run poetry ado {command.split()[0]} again" in plain.stderr
    assert "source mirror is not an Azure Artifacts feed" in named.stderr
    assert cli.ado.requests == []


def test_two_feed_sources_need_feed(cli: Cli) -> None:
    write_project(
        cli.project,
        PROJECT,
        extra=source_table("team-feed", cli.ado.feed.index_url)
        + source_table("org-feed", cli.ado.org_feed.index_url),
    )
    cli.token("reader")
    assert "--feed team-feed" in cli.run("ado versions").stderr
    assert cli.run("ado versions --feed team-feed").exit_code == 0


# --------------------------------------------------------------------------------------------
# promote


def test_promote_then_the_no_op_re_run(cli: Cli) -> None:
    seed(cli.ado, "0.1.0")
    cli.token("contributor")

    first = cli.run("ado promote --view Release")
    again = cli.run("ado promote 0.1.0 --view release")

    assert first.exit_code == 0, first
    assert first.stdout.strip() == "Promoted sample-app 0.1.0 to view Release of team-feed."
    assert again.exit_code == 0, again
    assert "already in view Release of team-feed; nothing to do" in again.stdout
    assert len(cli.patches()) == 1
    assert cli.ado.feed.views_of(PROJECT, "0.1.0") == ("Local", "Release")


def test_promote_an_unknown_version_lists_the_versions(cli: Cli) -> None:
    seed(cli.ado, "0.0.1", "0.0.2")
    cli.token("contributor")
    result = cli.run("ado promote 9.9 --view Release")
    assert result.exit_code == 1
    assert "sample-app 9.9 is not on feed team-feed (versions there: 0.0.2, 0.0.1)" in result.stderr
    assert cli.patches() == []


def test_promote_to_an_unknown_view_lists_the_views(cli: Cli) -> None:
    seed(cli.ado, "0.1.0")
    cli.token("contributor")
    result = cli.run("ado promote --view Staging")
    assert result.exit_code == 1
    assert "feed team-feed has no view 'Staging' (its views: Local, Prerelease, Release)" in (
        result.stderr
    )
    assert cli.patches() == []


def test_promote_a_deleted_version(cli: Cli) -> None:
    seed(cli.ado, "0.1.0")
    cli.ado.feed.delete_version(PROJECT, "0.1.0")
    cli.token("contributor")
    result = cli.run("ado promote --view Release")
    assert result.exit_code == 1
    assert "was deleted from feed team-feed" in result.stderr


@pytest.mark.parametrize("role", ["reader", "collaborator"])
def test_promote_needs_contributor(cli: Cli, role: str) -> None:
    seed(cli.ado, "0.1.0")
    token = cli.token(role)
    result = cli.run("ado promote --view Release")
    assert result.exit_code == 1
    assert "needs the feed Contributor role or higher" in result.stderr
    assert token not in result.stderr
    assert cli.ado.feed.views_of(PROJECT, "0.1.0") == ("Local",)


def test_promote_remove_is_refused_with_the_reason(cli: Cli) -> None:
    cli.token("owner")
    result = cli.run("ado promote --view Release --remove")
    assert result.exit_code == 1
    assert "demotion is impossible" in result.stderr
    assert cli.ado.requests == []


def test_promote_needs_a_view(cli: Cli) -> None:
    cli.token("owner")
    result = cli.run("ado promote")
    assert result.exit_code == 1
    assert "--view is required" in result.stderr


def test_promote_json(cli: Cli) -> None:
    seed(cli.ado, "0.1.0")
    cli.token("owner")
    first = cli.run("ado promote --view Prerelease --format json").json()
    again = cli.run("ado promote --view Prerelease --format json").json()
    expected = {
        "schema": 1,
        "feed": "team-feed",
        "name": PROJECT,
        "version": "0.1.0",
        "view": "Prerelease",
    }
    assert first == {**expected, "changed": True}
    assert again == {**expected, "changed": False}


# --------------------------------------------------------------------------------------------
# protect


def test_protect_reports_before_and_after_and_is_idempotent(cli: Cli) -> None:
    cli.ado.feed.allow_external_versions(PROJECT)
    cli.token("owner")

    first = cli.run("ado protect")
    again = cli.run("ado protect")

    assert first.exit_code == 0, first
    assert first.stdout.splitlines()[2].split() == [PROJECT, "allowExternalVersions", "auto"]
    assert "Protected 1 package." in first.stdout
    assert not cli.ado.feed.allows_external_versions(PROJECT)
    assert again.exit_code == 0
    assert again.stdout.splitlines()[2].split() == [PROJECT, "auto", "auto"]
    assert "1 already was auto." in again.stdout
    assert len(cli.patches()) == 1


def test_protect_names_and_dependencies(cli: Cli) -> None:
    write_project(
        cli.project,
        PROJECT,
        extra=source_table("team-feed", cli.ado.feed.index_url)
        + source_table("org-feed", cli.ado.org_feed.index_url)
        + "\n[tool.poetry.dependencies]\n"
        + 'acme-core = { version = "^1", source = "team-feed" }\n'
        + 'acme-org = { version = "^1", source = "org-feed" }\n',
    )
    for name in ("acme-core", "extra-name"):
        cli.ado.feed.allow_external_versions(name)
    cli.token("owner")

    result = cli.run("ado protect extra-name Extra_Name --feed team-feed --dependencies")

    assert result.exit_code == 0, result
    rows = [line.split()[0] for line in result.stdout.splitlines()[2:-1]]
    assert rows == ["extra-name", "acme-core"]
    assert "acme-org comes from source org-feed" in result.stderr
    assert not cli.ado.feed.allows_external_versions("acme-core")
    assert not cli.ado.feed.allows_external_versions("extra-name")


def test_protect_needs_owner(cli: Cli) -> None:
    cli.ado.feed.allow_external_versions(PROJECT)
    token = cli.token("contributor")
    result = cli.run("ado protect")
    assert result.exit_code == 1
    assert "needs the feed Owner role" in result.stderr
    assert token not in result.stderr
    assert cli.ado.feed.allows_external_versions(PROJECT)


def test_allow_external_asks_first(cli: Cli) -> None:
    cli.token("owner")

    unattended = cli.run("ado protect --allow-external")
    declined = cli.run("ado protect --allow-external", inputs="no\n", interactive=True)
    assert not cli.ado.feed.allows_external_versions(PROJECT)
    accepted = cli.run("ado protect --allow-external", inputs="yes\n", interactive=True)

    assert unattended.exit_code == 1 and "pass -n" in unattended.stderr
    assert declined.exit_code == 1 and "not confirmed: nothing was changed" in declined.stderr
    assert accepted.exit_code == 0, accepted
    assert "Let versions from external upstreams (PyPI) of sample-app" in accepted.stderr
    assert cli.ado.feed.allows_external_versions(PROJECT)


def test_allow_external_with_n(cli: Cli) -> None:
    cli.token("owner")
    result = cli.run("ado protect --allow-external -n --format json")
    assert result.exit_code == 0, result
    assert result.json()["packages"] == [
        {
            "name": PROJECT,
            "normalized": PROJECT,
            "before": "auto",
            "after": "allowExternalVersions",
            "changed": True,
        }
    ]
    assert result.json()["setting"] == "allowExternalVersions"
    assert cli.ado.feed.allows_external_versions(PROJECT)


def test_protect_refuses_an_invalid_name(cli: Cli) -> None:
    cli.token("owner")
    result = cli.run("ado protect bad_")
    assert result.exit_code == 1
    assert "'bad_' is not a valid package name" in result.stderr
    assert cli.patches() == []
