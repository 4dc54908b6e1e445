"""A canary token goes through every credential path, at -vvv, and must show up nowhere but the
credential store (auth.toml with the keyring off) and `ado env`'s intended output."""

from __future__ import annotations

import secrets
import socket
from typing import TYPE_CHECKING

import pytest

from tests.e2e.helpers_login import PRIVATE_PACKAGE
from tests.e2e.helpers_login import SOURCE
from tests.e2e.helpers_login import feed_project
from tests.e2e.helpers_login import in_minutes
from tests.fakes.az import identity_env
from tests.fakes.az import install_fake_az
from tests.fakes.keyrings import keyring_env
from tests.poetry_env import write_project


if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.poetry_env import PoetryEnv
    from tests.poetry_env import Result


pytestmark = pytest.mark.e2e


class Canary:
    """Runs commands and checks every output and file for the canary."""

    def __init__(self, env: PoetryEnv, project: Path) -> None:
        self.value = f"CANARY{secrets.token_hex(12)}"
        self.env = env
        self.project = project
        self.results: list[Result] = []

    def run(
        self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        result = self.env.run(*args, "-vvv", cwd=self.project, stdin=stdin, env=env, timeout=120)
        self.results.append(result)
        return result

    def assert_hidden(self, *, allowed_stdout: Result | None = None) -> None:
        for result in self.results:
            where = f"`poetry {' '.join(result.args)}`"
            if result is not allowed_stdout:
                assert self.value not in result.stdout, f"canary in the stdout of {where}"
            assert self.value not in result.stderr, f"canary in the stderr of {where}"
        for name in ("pyproject.toml", "poetry.lock"):
            path = self.project / name
            if path.exists():
                assert self.value not in path.read_text(), f"canary in {name}"
        for path in self.env.root.rglob("*"):
            if (
                path.is_file()
                and path != self.env.auth_file
                and path.suffix in {".toml", ".json", ".lock", ".log", ".txt"}
            ):
                assert self.value not in path.read_text(errors="replace"), f"canary in {path}"


@pytest.fixture
def canary(poetry_env: PoetryEnv, project_dir: Path, ado_emulator: AdoEmulator) -> Iterator[Canary]:
    feed_project(project_dir, ado_emulator.feed.index_url)
    checker = Canary(poetry_env, project_dir)
    yield checker
    checker.assert_hidden()


def test_login_success_and_logout(canary: Canary, ado_emulator: AdoEmulator) -> None:
    ado_emulator.emulator.add_token(canary.value, write=True)
    assert canary.run("ado", "login", "--pat-stdin", stdin=canary.value + "\n").exit_code == 0
    assert canary.value in canary.env.auth_file.read_text()  # the one place it belongs
    assert canary.run("ado", "login", env={"AZURE_DEVOPS_EXT_PAT": canary.value}).exit_code == 0
    canary.assert_hidden()
    assert canary.run("ado", "logout").exit_code == 0
    assert canary.value not in canary.env.auth_file.read_text()


def test_login_with_the_keyring(canary: Canary, ado_emulator: AdoEmulator, tmp_path: Path) -> None:
    ado_emulator.emulator.add_token(canary.value, write=True)
    store = tmp_path / "keyring.json"
    for backend in ("FileKeyring", "RaisingKeyring"):
        result = canary.run(
            "ado",
            "login",
            "--pat-stdin",
            stdin=canary.value + "\n",
            env=keyring_env(backend, store),
        )
        assert result.exit_code == 0, result
    assert canary.run("ado", "logout", env=keyring_env("RaisingKeyring")).exit_code == 0


@pytest.mark.parametrize("fault", ["rejected", "forbidden", "500", "drop", "timeout"])
def test_failing_logins(canary: Canary, ado_emulator: AdoEmulator, fault: str) -> None:
    emulator = ado_emulator.emulator
    env = None
    if fault == "forbidden":
        emulator.add_token(canary.value, feeds=[ado_emulator.org_feed])
    elif fault == "500":
        emulator.add_token(canary.value)
        emulator.fail_next(50, 500)
    elif fault == "drop":
        emulator.add_token(canary.value)
        emulator.drop_next(50)
    elif fault == "timeout":
        emulator.add_token(canary.value)
        emulator.delay(30)
        env = {"POETRY_REQUESTS_TIMEOUT": "1"}
    result = canary.run("ado", "login", "--pat-stdin", stdin=canary.value + "\n", env=env)
    assert result.exit_code == 1, result
    assert not canary.env.auth_file.exists()


def test_unreachable_and_unknown_feeds(canary: Canary) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    feed_project(canary.project, f"http://127.0.0.1:{port}/contoso/_packaging/gone/pypi/simple/")
    assert canary.run("ado", "login", "--pat-stdin", stdin=canary.value + "\n").exit_code == 1


def test_bad_input_never_echoes_the_token(canary: Canary) -> None:
    # A token with a line break, a broken endpoint JSON, a wrong endpoint.
    assert canary.run("ado", "login", "--pat-stdin", stdin=f"{canary.value} x\n").exit_code == 1
    broken = f'{{"endpointCredentials":[{{"endpoint":"x","password":"{canary.value}"'
    assert (
        canary.run(
            "ado", "login", "-n", env={"VSS_NUGET_EXTERNAL_FEED_ENDPOINTS": broken}
        ).exit_code
        == 1
    )
    other = (
        '{"endpointCredentials":[{"endpoint":"https://pkgs.dev.azure.com/o/_packaging/f/pypi/'
        f'simple/","password":"{canary.value}"}}]}}'
    )
    assert (
        canary.run(
            "ado", "env", env={"ARTIFACTS_CREDENTIALPROVIDER_EXTERNAL_FEED_ENDPOINTS": other}
        ).exit_code
        == 1
    )
    assert (
        canary.run(
            "ado", "env", env={"TF_BUILD": "True", "SYSTEM_ACCESSTOKEN": canary.value}
        ).exit_code
        == 1
    )


def test_env_prints_it_only_where_intended(canary: Canary) -> None:
    env = {"SYSTEM_ACCESSTOKEN": canary.value}
    for fmt in ("shell", "azure-pipelines", "github"):
        result = canary.run("ado", "env", "--format", fmt, env=env)
        assert result.exit_code == 0, result
        assert canary.value in result.stdout
        canary.assert_hidden(allowed_stdout=result)
        canary.results.remove(result)


def test_azure_cli_login_and_refresh(canary: Canary, ado_emulator: AdoEmulator) -> None:
    """The canary is the Entra token: it must end up in no file at all, auth.toml included."""
    az = install_fake_az(canary.env.bin_dir)
    emulator = ado_emulator.emulator
    entra = canary.value
    emulator.add_entra_token(entra, role="reader")
    emulator.session_token_max_lifetime = 60  # every command refreshes
    ado_emulator.feed.add_package(PRIVATE_PACKAGE, "1.0.0")
    feed_project(canary.project, ado_emulator.feed.index_url, dependency=PRIVATE_PACKAGE)
    az.set(mode="ok", token=entra, expires_on=in_minutes(60))
    assert canary.run("ado", "login", "--azure-cli").exit_code == 0
    result = canary.run("lock")
    assert result.exit_code == 0, result
    assert "Refreshed the Azure CLI token" in result.stderr
    assert entra not in canary.env.auth_file.read_text()
    assert emulator.session_tokens[-1].token in canary.env.auth_file.read_text()
    assert canary.run("ado", "env", "--azure-cli", env={"CI": ""}).exit_code == 0
    # A refresh that fails is a warning that does not show the Entra token either.
    az.set(mode="garbage")
    assert canary.run("install").exit_code == 0
    az.set(mode="ok", token=entra, expires_on=in_minutes(60))
    emulator.reject_valid_to = True
    assert canary.run("ado", "login", "--azure-cli", "--write").exit_code == 0
    az.set(mode="garbage")  # the fake's own state file no longer holds it
    canary.assert_hidden()
    for path in canary.env.root.rglob("*"):
        if path.is_file() and path.parent != canary.env.bin_dir:
            assert entra not in path.read_text(errors="replace"), f"Entra token in {path}"


def test_azure_identity_login(canary: Canary, ado_emulator: AdoEmulator, tmp_path: Path) -> None:
    emulator = ado_emulator.emulator
    emulator.add_entra_token(canary.value)
    env = identity_env(tmp_path / "identity.json", token=canary.value, expires_on=in_minutes(60))
    assert canary.run("ado", "login", "--azure-identity", env=env).exit_code == 0
    # The library never had this one: a failure must not show the stored session token.
    failing = identity_env(tmp_path / "identity.json", fail="no identity configured")
    assert canary.run("ado", "login", "--azure-identity", env=failing).exit_code == 1
    assert canary.value not in canary.env.auth_file.read_text()


@pytest.mark.parametrize("source", ["token-file", "mount", "nuget", "pip", "pypirc"])
def test_ci_and_file_sources(
    canary: Canary, ado_emulator: AdoEmulator, tmp_path: Path, source: str
) -> None:
    ado_emulator.emulator.add_token(canary.value, write=True)
    secret_file = tmp_path / "poetry-ado-token"
    secret_file.write_text(canary.value + "\n")
    feed = ado_emulator.feed
    args: list[str] = []
    env: dict[str, str] = {}
    if source == "token-file":
        args = ["--token-file", str(secret_file)]
    elif source == "mount":
        env = {"POETRY_ADO_DEFAULT_TOKEN_FILE": str(secret_file)}
    elif source == "nuget":
        env = {"VSS_NUGET_ACCESSTOKEN": canary.value, "VSS_NUGET_URI_PREFIXES": feed.index_url}
    elif source == "pip":
        embedded = feed.index_url.replace("http://", f"http://build:{canary.value}@")
        env = {"PIP_EXTRA_INDEX_URL": f"https://pypi.org/simple/ {embedded}"}
    else:
        pypirc = tmp_path / ".pypirc"
        pypirc.write_text(
            f"[feed]\nrepository = {feed.upload_url}\nusername = build\npassword = {canary.value}\n"
        )
        env = {"PYPIRC_PATH": str(pypirc)}
    assert canary.run("ado", "login", *args, env=env).exit_code == 0
    assert canary.value in canary.env.auth_file.read_text()
    result = canary.run("ado", "env", *args, env={**env, "CI": ""})
    assert result.exit_code == 0, result
    assert canary.value in result.stdout
    canary.assert_hidden(allowed_stdout=result)
    canary.results.remove(result)
    ado_emulator.emulator.revoke_token(canary.value)
    assert canary.run("ado", "login", *args, env=env).exit_code == 1


def test_add_feed_with_a_credential_in_the_url(canary: Canary, ado_emulator: AdoEmulator) -> None:
    write_project(canary.project)  # no source yet
    base = ado_emulator.feed.index_url.replace("http://", f"http://build:{canary.value}@")
    result = canary.run("ado", "add-feed", base, "--name", SOURCE)
    assert result.exit_code == 0, result
    assert canary.run("ado", "add-feed", base, "--name", SOURCE, "--dry-run").exit_code == 0
    assert not canary.env.auth_file.exists()


@pytest.mark.parametrize("fault", ["none", "rejected", "500", "drop"])
def test_publish(canary: Canary, ado_emulator: AdoEmulator, fault: str) -> None:
    emulator = ado_emulator.emulator
    if fault != "rejected":
        emulator.add_token(canary.value, write=True)
    login = canary.run("ado", "login", "--pat-stdin", "--no-verify", stdin=canary.value + "\n")
    assert login.exit_code == 0, login
    assert canary.run("build").exit_code == 0
    if fault == "500":
        emulator.fail_next(50, 500)
    elif fault == "drop":
        emulator.drop_next(50)
    fast_retries = {"POETRY_ADO_PUBLISH_BACKOFF": "0.01"}

    result = canary.run("ado", "publish", "--no-check-name", env=fast_retries)

    assert result.exit_code == (0 if fault == "none" else 1), result
    assert bool(ado_emulator.feed.stored_files()) == (fault == "none")


@pytest.mark.parametrize("fault", ["none", "forbidden", "500"])
def test_release_commands(canary: Canary, ado_emulator: AdoEmulator, fault: str) -> None:
    emulator = ado_emulator.emulator
    emulator.add_token(canary.value, role="reader" if fault == "forbidden" else "owner")
    ado_emulator.feed.add_package("consumer-app", "0.1.0")
    ado_emulator.feed.allow_external_versions("consumer-app")
    login = canary.run("ado", "login", "--pat-stdin", "--no-verify", stdin=canary.value + "\n")
    assert login.exit_code == 0, login
    if fault == "500":
        emulator.fail_next(100, 500, path_contains="_apis")

    results = [
        canary.run("ado", "versions", "--all"),
        canary.run("ado", "versions", "--format", "json"),
        canary.run("ado", "promote", "--view", "Release"),
        canary.run("ado", "protect", "--format", "json"),
        canary.run("ado", "protect", "--allow-external", "-n"),
    ]

    # A reader may list versions, not promote or protect; --allow-external changes nothing here.
    expected = {"none": [0] * 5, "forbidden": [0, 0, 1, 1, 0], "500": [1] * 5}[fault]
    assert [r.exit_code for r in results] == expected, results
    assert all(r.password == canary.value for r in ado_emulator.requests if r.password)


@pytest.mark.parametrize("fault", ["none", "forbidden", "drop", "hanging-keyring"])
def test_doctor(canary: Canary, ado_emulator: AdoEmulator, fault: str) -> None:
    emulator = ado_emulator.emulator
    emulator.add_token(canary.value, write=False)
    assert canary.run("ado", "login", "--pat-stdin", stdin=canary.value + "\n").exit_code == 0
    env: dict[str, str] = {"POETRY_ADO_KEYRING_TIMEOUT": "1", "POETRY_REQUESTS_TIMEOUT": "2"}
    if fault == "forbidden":
        emulator.revoke_token(canary.value)
        emulator.add_token(canary.value, feeds=[ado_emulator.org_feed])
    elif fault == "drop":
        emulator.drop_next(100)
    elif fault == "hanging-keyring":
        env.update(keyring_env("HangingKeyring"))
    for output in ("text", "json"):
        result = canary.run("ado", "doctor", "--format", output, env=env)
        assert result.exit_code in (0, 1, 2), result
        assert "Traceback" not in result.stderr
    environment = {**env, f"POETRY_HTTP_BASIC_{SOURCE.upper().replace('-', '_')}_USERNAME": "u"}
    environment[f"POETRY_HTTP_BASIC_{SOURCE.upper().replace('-', '_')}_PASSWORD"] = canary.value
    assert canary.run("ado", "doctor", env=environment).exit_code in (0, 1, 2)
