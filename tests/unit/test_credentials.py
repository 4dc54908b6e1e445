from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from poetry_ado_plugin.credentials import DEFAULT_USERNAME
from poetry_ado_plugin.credentials import Token
from poetry_ado_plugin.credentials import TokenRequest
from poetry_ado_plugin.credentials import clean_token
from poetry_ado_plugin.credentials import find_endpoint_credential
from poetry_ado_plugin.credentials import find_token
from poetry_ado_plugin.credentials import resolve_target
from poetry_ado_plugin.errors import CredentialError
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.feed import parse_feed_url


if TYPE_CHECKING:
    from pathlib import Path


INDEX = "https://pkgs.dev.azure.com/contoso/Web/_packaging/team-feed/pypi/simple/"
FEED = parse_feed_url(INDEX).feed
SECRET = "s3cr3t-token-value"


def endpoints(*entries: dict[str, str]) -> str:
    return json.dumps({"endpointCredentials": list(entries)})


def token(environ: dict[str, str], request: TokenRequest | None = None, **kwargs: object) -> Token:
    return find_token(FEED, request or TokenRequest(), environ, **kwargs)  # type: ignore[arg-type]


def test_stdin_comes_first() -> None:
    found = token(
        {"AZURE_DEVOPS_EXT_PAT": "env"},
        TokenRequest(pat_stdin=True),
        read_stdin_line=lambda: f"  {SECRET}\n",
    )
    assert (found.secret, found.username, found.origin) == (
        SECRET,
        DEFAULT_USERNAME,
        "standard input",
    )


def test_environment_order() -> None:
    both = {"AZURE_DEVOPS_EXT_PAT": "pat", "SYSTEM_ACCESSTOKEN": "job"}
    assert token(both).origin == "AZURE_DEVOPS_EXT_PAT"
    assert token({"SYSTEM_ACCESSTOKEN": "job"}).secret == "job"
    assert token({"AZURE_DEVOPS_EXT_PAT": "  ", "SYSTEM_ACCESSTOKEN": "job"}).secret == "job"


@pytest.mark.parametrize(
    "endpoint",
    [
        INDEX,
        INDEX.rstrip("/"),
        "https://pkgs.dev.azure.com/contoso/Web/_packaging/team-feed@Release/pypi/simple/",
        "https://pkgs.dev.azure.com/CONTOSO/web/_packaging/Team-Feed/pypi/upload",
    ],
)
def test_endpoint_matching_ignores_view_slash_and_case(endpoint: str) -> None:
    value = endpoints(
        {
            "endpoint": "https://pkgs.dev.azure.com/contoso/_packaging/other/pypi/simple/",
            "password": "no",
        },
        {"endpoint": "not a url", "password": "no"},
        {"endpoint": endpoint, "username": "vsts", "password": SECRET},
    )
    for variable in (
        "VSS_NUGET_EXTERNAL_FEED_ENDPOINTS",
        "ARTIFACTS_CREDENTIALPROVIDER_EXTERNAL_FEED_ENDPOINTS",
    ):
        found = token({variable: value})
        assert (found.secret, found.username, found.origin) == (SECRET, "vsts", variable)


def test_endpoint_without_username_and_explicit_username() -> None:
    value = endpoints({"endpoint": INDEX, "password": SECRET})
    assert token({"VSS_NUGET_EXTERNAL_FEED_ENDPOINTS": value}).username == DEFAULT_USERNAME
    explicit = token({"VSS_NUGET_EXTERNAL_FEED_ENDPOINTS": value}, TokenRequest(username="me"))
    assert explicit.username == "me"


def test_no_matching_endpoint() -> None:
    value = endpoints(
        {"endpoint": "https://pkgs.dev.azure.com/x/_packaging/y/pypi/simple/", "password": SECRET}
    )
    assert find_endpoint_credential(FEED, {"VSS_NUGET_EXTERNAL_FEED_ENDPOINTS": value}) is None


def test_broken_endpoint_json_is_named_not_shown() -> None:
    with pytest.raises(CredentialError) as caught:
        token({"VSS_NUGET_EXTERNAL_FEED_ENDPOINTS": '{"endpointCredentials": [' + SECRET})
    assert "VSS_NUGET_EXTERNAL_FEED_ENDPOINTS is not valid JSON" in str(caught.value)
    assert SECRET not in str(caught.value)
    with pytest.raises(CredentialError, match="has no endpointCredentials list"):
        token({"VSS_NUGET_EXTERNAL_FEED_ENDPOINTS": json.dumps({"x": SECRET})})


def test_prompt_is_last_and_optional() -> None:
    assert token({}, prompt=lambda: SECRET).origin == "the prompt"
    assert token({"SYSTEM_ACCESSTOKEN": "job"}, prompt=lambda: SECRET).secret == "job"
    with pytest.raises(CredentialError) as caught:
        token({}, prompt_unavailable_hint=", or run without -n")
    message = str(caught.value)
    for name in (
        "--pat-stdin",
        "--azure-cli",
        "AZURE_DEVOPS_EXT_PAT",
        "SYSTEM_ACCESSTOKEN",
        "VSS_NUGET_EXTERNAL_FEED_ENDPOINTS",
        "ARTIFACTS_CREDENTIALPROVIDER_EXTERNAL_FEED_ENDPOINTS",
        "without -n",
    ):
        assert name in message


@pytest.mark.parametrize("raw", ["", "   \n", "two words", "tab\tinside"])
def test_bad_tokens_are_refused_without_echo(raw: str) -> None:
    with pytest.raises(CredentialError) as caught:
        clean_token(raw, "standard input")
    assert raw.strip() not in str(caught.value) or not raw.strip()


def test_token_hides_its_secret() -> None:
    found = Token(SECRET, "azure", "standard input")
    assert SECRET not in repr(found)
    assert SECRET not in str(found)
    assert SECRET not in f"{found!r} {found}"


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (TokenRequest(pat_stdin=True, azure_cli=True), "either --pat-stdin or --azure-cli"),
        (TokenRequest(tenant="t"), "--tenant only applies to --azure-cli"),
        (TokenRequest(username=" "), "--username is empty"),
    ],
)
def test_option_conflicts(request_: TokenRequest, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        token({}, request_)


# --- resolve_target ---------------------------------------------------------------------------


def _pyproject(tmp_path: Path, *sources: tuple[str, str]) -> Path:
    text = '[project]\nname = "x"\nversion = "1"\n'
    for name, url in sources:
        text += f'\n[[tool.poetry.source]]\nname = "{name}"\nurl = "{url}"\npriority = "explicit"\n'
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    return path


ORG_INDEX = "https://pkgs.dev.azure.com/contoso/_packaging/org-feed/pypi/simple/"


def test_single_azure_source_is_the_default(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, ("pypi-mirror", "https://example.org/simple/"), ("team", INDEX))
    target = resolve_target(None, path, "login")
    # The source of pyproject.toml, as written there.
    assert (target.name, target.feed.index_url, target.url) == ("team", INDEX, INDEX)


def test_several_azure_sources_need_a_name(tmp_path: Path) -> None:
    path = _pyproject(tmp_path, ("team", INDEX), ("org", ORG_INDEX))
    with pytest.raises(
        UsageError,
        match=r"2 Azure feed sources \(team, org\): name one, e\.g\. poetry ado login team",
    ):
        resolve_target(None, path, "login")
    assert resolve_target("org", path, "login").feed.index_url == ORG_INDEX


def test_no_project_needs_a_name(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UsageError, match=r"no pyproject\.toml here"):
        resolve_target(None, None, "env")
    upload = "https://pkgs.dev.azure.com/contoso/_packaging/org-feed/pypi/upload/"
    monkeypatch.setattr("poetry_ado_plugin.poetry_config.get_repository_url", lambda name: upload)
    target = resolve_target("org", None, "env")
    # The repository of Poetry's config: its upload URL, read as the feed.
    assert (target.feed.index_url, target.url) == (ORG_INDEX, upload)


def test_unknown_repository(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("poetry_ado_plugin.poetry_config.get_repository_url", lambda name: None)
    with pytest.raises(UsageError, match="'nope' is not a repository"):
        resolve_target("nope", None, "login")
    path = _pyproject(tmp_path, ("team", INDEX))
    with pytest.raises(UsageError, match=r"neither a source in pyproject\.toml nor a repository"):
        resolve_target("nope", path, "login")
