"""`poetry ado doctor` in-process (cleo's ApplicationTester on Poetry's own application) against
the emulator: each check failing and passing, the JSON report and the exit codes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

import keyring
import pytest
from cleo.testers.application_tester import ApplicationTester
from poetry.console.application import Application

from tests.emulator.emulator import make_jwt
from tests.fakes.keyrings import HangingKeyring
from tests.poetry_env import Outcome
from tests.poetry_env import lock_entry
from tests.poetry_env import source_table
from tests.poetry_env import write_project


if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.emulator.feed import EmulatedFeed
    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.public_index_server import PublicIndexServer


PROJECT = "sample-app"
LIBRARY = "team-lib"


@dataclass(frozen=True)
class Run(Outcome):
    """A doctor run, with its JSON report's findings by check and source."""

    def check(self, check: str, source: str | None = "team-feed") -> list[dict[str, Any]]:
        document = self.json()
        if source is None:
            return [c for c in document["checks"] if c["check"] == check]
        (entry,) = [s for s in document["sources"] if s["name"] == source]
        return [c for c in entry["checks"] if c["check"] == check]

    def verdict(self, check: str, source: str | None = "team-feed") -> set[str]:
        return {c["verdict"] for c in self.check(check, source)}


@dataclass
class Doctor:
    ado: AdoEmulator
    project: Path
    home: Path
    monkeypatch: pytest.MonkeyPatch

    def login(self, token: str, name: str = "TEAM_FEED", username: str = "azure") -> None:
        self.monkeypatch.setenv(f"POETRY_HTTP_BASIC_{name}_USERNAME", username)
        self.monkeypatch.setenv(f"POETRY_HTTP_BASIC_{name}_PASSWORD", token)

    def run(self, args: str = "") -> Run:
        tester = ApplicationTester(Application())
        code = tester.execute(f"ado doctor {args}".strip())
        return Run(code, tester.io.fetch_output(), tester.io.fetch_error())

    def json(self, args: str = "") -> Run:
        return self.run(f"{args} --format json")

    def write(self, extra: str, lock: str | None = None) -> None:
        write_project(self.project, PROJECT, extra=extra)
        if lock is not None:
            (self.project / "poetry.lock").write_text(lock)

    def reset_config(self) -> None:
        """Config.create() caches the config for the process: make the next run read it."""
        import poetry.config.config

        self.monkeypatch.setattr(poetry.config.config, "_default_config", None, raising=False)

    def configure_repository(self, name: str, url: str) -> None:
        config = self.home / "config" / "config.toml"
        text = config.read_text() if config.exists() else ""
        config.write_text(text + f'\n[repositories.{name}]\nurl = "{url}"\n')


def seeded(feed: EmulatedFeed, name: str, version: str) -> str:
    feed.add_package(name, version)
    (stored,) = [f for f in feed.files_of(name) if f.version == version]
    return stored.sha256


def pinned(source: str, name: str = LIBRARY) -> str:
    return f'\n[tool.poetry.dependencies]\n{name} = {{ version = "*", source = "{source}" }}\n'


@pytest.fixture
def doctor(
    ado_emulator: AdoEmulator, project_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Doctor]:
    from tests.inprocess import in_process_poetry

    home = tmp_path / "poetry-home"
    home.mkdir()
    in_process_poetry(home, monkeypatch, project_dir)
    monkeypatch.setenv("POETRY_ADO_KEYRING_TIMEOUT", "0.5")
    doctor = Doctor(ado_emulator, project_dir, home, monkeypatch)
    upload = ado_emulator.feed.upload_url
    doctor.configure_repository("team-feed", upload)
    yield doctor


def healthy(doctor: Doctor) -> None:
    feed = doctor.ado.feed
    sha = seeded(feed, LIBRARY, "1.0")
    doctor.write(
        source_table("team-feed", feed.index_url, "supplemental") + pinned("team-feed"),
        lock_entry(feed.index_url, "team-feed", LIBRARY, "1.0", sha),
    )
    doctor.login(doctor.ado.read_token)


# --------------------------------------------------------------------------------------------
# the whole report


def test_a_healthy_project_passes_every_check_and_exits_0(doctor: Doctor) -> None:
    healthy(doctor)

    result = doctor.json()

    assert result.exit_code == 0, result
    document = result.json()
    assert document["schema"] == 1 and document["exit_code"] == 0
    verdicts = {c["check"]: c["verdict"] for s in document["sources"] for c in s["checks"]}
    assert verdicts["source.url"] == "ok"
    assert verdicts["repository.url"] == "ok"
    assert verdicts["credential.place"] == "ok"
    assert verdicts["network.read"] == "ok"
    assert verdicts["network.identity"] == "ok"
    assert verdicts["network.download"] == "ok"
    assert verdicts["lock.health"] == "ok"
    assert verdicts["feed.retention"] == "ok"
    assert document["counts"]["problem"] == 0
    assert doctor.ado.read_token not in result.stdout + result.stderr
    assert not [r for r in doctor.ado.requests if r.method == "HEAD"]


def test_text_output_is_a_checklist_per_source_with_fixes(doctor: Doctor) -> None:
    healthy(doctor)
    doctor.monkeypatch.delenv("POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD")

    result = doctor.run()

    assert result.exit_code == 1, result
    assert "team-feed (supplemental)" in result.stdout
    assert "[FAIL] no credential for team-feed" in result.stdout
    assert "fix: poetry ado login team-feed" in result.stdout
    assert "network checks skipped" in result.stdout


def test_offline_sends_no_request(doctor: Doctor) -> None:
    healthy(doctor)
    doctor.ado.emulator.clear_requests()

    result = doctor.json("--offline")

    assert result.exit_code == 0, result
    assert result.json()["offline"] is True
    assert doctor.ado.requests == []
    assert result.verdict("network.read") == set()


def test_an_unknown_name_is_a_usage_error(doctor: Doctor) -> None:
    healthy(doctor)

    result = doctor.run("other-feed")

    assert result.exit_code == 1
    assert "'other-feed' is not an Azure Artifacts feed source" in result.stderr


def test_a_feed_that_does_not_answer_is_unchecked_exit_2(doctor: Doctor) -> None:
    healthy(doctor)
    doctor.ado.emulator.drop_next(100)
    doctor.monkeypatch.setenv("POETRY_REQUESTS_TIMEOUT", "1")

    result = doctor.json()

    assert result.exit_code == 2, result
    assert result.verdict("network.read") == {"unchecked"}


# --------------------------------------------------------------------------------------------
# local checks


def test_a_wrong_repository_url_and_an_overriding_variable(doctor: Doctor) -> None:
    healthy(doctor)
    feed = doctor.ado.feed
    doctor.monkeypatch.setenv("POETRY_REPOSITORIES_TEAM_FEED_URL", feed.index_url)

    overridden = doctor.json("--offline")
    doctor.monkeypatch.delenv("POETRY_REPOSITORIES_TEAM_FEED_URL")
    (doctor.home / "config" / "config.toml").write_text(
        f'[repositories.team-feed]\nurl = "{feed.index_url}"\n'
    )
    wrong = doctor.json("--offline")

    assert overridden.exit_code == 1
    (finding,) = overridden.check("repository.url")
    assert finding["verdict"] == "problem"
    assert "POETRY_REPOSITORIES_TEAM_FEED_URL overrides" in finding["summary"]
    (finding,) = wrong.check("repository.url")
    assert finding["verdict"] == "problem"
    assert finding["fix"] == f"poetry config repositories.team-feed {feed.upload_url}"


def test_the_upload_url_as_source_and_a_dotted_name(doctor: Doctor) -> None:
    feed = doctor.ado.feed
    doctor.write(source_table("team.feed", feed.upload_url, "supplemental"))
    doctor.login(doctor.ado.read_token, "TEAM.FEED")

    result = doctor.json("--offline")

    assert result.exit_code == 1
    assert result.verdict("source.url", "team.feed") == {"problem"}
    assert result.verdict("source.name", "team.feed") == {"warning"}


def test_legacy_source_keys_are_a_problem(doctor: Doctor) -> None:
    feed = doctor.ado.feed
    doctor.write(
        f'\n[[tool.poetry.source]]\nname = "team-feed"\nurl = "{feed.index_url}"\n'
        "secondary = true\n"
    )
    doctor.login(doctor.ado.read_token)

    result = doctor.json("--offline")

    assert result.exit_code == 1
    (finding,) = result.check("source.legacy", None)
    assert finding["verdict"] == "problem" and "secondary" in finding["summary"]


def test_an_unpinned_private_dependency_of_a_supplemental_source(doctor: Doctor) -> None:
    feed = doctor.ado.feed
    sha = seeded(feed, LIBRARY, "1.0")
    doctor.write(
        source_table("team-feed", feed.index_url, "supplemental")
        + f'\n[tool.poetry.dependencies]\n{LIBRARY} = "*"\n',
        lock_entry(feed.index_url, "team-feed", LIBRARY, "1.0", sha),
    )
    doctor.login(doctor.ado.read_token)

    result = doctor.json("--offline")

    (finding,) = result.check("source.priority")
    assert finding["verdict"] == "warning"
    assert finding["fix"] == f"poetry add {LIBRARY} --source team-feed"


def test_an_explicit_source_with_an_unpinned_transitive_dependency(doctor: Doctor) -> None:
    feed = doctor.ado.feed
    sha = seeded(feed, LIBRARY, "1.0")
    doctor.write(
        source_table("team-feed", feed.index_url, "explicit"),
        lock_entry(feed.index_url, "team-feed", LIBRARY, "1.0", sha),
    )
    doctor.login(doctor.ado.read_token)

    warned = doctor.json("--offline")
    doctor.write(source_table("team-feed", feed.index_url, "explicit") + pinned("team-feed"))
    passed = doctor.json("--offline")

    assert warned.verdict("source.priority") == {"warning"}
    assert passed.verdict("source.priority") == {"ok"}


def test_a_password_without_a_username_and_a_stray_variable(doctor: Doctor) -> None:
    healthy(doctor)
    doctor.monkeypatch.delenv("POETRY_HTTP_BASIC_TEAM_FEED_USERNAME")
    doctor.monkeypatch.setenv("POETRY_HTTP_BASIC_TEAMFEED_PASSWORD", "x")

    result = doctor.json("--offline")

    assert result.exit_code == 1
    assert result.verdict("credential.place") == {"problem"}
    (stray,) = result.check("credential.variable", None)
    assert "POETRY_HTTP_BASIC_TEAMFEED_PASSWORD" in stray["summary"]
    assert "POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD" in stray["fix"]


def test_a_netrc_entry_for_the_feed_host(doctor: Doctor, tmp_path: Path) -> None:
    healthy(doctor)
    netrc = tmp_path / "netrc"
    doctor.monkeypatch.setenv("NETRC", str(netrc))
    netrc.write_text("machine example.org login a password b\n")
    clean = doctor.json("--offline")
    netrc.write_text("machine 127.0.0.1 login a password NETRCSECRET\n")
    netrc.chmod(0o600)

    found = doctor.json("--offline")

    assert clean.verdict("credential.netrc") == {"ok"}
    assert found.verdict("credential.netrc") == {"warning"}
    assert "NETRCSECRET" not in found.stdout


def test_an_expired_token_and_one_about_to_expire(doctor: Doctor) -> None:
    healthy(doctor)
    doctor.login(make_jwt({"exp": int(time.time() - 60)}))
    expired = doctor.json("--offline")
    doctor.login(make_jwt({"exp": int(time.time() + 3600)}))
    soon = doctor.json("--offline")
    doctor.login(make_jwt({"exp": int(time.time() + 30 * 24 * 3600)}))
    later = doctor.json("--offline")

    assert expired.exit_code == 1 and expired.verdict("credential.expiry") == {"problem"}
    assert soon.exit_code == 0 and soon.verdict("credential.expiry") == {"warning"}
    assert later.verdict("credential.expiry") == {"ok"}


@pytest.fixture
def hanging_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(HangingKeyring())  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        keyring.set_keyring(previous)
        HangingKeyring.release()


def test_a_hung_keyring_is_a_problem_within_the_timeout(
    doctor: Doctor, hanging_keyring: None
) -> None:
    healthy(doctor)
    doctor.monkeypatch.delenv("POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD")
    doctor.monkeypatch.setenv("POETRY_KEYRING_ENABLED", "true")

    started = time.monotonic()
    result = doctor.json("--offline")

    assert time.monotonic() - started < 10
    assert result.exit_code == 1, result
    (finding,) = result.check("credential.keyring")
    assert finding["verdict"] == "problem"
    assert "did not answer within 0.5 s" in finding["summary"]


def test_a_working_keyring_passes(doctor: Doctor) -> None:
    from tests.fakes.keyrings import FileKeyring

    healthy(doctor)
    doctor.monkeypatch.setenv("FAKE_KEYRING_FILE", str(doctor.home / "keyring.json"))
    previous = keyring.get_keyring()
    keyring.set_keyring(FileKeyring())  # type: ignore[no-untyped-call]
    try:
        doctor.monkeypatch.setenv("POETRY_KEYRING_ENABLED", "true")
        result = doctor.json("--offline")
    finally:
        keyring.set_keyring(previous)

    assert result.verdict("credential.keyring") == {"ok"}


# --------------------------------------------------------------------------------------------
# network checks


def test_a_403_on_read_is_a_problem(doctor: Doctor) -> None:
    healthy(doctor)
    other = doctor.ado.org_feed
    token = "reader-elsewhere-token"
    doctor.ado.emulator.add_token(token, write=False, feeds=[other])
    doctor.login(token)

    result = doctor.json()

    assert result.exit_code == 1
    (finding,) = result.check("network.read")
    assert finding["verdict"] == "problem" and "HTTP 403" in finding["summary"]


def test_a_rejected_token(doctor: Doctor) -> None:
    healthy(doctor)
    doctor.login(doctor.ado.expired_token)

    result = doctor.json()

    assert result.verdict("network.read") == {"problem"}


def test_a_download_that_fails_while_the_index_works(doctor: Doctor) -> None:
    """Two sources of one organization. The GUID download link of team-feed
    (``/contoso/{projectGUID}/_packaging/{feedGUID}/...``) shares as much of its path with
    org-feed as with team-feed, so Poetry sends the credential of the repository configured
    first: org-feed's, which is bound to org-feed only."""
    ado = doctor.ado
    team, org = ado.feed, ado.org_feed
    sha = seeded(team, LIBRARY, "1.0")
    team_token, org_token = "team-only-token", "org-only-token"
    ado.emulator.add_token(team_token, write=False, feeds=[team])
    ado.emulator.add_token(org_token, write=False, feeds=[org])
    config = doctor.home / "config" / "config.toml"

    def order(*feeds: EmulatedFeed) -> None:
        doctor.reset_config()
        config.write_text(
            "".join(f'[repositories.{f.name}]\nurl = "{f.upload_url}"\n\n' for f in feeds)
        )

    doctor.write(
        source_table("team-feed", team.index_url, "supplemental")
        + source_table("org-feed", org.index_url, "supplemental")
        + pinned("team-feed"),
        lock_entry(team.index_url, "team-feed", LIBRARY, "1.0", sha),
    )
    doctor.login(team_token)
    doctor.login(org_token, "ORG_FEED")

    order(org, team)
    failing = doctor.json("team-feed")
    order(team, org)
    passing = doctor.json("team-feed")

    assert failing.exit_code == 1
    assert failing.verdict("network.read") == {"ok"}
    (finding,) = failing.check("network.download")
    assert finding["verdict"] == "problem", finding
    assert "the credential of org-feed" in finding["summary"]
    assert passing.verdict("network.download") == {"ok"}
    downloads = [r for r in ado.requests if "/pypi/download/" in r.path]
    assert {r.status for r in downloads} == {403, 303}


def test_a_deleted_locked_version(doctor: Doctor) -> None:
    healthy(doctor)
    feed = doctor.ado.feed
    seeded(feed, LIBRARY, "1.1")
    feed.delete_version(LIBRARY, "1.0")

    result = doctor.json()

    assert result.exit_code == 1
    (finding,) = result.check("lock.health")
    assert finding["verdict"] == "problem"
    assert f"{LIBRARY} 1.0" in finding["summary"]


def test_retention_warns_about_locked_versions_in_no_view(doctor: Doctor) -> None:
    healthy(doctor)
    feed = doctor.ado.feed
    feed.set_retention(5)
    warned = doctor.json()
    feed.promote(LIBRARY, "1.0", "Release")
    passed = doctor.json()

    assert warned.exit_code == 0
    assert warned.verdict("feed.retention") == {"warning"}
    assert passed.verdict("feed.retention") == {"ok"}


def test_an_upstream_feed_and_the_role_to_pull_from_it(
    doctor: Doctor, ado_emulator_factory: Any, public_index: PublicIndexServer
) -> None:
    emulator = ado_emulator_factory(start=False, upstream=public_index)
    feed = emulator.add_feed("contoso", "team-feed", project="Fabrikam Web")
    reader = emulator.generate_token(write=False)
    collaborator = emulator.generate_token(role="collaborator")
    emulator.start()
    (doctor.home / "config" / "config.toml").write_text(
        f'[repositories.team-feed]\nurl = "{feed.upload_url}"\n'
    )
    doctor.reset_config()
    doctor.write(source_table("team-feed", feed.index_url, "supplemental"))
    doctor.login(reader)
    as_reader = doctor.json()
    doctor.login(collaborator)
    as_collaborator = doctor.json()

    (upstream,) = as_reader.check("feed.upstream")
    assert upstream["verdict"] == "ok" and "PyPI is among them" in upstream["summary"]
    assert as_reader.verdict("feed.role") == {"warning"}
    assert as_collaborator.verdict("feed.role") == {"ok"}


def test_outside_a_project_checks_the_configured_azure_repositories(
    doctor: Doctor, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    doctor.monkeypatch.chdir(elsewhere)
    doctor.login(doctor.ado.read_token)

    result = doctor.json()

    assert result.json()["pyproject"] is None
    assert [s["name"] for s in result.json()["sources"]] == ["team-feed"]
    assert result.verdict("network.read") == {"ok"}
