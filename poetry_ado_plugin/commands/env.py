from __future__ import annotations

import os
from pathlib import Path
from typing import ClassVar

from cleo.helpers import option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option
from cleo.io.outputs.output import Type
from cleo.io.outputs.output import Verbosity

from poetry_ado_plugin.commands._token_options import NAME_ARGUMENT
from poetry_ado_plugin.commands._token_options import TOKEN_OPTIONS
from poetry_ado_plugin.commands._token_options import TokenCommand


class EnvCommand(TokenCommand):
    name = "ado env"
    description = "Print the variables that make Poetry authenticate to a feed in CI, from a token."

    arguments: ClassVar[list[Argument]] = [NAME_ARGUMENT]
    options: ClassVar[list[Option]] = [
        option(
            "format",
            None,
            "shell (an export line for eval), azure-pipelines (secret pipeline variables) or "
            "github (masked $GITHUB_ENV entries). Default: shell; required inside CI.",
            flag=False,
        ),
        *TOKEN_OPTIONS,
    ]

    help = """\
Prints Poetry's <c1>POETRY_HTTP_BASIC_NAME_USERNAME</c1> and <c1>_PASSWORD</c1> variables for
a token found like <c1>poetry ado login</c1> finds one (never from a prompt), so CI authenticates
without writing a secret to disk:

  <c1>eval "$(poetry ado env my-feed)"</c1>
  <c1>poetry ado env my-feed --format azure-pipelines</c1>    (with SYSTEM_ACCESSTOKEN mapped)
  <c1>poetry ado env my-feed --format github --azure-cli</c1>

With <c1>--format github</c1> and <c1>GITHUB_ENV</c1> set, the <c1>::add-mask::</c1> command is
printed and the variables are appended to <c1>$GITHUB_ENV</c1> directly. Inside Azure Pipelines or
GitHub Actions <c1>--format</c1> is required: printed in the wrong form, the token would end up in
the log.
"""

    def run_command(self) -> int:
        from poetry_ado_plugin import ci_env

        format_name = ci_env.choose_format(self.option("format"), dict(os.environ))
        target = self.target()
        token = self.find_token(target, allow_prompt=False)
        variables = ci_env.ci_variables(target.name, token.username, token.secret)

        github_env = os.environ.get("GITHUB_ENV")
        if format_name == "github" and github_env:
            self._write(ci_env.render_github_mask(variables))
            ci_env.append_github_env(Path(github_env), variables)
            self.line_error(
                f"Wrote {variables.username_variable} and {variables.password_variable} to "
                f"$GITHUB_ENV (token from {token.origin})."
            )
            return 0

        self._write(ci_env.render(format_name, variables))
        self.line_error(f"Token from {token.origin}.", verbosity=Verbosity.VERBOSE)
        return 0

    def _write(self, text: str) -> None:
        # Raw: the text is for a shell or a CI agent, never for cleo's formatter. QUIET: it is
        # the command's result, so -q must not swallow it (nor the ::add-mask:: line).
        self.io.write(text, type=Type.RAW, verbosity=Verbosity.QUIET)
