"""`login --azure-cli` and `--azure-identity` store a packaging-scoped session token, never the
Entra token; the refresh mints a new one through the same identity; the Windows size guard."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from tests.e2e.helpers_login import PRIVATE_PACKAGE
from tests.e2e.helpers_login import SOURCE
from tests.e2e.helpers_login import auth_toml
from tests.e2e.helpers_login import expiry_records
from tests.e2e.helpers_login import feed_project
from tests.e2e.helpers_login import in_minutes
from tests.e2e.helpers_login import path_without_real_az
from tests.emulator.emulator import make_jwt
from tests.fakes.az import identity_calls
from tests.fakes.az import identity_env
from tests.fakes.az import install_fake_az
from tests.fakes.keyrings import keyring_env


if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.emulator.pytest_plugin import EmulatorFactory
    from tests.fakes.az import FakeAz
    from tests.poetry_env import PoetryEnv


pytestmark = pytest.mark.e2e

AZ_HOME_TENANT = "11111111-2222-3333-4444-555555555555"


def files_holding(env: PoetryEnv, project: Path, secret: str) -> list[str]:
    """Every file of the Poetry home and the project holding ``secret``, except the fake az's
    own state (what the test told it to answer)."""
    found = []
    for root in (env.root, project):
        for path in root.rglob("*"):
            if path.parent == env.bin_dir:
                continue
            if path.is_file() and secret in path.read_text(errors="replace"):
                found.append(str(path.relative_to(root)))
    return found


@dataclass(frozen=True)
class FakeAzLogin:
    entra: str  # the Entra token the fake az prints
    az: FakeAz
    env: dict[str, str]  # PATH without a real az


def fake_az_with_entra_token(
    ado_emulator: AdoEmulator,
    poetry_env: PoetryEnv,
    project_dir: Path,
    *,
    entra: str | None = None,
    dependency: str | None = None,
    session_lifetime: int | None = None,
) -> FakeAzLogin:
    """A project on the emulator's feed and a fake az, logged in, printing an Entra token that
    the emulator exchanges for session tokens (each valid ``session_lifetime`` seconds at most)."""
    emulator = ado_emulator.emulator
    entra = entra or make_jwt()
    emulator.add_entra_token(entra)
    if session_lifetime is not None:
        emulator.session_token_max_lifetime = session_lifetime
    feed_project(project_dir, ado_emulator.feed.index_url, dependency=dependency)
    az = install_fake_az(poetry_env.bin_dir)
    az.set(mode="ok", token=entra, expires_on=in_minutes(60))
    return FakeAzLogin(entra, az, path_without_real_az(poetry_env))


def test_login_stores_a_read_session_token_for_the_feeds_tenant(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project_dir: Path
) -> None:
    feed_project(project_dir, ado_emulator.feed.index_url)
    emulator = ado_emulator.emulator
    # az's default tenant is another one: its token would be refused by the exchange.
    home, feeds = make_jwt(), make_jwt()
    emulator.add_entra_token(home, tenant=AZ_HOME_TENANT)
    emulator.add_entra_token(feeds, tenant=emulator.tenant_id, role="reader")
    az = install_fake_az(poetry_env.bin_dir)
    az.set(
        mode="ok",
        token=home,
        tenant=AZ_HOME_TENANT,
        expires_on=in_minutes(60),
        tenants={emulator.tenant_id: feeds},
    )

    result = poetry_env.run(
        "ado",
        "login",
        "--azure-cli",
        "--valid-for",
        "8h",
        cwd=project_dir,
        env=path_without_real_az(poetry_env),
    )

    assert result.exit_code == 0, result
    assert az.calls()[-1][-2:] == ["--tenant", emulator.tenant_id]
    (issued,) = emulator.session_tokens
    assert issued.entra_token == feeds
    assert (issued.scope, issued.token_type) == ("vso.packaging", "Compact")
    assert abs(issued.valid_to - (time.time() + 8 * 3600)) < 120
    auth = auth_toml(poetry_env)
    assert issued.token in auth and 'username = "VssSessionToken"' in auth
    assert files_holding(poetry_env, project_dir, feeds) == []
    assert files_holding(poetry_env, project_dir, home) == []
    assert "vso.packaging session token" in result.stdout
    assert "may read the feed only" in result.stdout
    record = expiry_records(poetry_env)[SOURCE]
    assert record["scope"] == "vso.packaging"
    assert record["tenant"] == emulator.tenant_id
    assert record["valid_for"] == 8 * 3600
    # The feed saw the session token only, never the Entra token.
    assert {r.password for r in emulator.requests if r.password} == {issued.token, feeds}
    assert [r.path.endswith("SessionTokens") for r in emulator.requests if r.password == feeds] == [
        True
    ]


def test_write_and_the_refresh_mint_through_the_same_identity(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project_dir: Path
) -> None:
    emulator = ado_emulator.emulator
    ado_emulator.feed.add_package(PRIVATE_PACKAGE, "1.0.0")
    # the server grants two minutes
    fake = fake_az_with_entra_token(
        ado_emulator, poetry_env, project_dir, dependency=PRIVATE_PACKAGE, session_lifetime=120
    )
    entra, path = fake.entra, fake.env
    login = poetry_env.run("ado", "login", "--azure-cli", "--write", cwd=project_dir, env=path)
    assert login.exit_code == 0, login
    first = emulator.session_tokens[-1]
    assert first.scope == "vso.packaging_write"
    emulator.clear_requests()

    result = poetry_env.run("lock", cwd=project_dir, env=path)

    assert result.exit_code == 0, result
    assert f"Refreshed the Azure CLI token for {SOURCE}" in result.stderr
    second = emulator.session_tokens[-1]
    assert second.token != first.token and second.scope == "vso.packaging_write"
    assert second.token in auth_toml(poetry_env) and first.token not in auth_toml(poetry_env)
    sent = {r.password for r in ado_emulator.feed.requests()}
    assert sent == {second.token}, "this very run must already use the new session token"
    assert files_holding(poetry_env, project_dir, entra) == []


def test_a_logged_out_az_is_the_usual_warning(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project_dir: Path
) -> None:
    fake = fake_az_with_entra_token(ado_emulator, poetry_env, project_dir, session_lifetime=120)
    path = fake.env
    assert poetry_env.run("ado", "login", "--azure-cli", cwd=project_dir, env=path).exit_code == 0
    fake.az.set(mode="not-logged-in")
    result = poetry_env.run("lock", cwd=project_dir, env=path)
    assert result.exit_code == 0, result
    assert f"Warning: could not refresh the Azure CLI token for '{SOURCE}'" in result.stderr
    assert f"poetry ado login {SOURCE} --azure-cli" in result.stderr


def test_publishing_with_a_read_token_mints_a_write_one_first(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project_dir: Path
) -> None:
    emulator = ado_emulator.emulator
    path = fake_az_with_entra_token(ado_emulator, poetry_env, project_dir).env
    assert poetry_env.run("ado", "login", "--azure-cli", cwd=project_dir, env=path).exit_code == 0
    assert poetry_env.run("build", cwd=project_dir).exit_code == 0

    result = poetry_env.run("publish", "-r", SOURCE, cwd=project_dir, env=path)

    assert result.exit_code == 0, result
    assert [t.scope for t in emulator.session_tokens] == ["vso.packaging", "vso.packaging_write"]
    assert ado_emulator.feed.stored_files()
    assert expiry_records(poetry_env)[SOURCE]["scope"] == "vso.packaging_write"


def test_an_azure_devops_server_feed_never_tries_the_exchange(
    ado_emulator_factory: EmulatorFactory, poetry_env: PoetryEnv, project_dir: Path
) -> None:
    emulator = ado_emulator_factory(mode="server")
    feed = emulator.add_feed(None, "onprem")
    entra = make_jwt()
    emulator.add_token(entra, write=False)
    feed_project(project_dir, feed.index_url)
    az = install_fake_az(poetry_env.bin_dir)
    az.set(mode="ok", token=entra, expires_on=in_minutes(60))

    result = poetry_env.run(
        "ado", "login", "--azure-cli", cwd=project_dir, env=path_without_real_az(poetry_env)
    )

    assert result.exit_code == 0, result
    assert [r for r in emulator.requests if r.method == "POST"] == []
    assert entra in auth_toml(poetry_env)


LONG_ENTRA = "eyJ0eXAiOiJKV1QifQ." + "a" * 1400 + ".sig"


def test_a_token_too_big_for_the_windows_keyring_is_not_offered_to_it(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project_dir: Path, tmp_path: Path
) -> None:
    emulator = ado_emulator.emulator
    emulator.add_token(LONG_ENTRA, write=False)
    fake = fake_az_with_entra_token(ado_emulator, poetry_env, project_dir, entra=LONG_ENTRA)
    store = tmp_path / "keyring.json"
    env = {**fake.env, **keyring_env("WinVaultKeyring", store)}

    raw = poetry_env.run(
        "ado", "login", "--azure-cli", "--no-session-token", cwd=project_dir, env=env
    )

    assert raw.exit_code == 0, raw
    assert "holds at most 2,560 bytes per secret" in raw.stderr
    assert LONG_ENTRA in auth_toml(poetry_env)
    assert not (tmp_path / "keyring.json.sets").exists(), "the keyring was offered the secret"

    # A session token is short: it goes to the keyring.
    session = poetry_env.run("ado", "login", "--azure-cli", cwd=project_dir, env=env)
    assert session.exit_code == 0, session
    assert "stored in the keyring" in session.stdout
    assert emulator.session_tokens[-1].token in store.read_text()
    assert LONG_ENTRA not in auth_toml(poetry_env)


def test_azure_identity_is_exchanged_and_refreshed(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project_dir: Path, tmp_path: Path
) -> None:
    emulator = ado_emulator.emulator
    entra = make_jwt()
    emulator.add_entra_token(entra)
    emulator.session_token_max_lifetime = 120
    ado_emulator.feed.add_package(PRIVATE_PACKAGE, "1.0.0")
    feed_project(project_dir, ado_emulator.feed.index_url, dependency=PRIVATE_PACKAGE)
    state = tmp_path / "identity.json"
    env = identity_env(state, token=entra, expires_on=in_minutes(60))

    login = poetry_env.run("ado", "login", "--azure-identity", cwd=project_dir, env=env)

    assert login.exit_code == 0, login
    assert "token from azure-identity (a vso.packaging session token)" in login.stdout
    (call,) = identity_calls(state)
    assert call["scopes"] == ["499b84ac-1321-427f-aa17-267ca6975798/.default"]
    assert call["kwargs"] == {"tenant_id": emulator.tenant_id}
    assert emulator.session_tokens[-1].token in auth_toml(poetry_env)
    assert expiry_records(poetry_env)[SOURCE]["identity"] == "azure-identity"

    lock = poetry_env.run("lock", cwd=project_dir, env=env)
    assert lock.exit_code == 0, lock
    assert f"Refreshed the azure-identity token for {SOURCE}" in lock.stderr
    assert len(emulator.session_tokens) == 2
    assert files_holding(poetry_env, project_dir, entra) == []

    identity_env(state, fail="EnvironmentCredential: AZURE_CLIENT_ID is not set")
    emulator.session_token_max_lifetime = 120
    again = poetry_env.run("lock", cwd=project_dir, env=env)
    assert "could not refresh the azure-identity token" in again.stderr
    assert f"poetry ado login {SOURCE} --azure-identity" in again.stderr


def test_azure_identity_without_the_extra_says_how_to_install_it(
    poetry_env: PoetryEnv, project_dir: Path
) -> None:
    feed_project(project_dir, "http://127.0.0.1:9/contoso/_packaging/f/pypi/simple/")
    result = poetry_env.run(
        "ado", "login", "--azure-identity", "--no-session-token", cwd=project_dir
    )
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1, result
    assert "poetry self add 'poetry-ado-plugin[azure-identity]'" in result.stderr


def test_azure_identity_failures_are_one_line(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project_dir: Path, tmp_path: Path
) -> None:
    feed_project(project_dir, ado_emulator.feed.index_url)
    secret = make_jwt()
    env = identity_env(tmp_path / "s.json", fail=f"no identity\ntoken {secret} leaked")
    result = poetry_env.run("ado", "login", "--azure-identity", cwd=project_dir, env=env)
    assert result.exit_code == 1
    assert (
        "azure-identity found no usable Azure identity (CredentialUnavailableError: no identity)"
        in result.stderr
    )
    assert secret not in result.output
    assert auth_toml(poetry_env) == ""


def test_env_prints_a_session_token(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project_dir: Path
) -> None:
    emulator = ado_emulator.emulator
    fake = fake_az_with_entra_token(ado_emulator, poetry_env, project_dir)
    entra = fake.entra
    result = poetry_env.run(
        "ado", "env", "--azure-cli", "--write", cwd=project_dir, env={**fake.env, "CI": ""}
    )
    assert result.exit_code == 0, result
    assert emulator.session_tokens[-1].token in result.stdout
    assert entra not in result.output
    assert emulator.session_tokens[-1].scope == "vso.packaging_write"


def test_entra_only_options_need_an_entra_source(poetry_env: PoetryEnv, project_dir: Path) -> None:
    feed_project(project_dir, "http://127.0.0.1:9/contoso/_packaging/f/pypi/simple/")
    for option in (["--write"], ["--valid-for", "8h"], ["--no-session-token"]):
        result = poetry_env.run(
            "ado", "login", "--pat-stdin", *option, cwd=project_dir, stdin="x\n"
        )
        assert result.exit_code == 1
        assert "only applies to the Entra ID sources" in result.stderr
    bad = poetry_env.run("ado", "login", "--azure-cli", "--valid-for", "7y", cwd=project_dir)
    assert "--valid-for '7y' is not a duration" in bad.stderr


@pytest.mark.skipif(os.name != "posix", reason="file modes")
def test_token_file_and_secret_mount(
    ado_emulator: AdoEmulator, poetry_env: PoetryEnv, project_dir: Path, tmp_path: Path
) -> None:
    feed_project(project_dir, ado_emulator.feed.index_url)
    secret_file = tmp_path / "poetry-ado-token"
    secret_file.write_text(ado_emulator.read_token + "\n")
    given = poetry_env.run("ado", "login", "--token-file", str(secret_file), cwd=project_dir)
    assert given.exit_code == 0, given
    assert "token from the file given to --token-file" in given.stdout
    mounted = poetry_env.run(
        "ado", "login", cwd=project_dir, env={"POETRY_ADO_DEFAULT_TOKEN_FILE": str(secret_file)}
    )
    assert mounted.exit_code == 0, mounted
    assert f"token from the secret file {secret_file}" in mounted.stdout
    missing = poetry_env.run(
        "ado", "login", cwd=project_dir, env={"POETRY_ADO_TOKEN_FILE": str(tmp_path / "none")}
    )
    assert missing.exit_code == 1
    assert "does not exist" in missing.stderr
    assert json.dumps(ado_emulator.read_token) not in missing.output
