"""What every ``poetry ado`` command shares: one place that turns an AdoError into one line on
stderr and its exit code."""

from __future__ import annotations

from cleo.formatters.formatter import Formatter
from poetry.console.commands.command import Command

from poetry_ado_plugin.errors import AdoError


class AdoCommand(Command):
    def handle(self) -> int:
        try:
            return self.run_command()
        except AdoError as error:
            self.line_error(f"<error>Error: {Formatter.escape(str(error))}</error>")
            return error.exit_code

    def run_command(self) -> int:
        raise NotImplementedError
