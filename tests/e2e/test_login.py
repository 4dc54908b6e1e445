"""`poetry ado login`, `logout` and `env` driving the real poetry against the feed emulator."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from poetry_ado_plugin.verify import PROBE_PACKAGE
from tests.e2e.helpers_login import PRIVATE_PACKAGE
from tests.e2e.helpers_login import SOURCE
from tests.e2e.helpers_login import auth_toml
from tests.e2e.helpers_login import config_toml
from tests.e2e.helpers_login import expiry_records
from tests.e2e.helpers_login import feed_project
from tests.e2e.helpers_login import in_minutes
from tests.e2e.helpers_login import path_without_real_az
from tests.fakes.az import FakeAz
from tests.fakes.az import install_fake_az
from tests.fakes.keyrings import keyring_env
from tests.poetry_env import source_table
from tests.poetry_env import write_project


if TYPE_CHECKING:
    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.poetry_env import PoetryEnv
    from tests.poetry_env import Result


pytestmark = pytest.mark.e2e

SERVICE = f"poetry-repository-{SOURCE}"
ENDPOINT_VARIABLES = (
    "VSS_NUGET_EXTERNAL_FEED_ENDPOINTS",
    "ARTIFACTS_CREDENTIALPROVIDER_EXTERNAL_FEED_ENDPOINTS",
)


def assert_refused(poetry: PoetryEnv, result: Result, message: str) -> None:
    """The login failed with ``message`` and stored no credential."""
    assert result.exit_code == 1
    assert message in result.stderr
    assert auth_toml(poetry) == ""


def login(
    poetry: PoetryEnv,
    cwd: Path,
    token: str,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 240,
) -> Result:
    return poetry.run(
        "ado", "login", "--pat-stdin", *args, cwd=cwd, stdin=token + "\n", env=env, timeout=timeout
    )


@pytest.fixture
def project(project_dir: Path, ado_emulator: AdoEmulator) -> Path:
    feed_project(project_dir, ado_emulator.feed.index_url)
    return project_dir


# --- the round trip ------------------------------------------------------------------------


def test_login_then_poetry_install_and_publish_use_the_credential(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, tmp_path: Path
) -> None:
    ado_emulator.feed.add_package(PRIVATE_PACKAGE, "1.0.0")
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    feed_project(consumer, ado_emulator.feed.index_url, dependency=PRIVATE_PACKAGE)

    result = login(poetry_env, consumer, ado_emulator.write_token)
    assert result.exit_code == 0, result
    # the identity comes from connectionData, not from the dummy Basic username
    assert (
        f"Logged in to {SOURCE} as Emulated User (token from standard input, stored in "
        f"{poetry_env.auth_file} with username azure)."
    ) in result.stdout
    assert (
        "Read access to the feed was verified; write access is checked when you publish."
    ) in result.stdout
    upload_url = ado_emulator.feed.upload_url
    assert f"Set repositories.{SOURCE}.url = {upload_url}" in result.stdout
    assert f'url = "{upload_url}"' in config_toml(poetry_env)
    assert ado_emulator.write_token not in config_toml(poetry_env)
    assert ado_emulator.write_token in auth_toml(poetry_env)
    if os.name == "posix":
        assert poetry_env.auth_file.stat().st_mode & 0o777 == 0o600

    result = poetry_env.run("install", cwd=consumer)
    assert result.exit_code == 0, result
    assert PRIVATE_PACKAGE in result.stdout
    assert ado_emulator.feed.requests(), "poetry install never asked the feed"
    assert all(r.password == ado_emulator.write_token for r in ado_emulator.feed.requests())

    library = tmp_path / "library"
    library.mkdir()
    write_project(library, "contoso-widget", version="2.3.0")
    assert poetry_env.run("build", cwd=library).exit_code == 0
    result = poetry_env.run("publish", "-r", SOURCE, cwd=library)
    assert result.exit_code == 0, result
    assert "contoso_widget-2.3.0-py3-none-any.whl" in ado_emulator.feed.stored_files()


def test_a_teammate_with_the_source_only_runs_login(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    # The source is in the cloned pyproject.toml; nothing in Poetry's config yet.
    assert config_toml(poetry_env) == ""
    assert login(poetry_env, project, ado_emulator.read_token).exit_code == 0
    assert ado_emulator.feed.upload_url in config_toml(poetry_env)
    again = login(poetry_env, project, ado_emulator.read_token)
    assert again.exit_code == 0, again
    assert "Set repositories" not in again.stdout


def test_login_outside_a_project_uses_the_configured_repository(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    missing = poetry_env.run("ado", "login", "-n", cwd=outside)
    assert missing.exit_code == 1
    assert "name the feed's repository" in missing.stderr

    unknown = login(poetry_env, outside, ado_emulator.read_token, "other")
    assert unknown.exit_code == 1
    assert "'other' is not a repository in Poetry's config" in unknown.stderr

    upload_url = ado_emulator.org_feed.upload_url
    assert poetry_env.run("config", "repositories.org", upload_url, cwd=outside).exit_code == 0
    result = login(poetry_env, outside, ado_emulator.read_token, "org")
    assert result.exit_code == 0, result
    # verified on a project page: the feed root answers 404 on Azure, whatever the feed
    assert [r.path for r in ado_emulator.org_feed.requests()] == [
        ado_emulator.org_feed.path() + f"/simple/{PROBE_PACKAGE}/"
    ]
    assert "[http-basic.org]" in auth_toml(poetry_env)


def test_the_source_must_be_named_when_there_are_several(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project_dir: Path
) -> None:
    feed_project(project_dir, ado_emulator.feed.index_url)
    pyproject = project_dir / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text()
        + source_table("org-feed", ado_emulator.org_feed.index_url)
        + source_table("elsewhere", "https://example.org/simple/")
    )
    result = login(poetry_env, project_dir, ado_emulator.read_token)
    assert result.exit_code == 1
    # As publish and the release commands say it (sources.select_azure_source).
    assert (
        "2 Azure feed sources (team-feed, org-feed): name one, e.g. poetry ado login team-feed"
        in (result.stderr)
    )
    assert login(poetry_env, project_dir, ado_emulator.read_token, "org-feed").exit_code == 0
    other = login(poetry_env, project_dir, ado_emulator.read_token, "elsewhere")
    assert other.exit_code == 1
    assert "is not an Azure Artifacts feed" in other.stderr


def test_no_azure_source_in_the_project(poetry_env: PoetryEnv, project_dir: Path) -> None:
    write_project(project_dir)
    result = login(poetry_env, project_dir, "whatever")
    assert result.exit_code == 1
    assert "has no Azure Artifacts feed source" in result.stderr
    assert "poetry ado add-feed" in result.stderr


# --- verification --------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["wrong", "wrong-pat", "expired"])
def test_a_rejected_token_stores_nothing(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path, which: str
) -> None:
    token = {
        "wrong": "not-a-token",
        "wrong-pat": "a" * 52,  # well-formed, so Azure answers 401 with an empty body
        "expired": ado_emulator.expired_token,
    }[which]
    result = login(poetry_env, project, token)
    assert result.exit_code == 1
    if which == "expired":
        assert "Error: the token has expired" in result.stderr
        assert "Access Denied: The Personal Access Token used has expired." in result.stderr
    else:
        assert "the token was rejected" in result.stderr
        assert "wrong, expired or missing the Packaging (Read) scope" in result.stderr
    assert "nothing was stored" in result.stderr
    assert auth_toml(poetry_env) == ""
    assert config_toml(poetry_env) == ""
    [request] = ado_emulator.requests
    assert request.status == 401  # X-TFS-FedAuthRedirect: Suppress was sent


def test_a_failed_login_keeps_the_previous_credential(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    assert login(poetry_env, project, ado_emulator.read_token).exit_code == 0
    before = auth_toml(poetry_env)
    assert login(poetry_env, project, ado_emulator.expired_token).exit_code == 1
    assert auth_toml(poetry_env) == before


def test_a_read_only_token_logs_in_but_cannot_publish(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path, tmp_path: Path
) -> None:
    assert login(poetry_env, project, ado_emulator.read_token).exit_code == 0
    library = tmp_path / "library"
    library.mkdir()
    write_project(library, "contoso-widget")
    assert poetry_env.run("build", cwd=library).exit_code == 0
    result = poetry_env.run("publish", "-r", SOURCE, cwd=library)
    assert result.exit_code != 0
    assert "403" in result.output
    assert ado_emulator.feed.stored_files() == []


def test_no_read_access_to_the_feed(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    other_feed_only = "other-feed-token-0123456789"
    ado_emulator.emulator.add_token(other_feed_only, feeds=[ado_emulator.org_feed])
    result = login(poetry_env, project, other_feed_only)
    assert_refused(poetry_env, result, "this identity has no read access to the feed 'team-feed'")


def test_feed_not_found(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project_dir: Path
) -> None:
    feed_project(
        project_dir, f"{ado_emulator.base_url}/contoso/_packaging/no-such-feed/pypi/simple/"
    )
    result = login(poetry_env, project_dir, ado_emulator.read_token)
    assert_refused(poetry_env, result, "feed not found")


def test_server_errors_are_retried_then_reported(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    ado_emulator.emulator.fail_next(2, 503)
    result = login(poetry_env, project, ado_emulator.read_token)
    assert result.exit_code == 0, result  # two 503s, then the retry got through

    ado_emulator.emulator.fail_next(50, 503)
    result = login(poetry_env, project, ado_emulator.read_token)
    assert result.exit_code == 1
    assert "answered HTTP 503 after retries" in result.stderr


def test_an_unreachable_host_is_named(poetry_env: PoetryEnv, project_dir: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    feed_project(project_dir, f"http://127.0.0.1:{port}/contoso/_packaging/feed/pypi/simple/")
    result = login(poetry_env, project_dir, "some-token-value")
    assert_refused(poetry_env, result, f"could not connect to 127.0.0.1:{port}")


def test_a_feed_that_does_not_answer_times_out(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    # Two slow answers: a third try would succeed, but a server that stopped answering gets only
    # one more try, not one per retry of other errors (4 minutes with Azure-sized timeouts).
    ado_emulator.emulator.delay(30, count=2)
    started = time.monotonic()
    result = login(
        poetry_env, project, ado_emulator.read_token, env={"POETRY_REQUESTS_TIMEOUT": "1"}
    )
    assert time.monotonic() - started < 25
    assert result.exit_code == 1
    assert "did not answer in time" in result.stderr


def test_no_verify_stores_without_asking_the_feed(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    result = login(poetry_env, project, "unchecked-token", "--no-verify")
    assert result.exit_code == 0, result
    assert "Not verified" in result.stdout
    assert ado_emulator.feed.requests() == []
    assert "unchecked-token" in auth_toml(poetry_env)


# --- where the token comes from ------------------------------------------------------------


def test_no_token_without_interaction_lists_every_way(poetry_env: PoetryEnv, project: Path) -> None:
    result = poetry_env.run("ado", "login", "-n", cwd=project)
    assert result.exit_code == 1
    for way in (
        "--pat-stdin",
        "--azure-cli",
        "AZURE_DEVOPS_EXT_PAT",
        "SYSTEM_ACCESSTOKEN",
        *ENDPOINT_VARIABLES,
    ):
        assert way in result.stderr


def test_no_prompt_when_stdin_is_not_a_terminal(poetry_env: PoetryEnv, project: Path) -> None:
    # A CI step that forgot --pat-stdin: no -n, stdin a closed pipe. It must stop, not ask.
    result = poetry_env.run("ado", "login", cwd=project, timeout=30)

    assert result.exit_code == 1, result
    assert "--pat-stdin" in result.stderr
    assert "run it in a terminal" in result.stderr
    assert len(result.output) < 2000


def test_empty_stdin_is_refused(poetry_env: PoetryEnv, project: Path) -> None:
    result = poetry_env.run("ado", "login", "--pat-stdin", cwd=project, stdin="\n")
    assert result.exit_code == 1
    assert "the token from standard input (--pat-stdin) is empty" in result.stderr


@pytest.mark.parametrize("variable", ["AZURE_DEVOPS_EXT_PAT", "SYSTEM_ACCESSTOKEN"])
def test_token_from_the_environment(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path, variable: str
) -> None:
    result = poetry_env.run(
        "ado", "login", "--username", "build", cwd=project, env={variable: ado_emulator.read_token}
    )
    assert result.exit_code == 0, result
    assert f"(token from {variable}, stored in " in result.stdout
    assert "with username build)." in result.stdout
    assert 'username = "build"' in auth_toml(poetry_env)


@pytest.mark.parametrize("variable", ENDPOINT_VARIABLES)
def test_token_from_the_endpoint_credentials(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path, variable: str
) -> None:
    # Matched by feed, whatever the view and the trailing slash.
    endpoint = ado_emulator.feed.view_url("Release").rstrip("/")
    value = (
        '{"endpointCredentials":['
        f'{{"endpoint":"{ado_emulator.org_feed.index_url}","password":"not-this-one"}},'
        f'{{"endpoint":"{endpoint}","username":"vsts","password":"{ado_emulator.read_token}"}}]}}'
    )
    result = poetry_env.run("ado", "login", cwd=project, env={variable: value})
    assert result.exit_code == 0, result
    assert f"(token from {variable}, stored in " in result.stdout
    assert "with username vsts)." in result.stdout


def test_pat_stdin_wins_over_the_environment(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    result = login(
        poetry_env, project, ado_emulator.read_token, env={"AZURE_DEVOPS_EXT_PAT": "ignored"}
    )
    assert result.exit_code == 0, result
    assert "token from standard input" in result.stdout


def test_conflicting_options(poetry_env: PoetryEnv, project: Path) -> None:
    both = poetry_env.run("ado", "login", "--pat-stdin", "--azure-cli", cwd=project, stdin="x\n")
    assert both.exit_code == 1
    assert "either --pat-stdin or --azure-cli" in both.stderr
    tenant = poetry_env.run("ado", "login", "--tenant", "t", cwd=project, stdin="x\n")
    assert tenant.exit_code == 1
    assert "--tenant only applies to --azure-cli" in tenant.stderr


# --- keyrings ------------------------------------------------------------------------------


def test_a_working_keyring_holds_the_password(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path, tmp_path: Path
) -> None:
    store = tmp_path / "keyring.json"
    env = keyring_env("FileKeyring", store)
    result = login(poetry_env, project, ado_emulator.read_token, env=env)
    assert result.exit_code == 0, result
    assert "stored in the keyring" in result.stdout
    assert ado_emulator.read_token in store.read_text()
    assert SERVICE in store.read_text()
    assert ado_emulator.read_token not in auth_toml(poetry_env)
    assert 'username = "azure"' in auth_toml(poetry_env)

    # Poetry itself reads it back from the keyring.
    ado_emulator.feed.add_package(PRIVATE_PACKAGE, "1.0.0")
    feed_project(project, ado_emulator.feed.index_url, dependency=PRIVATE_PACKAGE)
    locked = poetry_env.run("lock", cwd=project, env=env)
    assert locked.exit_code == 0, locked

    result = poetry_env.run("ado", "logout", cwd=project, env=env)
    assert result.exit_code == 0, result
    assert "keyring" in result.stdout and "auth.toml" in result.stdout
    assert ado_emulator.read_token not in store.read_text()
    assert "http-basic" not in auth_toml(poetry_env)


def test_a_keyring_that_raises_falls_back_to_auth_toml(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    result = login(poetry_env, project, ado_emulator.read_token, env=keyring_env("RaisingKeyring"))
    assert result.exit_code == 0, result
    [warning] = [line for line in result.stderr.splitlines() if line.startswith("Warning")]
    assert "the keyring failed" in warning
    assert "stored the token in" in warning and "auth.toml instead" in warning
    assert ado_emulator.read_token in auth_toml(poetry_env)


def test_a_keyring_that_hangs_falls_back_within_seconds(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    # The backend blocks for an hour; the command gives it 5 s. The bound leaves room for
    # Poetry's own start-up on a busy machine.
    env = keyring_env("HangingKeyring")
    started = time.monotonic()
    result = login(poetry_env, project, ado_emulator.read_token, env=env, timeout=60)
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result
    assert elapsed < 30, elapsed
    assert "the keyring did not answer within 5 s (locked?)" in result.stderr
    assert ado_emulator.read_token in auth_toml(poetry_env)

    started = time.monotonic()
    result = poetry_env.run("ado", "logout", cwd=project, env=env, timeout=60)
    assert time.monotonic() - started < 30
    assert result.exit_code == 0, result
    assert "did not answer" in result.stderr
    assert "http-basic" not in auth_toml(poetry_env)


# --- logout --------------------------------------------------------------------------------


def test_logout_removes_the_credential_and_keeps_the_setup(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    pyproject_before = (project / "pyproject.toml").read_text()
    assert login(poetry_env, project, ado_emulator.read_token).exit_code == 0
    config_before = config_toml(poetry_env)

    result = poetry_env.run("ado", "logout", cwd=project)
    assert result.exit_code == 0, result
    assert f"Removed the credential for {SOURCE} from: {poetry_env.auth_file}." in result.stdout
    assert "http-basic" not in auth_toml(poetry_env)
    assert config_toml(poetry_env) == config_before
    assert (project / "pyproject.toml").read_text() == pyproject_before

    again = poetry_env.run("ado", "logout", SOURCE, cwd=project)
    assert again.exit_code == 0
    assert f"No credential was stored for {SOURCE}: nothing to remove." in again.stdout


# --- Azure CLI -----------------------------------------------------------------------------


def login_with_fake_az(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path, *, expires_in_minutes: int
) -> tuple[FakeAz, dict[str, str]]:
    """`ado login --azure-cli` through a fake az whose token expires in the given minutes;
    returns the fake and the PATH under which only it is found."""
    az = install_fake_az(poetry_env.bin_dir)
    token = "entra-only-0123456789abcdef"
    ado_emulator.emulator.add_entra_token(token, role="reader")
    # The server grants session tokens no longer than that.
    ado_emulator.emulator.session_token_max_lifetime = expires_in_minutes * 60
    az.set(mode="ok", token=token, expires_on=in_minutes(60))
    path = path_without_real_az(poetry_env)
    assert poetry_env.run("ado", "login", "--azure-cli", cwd=project, env=path).exit_code == 0
    return az, path


def test_login_through_the_azure_cli_and_refresh_before_lock(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    az = install_fake_az(poetry_env.bin_dir)
    first, second = "entra-first-0123456789abcdef", "entra-second-0123456789abcdef"
    ado_emulator.emulator.add_token(first, write=False)
    ado_emulator.emulator.add_token(second, write=False)
    az.set(mode="ok", token=first, expires_on=in_minutes(3), tenant="contoso-tenant")
    path = path_without_real_az(poetry_env)

    # --no-session-token: the Entra token itself, as before session tokens.
    result = poetry_env.run(
        "ado",
        "login",
        "--azure-cli",
        "--no-session-token",
        "--tenant",
        "contoso-tenant",
        cwd=project,
        env=path,
    )
    assert result.exit_code == 0, result
    assert "token from the Azure CLI" in result.stdout
    assert az.calls() == [
        [
            "account",
            "get-access-token",
            "--resource",
            "499b84ac-1321-427f-aa17-267ca6975798",
            "--output",
            "json",
            "--tenant",
            "contoso-tenant",
        ]
    ]
    record = expiry_records(poetry_env)[SOURCE]
    assert record["tenant"] == "contoso-tenant"
    assert first not in (poetry_env.config_dir / "ado-token-expiry.json").read_text()
    assert first in auth_toml(poetry_env)

    # The token expires in three minutes: `poetry lock` refreshes it before resolving.
    ado_emulator.feed.add_package(PRIVATE_PACKAGE, "1.0.0")
    feed_project(project, ado_emulator.feed.index_url, dependency=PRIVATE_PACKAGE)
    fresh = in_minutes(60)
    az.set(mode="ok", token=second, expires_on=fresh, tenant="contoso-tenant")
    ado_emulator.emulator.clear_requests()
    result = poetry_env.run("lock", cwd=project, env=path)
    assert result.exit_code == 0, result
    assert f"Refreshed the Azure CLI token for {SOURCE}" in result.stderr
    assert second in auth_toml(poetry_env) and first not in auth_toml(poetry_env)
    assert expiry_records(poetry_env)[SOURCE]["expires_on"] == fresh
    assert az.calls()[-1][-2:] == ["--tenant", "contoso-tenant"]
    sent = {r.password for r in ado_emulator.feed.requests()}
    assert sent == {second}, "this very run must already use the new token"

    # Fresh now: `poetry install` does not call az again.
    calls = len(az.calls())
    result = poetry_env.run("install", cwd=project, env=path)
    assert result.exit_code == 0, result
    assert "Refreshed" not in result.stderr
    assert len(az.calls()) == calls


def test_a_failed_refresh_is_a_warning(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    az, path = login_with_fake_az(ado_emulator, poetry_env, project, expires_in_minutes=2)

    az.set(mode="not-logged-in")
    result = poetry_env.run("lock", cwd=project, env=path)
    assert result.exit_code == 0, result
    assert f"Warning: could not refresh the Azure CLI token for '{SOURCE}'" in result.stderr
    assert "az login" in result.stderr
    assert f"poetry ado login {SOURCE} --azure-cli" in result.stderr


def test_a_later_pat_login_stops_the_refresh(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    login_with_fake_az(ado_emulator, poetry_env, project, expires_in_minutes=2)
    assert (poetry_env.config_dir / "ado-token-expiry.json").exists()
    assert login(poetry_env, project, ado_emulator.read_token).exit_code == 0
    assert not (poetry_env.config_dir / "ado-token-expiry.json").exists()


def test_logout_forgets_the_expiry(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    login_with_fake_az(ado_emulator, poetry_env, project, expires_in_minutes=30)
    result = poetry_env.run("ado", "logout", cwd=project)
    assert "the Azure CLI token's expiry record" in result.stdout
    assert expiry_records(poetry_env) == {}


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("not-logged-in", "the Azure CLI is not logged in (or its login expired): run `az login"),
        ("garbage", "printed something that is not JSON"),
        ("missing", "the Azure CLI ('az') was not found on PATH"),
    ],
)
def test_azure_cli_problems(poetry_env: PoetryEnv, project: Path, mode: str, message: str) -> None:
    if mode != "missing":
        install_fake_az(poetry_env.bin_dir).set(mode=mode)
    result = poetry_env.run(
        "ado", "login", "--azure-cli", cwd=project, env=path_without_real_az(poetry_env)
    )
    assert_refused(poetry_env, result, message)


def test_the_listener_costs_nothing_without_an_azure_cli_login(
    poetry_env: PoetryEnv, project: Path
) -> None:
    # No expiry file: the listener must not import the refresh code.
    code = (
        "import sys\n"
        "from cleo.events.console_command_event import ConsoleCommandEvent\n"
        "from poetry_ado_plugin import plugin\n"
        "class C: name = 'install'\n"
        "plugin.refresh_azure_cli_tokens(ConsoleCommandEvent(C(), None), 'console.command', None)\n"
        "assert 'poetry_ado_plugin.token_refresh' not in sys.modules, 'imported'\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code],
        env=poetry_env.environ(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr


# --- env -----------------------------------------------------------------------------------


@pytest.mark.parametrize("format_name", ["shell", "azure-pipelines", "github"])
def test_env_output_survives_quiet(poetry_env: PoetryEnv, project: Path, format_name: str) -> None:
    # `eval "$(poetry -q ado env)"` must still set the variables, and GitHub must still mask.
    env = {"AZURE_DEVOPS_EXT_PAT": "quiet-token"}
    loud = poetry_env.run("ado", "env", "--format", format_name, cwd=project, env=env)
    quiet = poetry_env.run("-q", "ado", "env", "--format", format_name, cwd=project, env=env)

    assert quiet.exit_code == 0, quiet
    assert "quiet-token" in quiet.stdout
    assert quiet.stdout == loud.stdout


def test_a_username_cannot_add_lines_to_a_ci_file(poetry_env: PoetryEnv, project: Path) -> None:
    result = poetry_env.run(
        "ado",
        "env",
        "--format",
        "github",
        "--username",
        "me\nNODE_OPTIONS=--require=/tmp/x.js",
        cwd=project,
        env={"AZURE_DEVOPS_EXT_PAT": "a-token"},
    )

    assert result.exit_code == 1, result
    assert "NODE_OPTIONS" not in result.stdout
    assert "username" in result.stderr


def test_login_matches_the_source_name_case_insensitively(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    result = poetry_env.run(
        "ado", "login", "TEAM-FEED", "--pat-stdin", cwd=project, stdin=ado_emulator.read_token
    )

    assert result.exit_code == 0, result
    assert "[http-basic.team-feed]" in auth_toml(poetry_env)


def test_env_prints_each_format_exactly(poetry_env: PoetryEnv, project: Path) -> None:
    token = "pat-with-$pecial'chars"
    env = {"AZURE_DEVOPS_EXT_PAT": token}
    shell = poetry_env.run("ado", "env", cwd=project, env=env)
    assert shell.exit_code == 0, shell
    assert shell.stdout == (
        "export POETRY_HTTP_BASIC_TEAM_FEED_USERNAME=azure "
        "POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD='pat-with-$pecial'\"'\"'chars'\n"
    )
    evaluated = subprocess.run(
        [
            "bash",
            "-c",
            shell.stdout + 'printf "%s\\n%s\\n" "$POETRY_HTTP_BASIC_TEAM_FEED_USERNAME" '
            '"$POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD"',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert evaluated.stdout == f"azure\n{token}\n"

    pipelines = poetry_env.run("ado", "env", "--format", "azure-pipelines", cwd=project, env=env)
    assert pipelines.exit_code == 0, pipelines
    assert pipelines.stdout == (
        "##vso[task.setvariable variable=POETRY_HTTP_BASIC_TEAM_FEED_USERNAME]azure\n"
        "##vso[task.setvariable variable=POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD;issecret=true]"
        f"{token}\n"
    )

    github = poetry_env.run("ado", "env", "--format", "github", cwd=project, env=env)
    assert github.exit_code == 0, github
    assert github.stdout == (
        f"::add-mask::{token}\n"
        "POETRY_HTTP_BASIC_TEAM_FEED_USERNAME=azure\n"
        f"POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD={token}\n"
    )
    # Nothing is written anywhere.
    assert auth_toml(poetry_env) == "" and config_toml(poetry_env) == ""


def test_env_appends_to_github_env_when_it_is_set(
    poetry_env: PoetryEnv, project: Path, tmp_path: Path
) -> None:
    github_env = tmp_path / "github_env"
    github_env.write_text("EARLIER=1\n")
    result = poetry_env.run(
        "ado",
        "env",
        "--format",
        "github",
        cwd=project,
        env={
            "SYSTEM_ACCESSTOKEN": "job-token",
            "GITHUB_ENV": str(github_env),
            "GITHUB_ACTIONS": "true",
        },
    )
    assert result.exit_code == 0, result
    assert result.stdout == "::add-mask::job-token\n"
    assert github_env.read_text() == (
        "EARLIER=1\n"
        "POETRY_HTTP_BASIC_TEAM_FEED_USERNAME=azure\n"
        "POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD=job-token\n"
    )


def test_env_makes_poetry_authenticate(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    ado_emulator.feed.add_package(PRIVATE_PACKAGE, "1.0.0")
    feed_project(project, ado_emulator.feed.index_url, dependency=PRIVATE_PACKAGE)
    shell = poetry_env.run(
        "ado", "env", cwd=project, env={"AZURE_DEVOPS_EXT_PAT": ado_emulator.read_token}
    )
    assert shell.exit_code == 0, shell
    poetry = poetry_env.environ()["PATH"].split(os.pathsep)[1] + "/poetry"
    environ = poetry_env.environ()
    completed = subprocess.run(
        ["bash", "-c", f'{shell.stdout}\nexec "{poetry}" lock'],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert {r.password for r in ado_emulator.feed.requests()} == {ado_emulator.read_token}
    assert auth_toml(poetry_env) == ""


def test_env_without_a_token_lists_the_variables(poetry_env: PoetryEnv, project: Path) -> None:
    result = poetry_env.run("ado", "env", cwd=project)
    assert result.exit_code == 1
    assert result.stdout == ""
    for way in ("AZURE_DEVOPS_EXT_PAT", "SYSTEM_ACCESSTOKEN", *ENDPOINT_VARIABLES):
        assert way in result.stderr
    assert "run without -n" not in result.stderr  # env never prompts


@pytest.mark.parametrize(
    ("marker", "fmt"), [("TF_BUILD", "azure-pipelines"), ("GITHUB_ACTIONS", "github")]
)
def test_env_requires_a_format_inside_ci(
    poetry_env: PoetryEnv, project: Path, marker: str, fmt: str
) -> None:
    result = poetry_env.run(
        "ado", "env", cwd=project, env={marker: "True", "SYSTEM_ACCESSTOKEN": "job-token"}
    )
    assert result.exit_code == 1
    assert f"pass --format {fmt}" in result.stderr
    assert "job-token" not in result.output


def test_login_without_an_identity_says_nothing_about_one(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project: Path
) -> None:
    # A token scoped to packaging only may not read connectionData: login still succeeds.
    ado_emulator.emulator.fail_next(5, status=403, path_contains="connectionData")
    result = login(poetry_env, project, ado_emulator.read_token)
    assert result.exit_code == 0, result
    assert f"Logged in to {SOURCE} (token from standard input, stored in" in result.stdout
    assert "Emulated User" not in result.stdout
    asked = [r for r in ado_emulator.requests if "connectionData" in r.path]
    assert [r.status for r in asked] == [403]
