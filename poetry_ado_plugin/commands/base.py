"""What every ``poetry ado`` command shares: where the project is, and one place that turns an
AdoError into one line on stderr and its exit code."""

from __future__ import annotations

from pathlib import Path

from cleo.formatters.formatter import Formatter
from poetry.console.commands.command import Command

from poetry_ado_plugin.errors import AdoError
from poetry_ado_plugin.errors import PyprojectError


class AdoCommand(Command):
    def handle(self) -> int:
        try:
            return self.run_command()
        except AdoError as error:
            self.line_error(f"<error>Error: {Formatter.escape(str(error))}</error>")
            return error.exit_code

    def run_command(self) -> int:
        raise NotImplementedError

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
        """pyproject.toml in the project directory or its parents, as Poetry itself looks."""
        start = self.project_directory().resolve()
        for directory in (start, *start.parents):
            candidate = directory / "pyproject.toml"
            if candidate.is_file():
                return candidate
        return None

    def require_pyproject(self) -> Path:
        path = self.find_pyproject()
        if path is None:
            raise PyprojectError(
                f"no pyproject.toml in {self.project_directory()} or its parents: run the "
                "command in your project's directory or pass -C/--directory"
            )
        return path

    def write_diff(self, diff: str) -> None:
        for line in diff.splitlines():
            style = {"+": "fg=green", "-": "fg=red", "@": "fg=cyan"}.get(line[:1])
            text = Formatter.escape(line)
            self.line(f"<{style}>{text}</>" if style else text)
