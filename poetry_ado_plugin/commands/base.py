"""What every ``poetry ado`` command shares: where the project is, and one place that turns an
error into one line on stderr and its exit code.

Everything a command prints goes through ``redact.safe_text`` here (``line``, ``line_error``,
``warn``, ``error_line``): known secrets and URL user-info are masked and escape sequences
removed, whatever the text came from (a server, a subprocess, an exception)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from cleo.exceptions import CleoError
from cleo.formatters.formatter import Formatter
from cleo.io.outputs.output import Verbosity
from poetry.console.commands.command import Command

from poetry_ado_plugin.errors import AdoError
from poetry_ado_plugin.errors import PyprojectError
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.redact import safe_text


if TYPE_CHECKING:
    from cleo.io.io import IO
    from poetry.poetry import Poetry


class AdoCommand(Command):
    def run(self, io: IO) -> int:
        try:
            return super().run(io)
        except CleoError as error:
            # Options and arguments are parsed here, before handle(): "requires a value",
            # unknown options, too many arguments.
            io.write_error_line(_error_markup(_usage_message(str(error))))
            return 1

    def handle(self) -> int:
        from poetry_ado_plugin import http

        http.set_notice_handler(self.warn)
        try:
            self._refuse_control_characters()
            http.reset_retry_after_budget()
            return self.run_command()
        except AdoError as error:
            self.error_line(str(error))
            return error.exit_code
        finally:
            http.set_notice_handler(None)

    def line(
        self, text: str, style: str | None = None, verbosity: Verbosity = Verbosity.NORMAL
    ) -> None:
        super().line(safe_text(text), style, verbosity)

    def line_error(
        self, text: str, style: str | None = None, verbosity: Verbosity = Verbosity.NORMAL
    ) -> None:
        super().line_error(safe_text(text), style, verbosity)

    def warn(self, message: str) -> None:
        """One warning line on stderr; ``message`` is plain text (no markup)."""
        self.line_error(f"<warning>Warning: {Formatter.escape(safe_text(message))}</warning>")

    def error_line(self, message: str) -> None:
        """One error line on stderr; ``message`` is plain text (no markup)."""
        self.line_error(_error_markup(message))

    def run_command(self) -> int:
        raise NotImplementedError

    def _refuse_control_characters(self) -> None:
        """No argument or option value holds a line break or another control character: none
        is meaningful in a name, URL or path, and each would break our one-line messages."""
        given: list[tuple[str, object]] = [
            (name.upper(), value) for name, value in self.io.input.arguments.items()
        ]
        given += [(f"--{name}", value) for name, value in self.io.input.options.items()]
        for what, value in given:
            values = value if isinstance(value, list) else [value]
            if any(isinstance(v, str) and not v.isprintable() for v in values):
                raise UsageError(
                    f"{what} contains a line break or another control character: pass it "
                    "without one"
                )

    def load_poetry(self) -> Poetry:
        """The project, or one line saying why Poetry cannot read it (Poetry's own error lists
        every problem on lines of their own)."""
        from poetry.core.pyproject.exceptions import PyProjectError as PoetryPyProjectError

        try:
            return self.poetry
        except (RuntimeError, PoetryPyProjectError) as error:
            lines = [line.strip(" -") for line in str(error).splitlines() if line.strip(" -")]
            if lines and lines[0].startswith("Poetry could not find a pyproject.toml"):
                raise PyprojectError.missing(self.project_directory()) from None
            head, details = (lines[0].rstrip(":"), lines[1:]) if lines else ("invalid", [])
            said = f": {'; '.join(details)}" if details else ""
            raise PyprojectError(
                f"{head}{said}; fix pyproject.toml (poetry check lists every problem)"
            ) from None

    def project_directory(self) -> Path:
        """The directory given with -P/--project, else the working directory (after -C)."""
        application = self.get_application()
        # Poetry 2.5 exposes project_directory; 2.0 only has the private _project_directory.
        for attribute in ("project_directory", "_project_directory"):
            directory = getattr(application, attribute, None)
            if isinstance(directory, Path):
                return directory
        return Path.cwd()

    def find_pyproject(self) -> Path | None:
        """pyproject.toml in the project directory or its parents, found as Poetry finds it."""
        from poetry.core.factory import Factory

        try:
            return Factory.locate(self.project_directory().resolve())
        except RuntimeError:
            return None

    def require_pyproject(self) -> Path:
        path = self.find_pyproject()
        if path is None:
            raise PyprojectError.missing(self.project_directory())
        return path

    def write_diff(self, diff: str) -> None:
        diff = safe_text(diff, keep_newlines=True)
        for line in diff.splitlines():
            style = {"+": "fg=green", "-": "fg=red", "@": "fg=cyan"}.get(line[:1])
            text = Formatter.escape(line)
            self.line(f"<{style}>{text}</>" if style else text)


def _error_markup(message: str) -> str:
    # Blanks collapsed: a message is one line, whatever its parts held.
    text = " ".join(safe_text(message).split())
    return f"<error>Error: {Formatter.escape(text)}</error>"


def _usage_message(message: str) -> str:
    message = message.strip().rstrip(".")
    if "requires a value" in message:
        found = re.search(r"--[A-Za-z0-9-]+", message)
        option = found.group(0) if found else "--option"
        return f"{message}: give it one, and write a value that starts with '-' as {option}=VALUE"
    return f"{message}: see --help for the options and arguments"
