"""Options and input shared by ``ado login`` and ``ado env``: which feed, and whose token."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from cleo.helpers import argument
from cleo.helpers import option

from poetry_ado_plugin.commands.base import AdoCommand
from poetry_ado_plugin.redact import register_secret


if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

    from cleo.io.inputs.argument import Argument
    from cleo.io.inputs.option import Option

    from poetry_ado_plugin.credentials import Token
    from poetry_ado_plugin.credentials import TokenRequest
    from poetry_ado_plugin.sources import AzureSource


NAME_ARGUMENT: Argument = argument(
    "name",
    "The source (and publish repository) name. Default: the project's only Azure Artifacts "
    "source. Required outside a project.",
    optional=True,
)

TOKEN_OPTIONS: list[Option] = [
    option(
        "username",
        None,
        "The username sent with the token (Azure accepts any non-empty one). Default: the "
        "endpoint entry's username, else 'azure'.",
        flag=False,
    ),
    option("pat-stdin", None, "Read the token (one line) from standard input.", flag=True),
    option(
        "token-file",
        None,
        "Read the token from this file (a Docker BuildKit or Kubernetes secret).",
        flag=False,
    ),
    option(
        "azure-cli",
        None,
        "Get an Entra ID token from the Azure CLI (`az account get-access-token`) and exchange "
        "it for a packaging-scoped session token; refreshed through az before it expires.",
        flag=True,
    ),
    option(
        "azure-identity",
        None,
        "Get an Entra ID token from azure-identity's DefaultAzureCredential (managed identity, "
        "workload identity federation, service principal, az/azd) and exchange it likewise. "
        "Needs `poetry self add 'poetry-ado-plugin[azure-identity]'`.",
        flag=True,
    ),
    option(
        "tenant",
        None,
        "The Entra ID tenant for --azure-cli or --azure-identity. Default: the one the feed names.",
        flag=False,
    ),
    option(
        "write",
        None,
        "Ask for a session token that may publish (vso.packaging_write); default: read "
        "(vso.packaging).",
        flag=True,
    ),
    option(
        "valid-for",
        None,
        "The session token's lifetime, such as 8h or 7d (default 7d; the server may grant less).",
        flag=False,
    ),
    option(
        "no-session-token",
        None,
        "Store the Entra ID token itself (full Azure DevOps scope, about an hour) instead of a "
        "session token: less safe, for servers that refuse the exchange.",
        flag=True,
    ),
]


class TokenCommand(AdoCommand):
    def target(self) -> AzureSource:
        from poetry_ado_plugin.credentials import resolve_target

        return resolve_target(
            self.argument("name"), self.find_pyproject(), (self.name or "").split(" ")[-1]
        )

    def token_request(self) -> TokenRequest:
        from poetry_ado_plugin.credentials import TokenRequest
        from poetry_ado_plugin.session_tokens import parse_duration

        valid_for = self.option("valid-for")
        token_file = self.option("token-file")
        if token_file is not None and not str(token_file).strip():
            from poetry_ado_plugin.errors import UsageError

            raise UsageError("--token-file needs a path")
        return TokenRequest(
            pat_stdin=bool(self.option("pat-stdin")),
            azure_cli=bool(self.option("azure-cli")),
            tenant=self.option("tenant"),
            username=self.option("username"),
            azure_identity=bool(self.option("azure-identity")),
            token_file=token_file,
            write=bool(self.option("write")),
            valid_for=parse_duration(valid_for) if valid_for is not None else None,
            session_token=not self.option("no-session-token"),
            interactive=self._interactive,
        )

    def _stdin(self) -> TextIO:
        stream: TextIO = getattr(self.io.input, "stream", None) or sys.stdin
        return stream

    def read_stdin_line(self) -> str:
        line: str = self._stdin().readline()
        return line

    _interactive = False

    def find_token(self, target: AzureSource, *, allow_prompt: bool) -> Token:
        from poetry_ado_plugin.credentials import find_token

        self._interactive = (
            allow_prompt and self.io.is_interactive() and bool(self._stdin().isatty())
        )
        prompt = None
        hint = ""
        if allow_prompt:
            # Standard input first: Poetry 2.0 also turns interaction off when it is not
            # a terminal, and then -n is not what stands in the way.
            if not self._stdin().isatty():
                # A prompt on a pipe or a closed stdin (a CI step) would wait, or loop, forever.
                hint = ", or run it in a terminal to be asked for it"
            elif not self.io.is_interactive():
                hint = ", or run without -n/--no-interaction to be asked for it"
            else:
                prompt = self._prompt(target)
        token = find_token(
            target.feed,
            self.token_request(),
            os.environ,
            read_stdin_line=self.read_stdin_line,
            prompt=prompt,
            prompt_unavailable_hint=hint,
            name=target.name,
        )
        # From here on no message of this run can show it, whatever echoes it back.
        register_secret(token.secret)
        return token

    def _prompt(self, target: AzureSource) -> Callable[[], str | None]:
        # Not cleo's secret(): after an empty answer it asks again with echo on.
        from poetry_ado_plugin.secret_prompt import ask_hidden

        question = (
            f"Personal access token for <c1>{target.name}</c1> ({target.feed.index_url}), "
            "with the Packaging (Read, or Read & write to publish) scope (hidden):"
        )

        def ask() -> str:
            return ask_hidden(
                self._stdin().fileno(),
                lambda: self.io.write_error(f"<question>{question}</question> "),
                lambda: self.io.write_error_line(""),
            )

        return ask
