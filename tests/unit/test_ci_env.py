from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from poetry_ado_plugin.ci_env import CiVariables
from poetry_ado_plugin.ci_env import choose_format
from poetry_ado_plugin.ci_env import ci_variables
from poetry_ado_plugin.ci_env import render
from poetry_ado_plugin.ci_env import variable_prefix
from poetry_ado_plugin.errors import UsageError


VARIABLES = ci_variables("team-feed", "azure", "tok'en$1")


def test_variable_names_follow_poetry() -> None:
    assert variable_prefix("team-feed") == "POETRY_HTTP_BASIC_TEAM_FEED"
    assert variable_prefix("Feed_2") == "POETRY_HTTP_BASIC_FEED_2"
    with pytest.raises(UsageError, match="cannot be given through environment variables"):
        variable_prefix("my.feed")


def test_shell() -> None:
    text = render("shell", VARIABLES)
    assert text == (
        "export POETRY_HTTP_BASIC_TEAM_FEED_USERNAME=azure "
        "POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD='tok'\"'\"'en$1'\n"
    )
    shown = subprocess.run(
        ["bash", "-c", text + 'printf %s "$POETRY_HTTP_BASIC_TEAM_FEED_PASSWORD"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert shown.stdout == "tok'en$1"


def test_azure_pipelines() -> None:
    assert render("azure-pipelines", ci_variables("f", "build", "a%b")) == (
        "##vso[task.setvariable variable=POETRY_HTTP_BASIC_F_USERNAME]build\n"
        "##vso[task.setvariable variable=POETRY_HTTP_BASIC_F_PASSWORD;issecret=true]a%AZP25b\n"
    )


def test_github() -> None:
    assert render("github", ci_variables("f", "azure", "tok")) == (
        "::add-mask::tok\nPOETRY_HTTP_BASIC_F_USERNAME=azure\nPOETRY_HTTP_BASIC_F_PASSWORD=tok\n"
    )


def test_repr_hides_the_token() -> None:
    assert "tok'en$1" not in repr(VARIABLES)
    assert isinstance(VARIABLES, CiVariables)


def test_format_choice() -> None:
    assert choose_format(None, {}) == "shell"
    assert choose_format("github", {"TF_BUILD": "True"}) == "github"
    with pytest.raises(UsageError, match="pass --format azure-pipelines"):
        choose_format(None, {"TF_BUILD": "True"})
    with pytest.raises(UsageError, match="pass --format github"):
        choose_format(None, {"GITHUB_ACTIONS": "true"})
    with pytest.raises(UsageError, match="unknown format 'json'"):
        choose_format("json", {})


def test_the_github_mask_escapes_percent_and_line_breaks() -> None:
    from poetry_ado_plugin.ci_env import render_github_mask

    variables = ci_variables("f", "azure", "a%b\r\nc")

    # The runner un-escapes %25, %0D and %0A in a command's data: the whole token is masked.
    assert render_github_mask(variables) == "::add-mask::a%25b%0D%0Ac\n"


def test_github_env_lines_survive_a_line_break_in_a_value() -> None:
    from poetry_ado_plugin.ci_env import render_github_env

    text = render_github_env(ci_variables("f", "azure", "a\nb"))

    lines = text.splitlines()
    assert lines[0] == "POETRY_HTTP_BASIC_F_USERNAME=azure"
    assert lines[1].startswith("POETRY_HTTP_BASIC_F_PASSWORD<<")
    delimiter = lines[1].split("<<", 1)[1]
    assert lines[2:] == ["a", "b", delimiter]


def test_github_env_is_created_readable_only_by_us(tmp_path: Path) -> None:
    import stat

    from poetry_ado_plugin.ci_env import append_github_env

    path = tmp_path / "github_env"
    append_github_env(path, ci_variables("f", "azure", "tok"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    existing = tmp_path / "existing"
    existing.write_text("A=1\n")
    existing.chmod(0o644)
    append_github_env(existing, ci_variables("f", "azure", "tok"))
    assert stat.S_IMODE(existing.stat().st_mode) == 0o644  # the runner's file, left as it is
    assert existing.read_text().startswith("A=1\nPOETRY_HTTP_BASIC_F_USERNAME=azure\n")


def test_a_github_env_that_cannot_be_written_is_one_line_naming_it(tmp_path: Path) -> None:
    from poetry_ado_plugin.ci_env import append_github_env
    from poetry_ado_plugin.errors import CredentialError

    missing = tmp_path / "no-such-dir" / "github_env"
    with pytest.raises(CredentialError) as caught:
        append_github_env(missing, ci_variables("f", "azure", "CANARYtok"))
    assert str(caught.value) == (
        f"could not append to $GITHUB_ENV ({missing}): No such file or directory"
    )
