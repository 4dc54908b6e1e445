"""What makes Poetry authenticate in CI without writing a secret to disk: Poetry's own
``POETRY_HTTP_BASIC_<NAME>_USERNAME`` / ``_PASSWORD`` variables, in three output formats.

- ``shell``: one ``export`` line for ``eval "$(poetry ado env NAME)"``; values shell-quoted.
- ``azure-pipelines``: ``##vso[task.setvariable ...]`` logging commands; the password is a secret
  variable (masked in logs, and mapped into later steps with ``env:``).
- ``github``: ``::add-mask::<token>`` (a workflow command, so it must reach the log) and then
  ``NAME=value`` lines for ``$GITHUB_ENV``.

There is deliberately no default guessed from TF_BUILD / GITHUB_ACTIONS (see ``choose_format``)."""

from __future__ import annotations

import os
import re
import secrets
import shlex
from dataclasses import dataclass
from pathlib import Path

from poetry_ado_plugin.errors import UsageError


FORMATS = ("shell", "azure-pipelines", "github")

_VARIABLE_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


def variable_prefix(name: str) -> str:
    """``POETRY_HTTP_BASIC_<NAME>``: NAME upper-cased with '-' as '_', as Poetry reads it."""
    prefix = f"POETRY_HTTP_BASIC_{name.upper().replace('-', '_')}"
    if not _VARIABLE_NAME.fullmatch(prefix):
        raise UsageError(
            f"source name '{name}' cannot be given through environment variables (only letters, "
            "digits, '-' and '_' can): rename the source with `poetry ado add-feed --name`"
        )
    return prefix


@dataclass(frozen=True)
class CiVariables:
    username_variable: str
    password_variable: str
    username: str
    # The token. Not in repr.
    password: str

    def __repr__(self) -> str:
        return f"CiVariables({self.username_variable}, {self.password_variable})"


def ci_variables(name: str, username: str, token: str) -> CiVariables:
    prefix = variable_prefix(name)
    return CiVariables(f"{prefix}_USERNAME", f"{prefix}_PASSWORD", username, token)


def choose_format(requested: str | None, environ: dict[str, str]) -> str:
    """The output format. Without --format: ``shell``, except inside Azure Pipelines or GitHub
    Actions, where guessing either way can leak the token into the log (shell text that nobody
    evals is printed as is; a CI format inside ``eval`` becomes a shell error that echoes it), so
    the user must say which they mean."""
    if requested is not None:
        if requested not in FORMATS:
            raise UsageError(f"unknown format '{requested}': use one of {', '.join(FORMATS)}")
        return requested
    ci = None
    if environ.get("TF_BUILD", "").lower() == "true":
        ci = ("Azure Pipelines", "azure-pipelines")
    elif environ.get("GITHUB_ACTIONS", "").lower() == "true":
        ci = ("GitHub Actions", "github")
    if ci is not None:
        raise UsageError(
            f"running in {ci[0]}: pass --format {ci[1]} to set masked pipeline variables, or "
            '--format shell inside eval "$(...)"'
        )
    return "shell"


def render_shell(variables: CiVariables) -> str:
    return (
        f"export {variables.username_variable}={shlex.quote(variables.username)} "
        f"{variables.password_variable}={shlex.quote(variables.password)}\n"
    )


def _vso_value(value: str) -> str:
    # The agent's escaping for logging-command values (no line breaks survive otherwise).
    return value.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def render_azure_pipelines(variables: CiVariables) -> str:
    return (
        f"##vso[task.setvariable variable={variables.username_variable}]"
        f"{_vso_value(variables.username)}\n"
        f"##vso[task.setvariable variable={variables.password_variable};issecret=true]"
        f"{_vso_value(variables.password)}\n"
    )


def _github_data(value: str) -> str:
    # The runner's escaping for a workflow command's data: unescaped, a '%' sequence or a line
    # break would end the value early and leave the rest of the token unmasked.
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def render_github_mask(variables: CiVariables) -> str:
    return f"::add-mask::{_github_data(variables.password)}\n"


def _github_env_line(name: str, value: str) -> str:
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    # GitHub's multi-line form, with a delimiter that cannot occur in the value.
    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def render_github_env(variables: CiVariables) -> str:
    return _github_env_line(variables.username_variable, variables.username) + _github_env_line(
        variables.password_variable, variables.password
    )


def append_github_env(path: Path, variables: CiVariables) -> None:
    """Append the variables to ``$GITHUB_ENV``. A file we create is readable only by us (it
    holds the token); the runner's own file keeps its mode. Raises CredentialError, naming the
    file, when it cannot be written."""
    from poetry_ado_plugin.errors import CredentialError

    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8", newline="\n") as stream:
            stream.write(render_github_env(variables))
    except OSError as error:
        raise CredentialError(
            f"could not append to $GITHUB_ENV ({path}): {error.strerror or type(error).__name__}"
        ) from None


def render(format_name: str, variables: CiVariables) -> str:
    if format_name == "shell":
        return render_shell(variables)
    if format_name == "azure-pipelines":
        return render_azure_pipelines(variables)
    if format_name == "github":
        return render_github_mask(variables) + render_github_env(variables)
    raise UsageError(f"unknown format '{format_name}': use one of {', '.join(FORMATS)}")
