"""The CI and file token sources of the chain, and their order."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from poetry_ado_plugin.credentials import Token
from poetry_ado_plugin.credentials import TokenRequest
from poetry_ado_plugin.credentials import find_token
from poetry_ado_plugin.errors import CredentialError
from poetry_ado_plugin.feed import parse_feed_url


if TYPE_CHECKING:
    from pathlib import Path


FEED_URL = "https://pkgs.dev.azure.com/contoso/Web/_packaging/team-feed/pypi/simple/"
OTHER_URL = "https://pkgs.dev.azure.com/contoso/Web/_packaging/other/pypi/simple/"
SECRET = "s3cr3t-token-0123456789"


def token(environ: dict[str, str], request: TokenRequest | None = None) -> Token:
    environ = {"POETRY_ADO_DEFAULT_TOKEN_FILE": "/nonexistent/poetry-ado-token", **environ}
    return find_token(parse_feed_url(FEED_URL).feed, request or TokenRequest(), environ)


def test_token_file_option_and_variable(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(f"\ufeff{SECRET}\n")
    assert token({}, TokenRequest(token_file=str(path))).secret == SECRET
    found = token({"POETRY_ADO_TOKEN_FILE": str(path), "AZURE_DEVOPS_EXT_PAT": "later"})
    assert (found.secret, found.origin) == (SECRET, "the file named by POETRY_ADO_TOKEN_FILE")


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "is empty"), (b"two words", "whitespace"), (b"\xff\xfe\x00", "not text")],
)
def test_bad_token_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "token"
    path.write_bytes(content)
    with pytest.raises(CredentialError, match=message) as caught:
        token({}, TokenRequest(token_file=str(path)))
    assert "two words" not in str(caught.value)


def test_a_huge_or_missing_token_file(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("a" * 70000)
    with pytest.raises(CredentialError, match="over 64 KiB"):
        token({}, TokenRequest(token_file=str(path)))
    with pytest.raises(CredentialError, match="does not exist"):
        token({"POETRY_ADO_TOKEN_FILE": str(tmp_path / "none")})


def test_the_secret_mount_is_last_and_optional(tmp_path: Path) -> None:
    path = tmp_path / "poetry-ado-token"
    path.write_text(SECRET)
    mount = {"POETRY_ADO_DEFAULT_TOKEN_FILE": str(path)}
    assert token(mount).origin == f"the secret file {path}"
    assert token({**mount, "SYSTEM_ACCESSTOKEN": "job"}).secret == "job"
    with pytest.raises(CredentialError, match="/run/secrets/poetry-ado-token"):
        token({})


def test_nuget_access_token_by_prefix() -> None:
    assert token({"VSS_NUGET_ACCESSTOKEN": SECRET}).origin == "VSS_NUGET_ACCESSTOKEN"
    covered = {
        "VSS_NUGET_ACCESSTOKEN": SECRET,
        "VSS_NUGET_URI_PREFIXES": "https://other.example/;https://PKGS.dev.azure.com/contoso/",
    }
    assert token(covered).secret == SECRET
    elsewhere = {"VSS_NUGET_ACCESSTOKEN": SECRET, "VSS_NUGET_URI_PREFIXES": "https://x.example/"}
    with pytest.raises(CredentialError, match="no token found"):
        token(elsewhere)


def test_pip_authenticate_urls_matched_by_feed() -> None:
    other = OTHER_URL.replace("https://", "https://build:wrong@")
    mine = FEED_URL.replace("https://", "https://build:s3cr3t%2Btoken@").replace(
        "team-feed", "Team-Feed"
    )
    found = token({"PIP_EXTRA_INDEX_URL": f"{other} {mine}"})
    assert (found.secret, found.username) == ("s3cr3t+token", "build")
    assert found.origin == "PIP_EXTRA_INDEX_URL (PipAuthenticate)"
    assert token({"PIP_INDEX_URL": mine}).secret == "s3cr3t+token"
    with pytest.raises(CredentialError, match="no token found"):
        token({"PIP_INDEX_URL": other, "PIP_EXTRA_INDEX_URL": FEED_URL})  # no credential in it


def test_twine_authenticate_pypirc(tmp_path: Path) -> None:
    pypirc = tmp_path / ".pypirc"
    pypirc.write_text(
        "[distutils]\nindex-servers =\n  other\n  team-feed\n\n"
        f"[other]\nrepository = {OTHER_URL.replace('simple', 'upload')}\n"
        "username = build\npassword = wrong\n\n"
        f"[team-feed]\nrepository = {FEED_URL.replace('simple', 'upload')}\n"
        f"username = build\npassword = {SECRET}%x\n"
    )
    found = token({"PYPIRC_PATH": str(pypirc)})
    assert (found.secret, found.username) == (f"{SECRET}%x", "build")
    assert "TwineAuthenticate" in found.origin
    pypirc.write_text(f"not ini {SECRET}")
    with pytest.raises(CredentialError, match="not a valid INI file") as caught:
        token({"PYPIRC_PATH": str(pypirc)})
    assert SECRET not in str(caught.value)


def test_the_order_of_the_environment_sources(tmp_path: Path) -> None:
    file = tmp_path / "t"
    file.write_text("from-file")
    pypirc = tmp_path / ".pypirc"
    pypirc.write_text(f"[f]\nrepository = {FEED_URL}\npassword = from-pypirc\n")
    environ = {
        "POETRY_ADO_TOKEN_FILE": str(file),
        "AZURE_DEVOPS_EXT_PAT": "from-pat",
        "SYSTEM_ACCESSTOKEN": "from-pipelines",
        "VSS_NUGET_EXTERNAL_FEED_ENDPOINTS": (
            f'{{"endpointCredentials":[{{"endpoint":"{FEED_URL}","password":"from-endpoints"}}]}}'
        ),
        "VSS_NUGET_ACCESSTOKEN": "from-nuget",
        "PIP_INDEX_URL": FEED_URL.replace("https://", "https://b:from-pip@"),
        "PYPIRC_PATH": str(pypirc),
    }
    order = []
    for variable in list(environ):
        order.append(token(environ).secret)
        del environ[variable]
    assert order == [
        "from-file",
        "from-pat",
        "from-pipelines",
        "from-endpoints",
        "from-nuget",
        "from-pip",
        "from-pypirc",
    ]


def test_explicit_sources_exclude_each_other(tmp_path: Path) -> None:
    from poetry_ado_plugin.errors import UsageError

    with pytest.raises(UsageError, match="either --token-file or --azure-identity"):
        token({}, TokenRequest(token_file="x", azure_identity=True))
    with pytest.raises(UsageError, match="--write only applies to the Entra ID sources"):
        token({}, TokenRequest(write=True))
