from __future__ import annotations

import time
from typing import TYPE_CHECKING
from typing import ClassVar

from cleo.formatters.formatter import Formatter
from cleo.helpers import argument
from cleo.helpers import option
from cleo.io.outputs.output import Type as OutputType
from cleo.io.outputs.output import Verbosity

from poetry_ado_plugin.commands.base import AdoCommand
from poetry_ado_plugin.errors import UsageError


if TYPE_CHECKING:
    from cleo.io.inputs.argument import Argument
    from cleo.io.inputs.option import Option
    from cleo.ui.progress_bar import ProgressBar

    from poetry_ado_plugin.name_check import CheckRequest
    from poetry_ado_plugin.name_check import Finding
    from poetry_ado_plugin.name_check import Report


FORMATS = ("text", "json")
PROGRESS_AFTER = 1.0  # seconds
# By the verdict's value (name_check.Verdict), so that listing the command imports no core.
STYLES = {
    "ok": "fg=green",
    "upstream": "fg=cyan",
    "warning": "fg=yellow",
    "problem": "fg=red;options=bold",
    "could-not-check": "fg=magenta",
    "skipped": "fg=default",
}


class CheckNameCommand(AdoCommand):
    name = "ado check-name"
    description = (
        "Check package names against the public index (taken, standard library, too similar, "
        "prefix) and audit private dependencies for dependency confusion."
    )

    arguments: ClassVar[list[Argument]] = [
        argument(
            "name",
            "Names to check. Default: the project's name.",
            optional=True,
            multiple=True,
        )
    ]
    options: ClassVar[list[Option]] = [
        option(
            "prefix",
            None,
            "Prefix every name must start with. Default: [tool.poetry-ado] prefix.",
            flag=False,
        ),
        option(
            "index-url",
            None,
            "Public simple index to compare against. Default: https://pypi.org/simple/",
            flag=False,
        ),
        option(
            "similar",
            None,
            "Also warn about names too similar to public projects, and about public projects "
            "that share the prefix (downloads and caches the index's project list).",
        ),
        option(
            "dependencies",
            None,
            "Audit the dependencies that come from Azure feed sources (pyproject.toml and "
            "poetry.lock).",
        ),
        option("format", None, "Output format: text or json.", flag=False, default="text"),
    ]

    help = (
        "Exit codes: 0 no problem (warnings allowed), 1 at least one problem or bad input, "
        "2 nothing wrong found but something could not be checked."
    )

    def run_command(self) -> int:
        from poetry_ado_plugin.http import host_of
        from poetry_ado_plugin.name_check import render_json
        from poetry_ado_plugin.name_check import run_checks

        output_format = (self.option("format") or "text").lower()
        if output_format not in FORMATS:
            raise UsageError(f"--format must be text or json, not {self.option('format')!r}")
        request = self._request()
        if output_format == "text" and not self.io.output.is_quiet():
            self.line(self._heading(request))
        self._index_host = host_of(request.index_url)
        report = run_checks(request, progress=self._progress if request.similar else None)
        self._finish_progress()
        if output_format == "json":
            self.io.write_line(render_json(report), verbosity=Verbosity.QUIET, type=OutputType.RAW)
        else:
            self._render_text(report)
        summary = report.unchecked_summary()
        if summary is not None:
            self.error_line(summary)
        return report.exit_code

    # -- input ----------------------------------------------------------------------------------

    def _request(self) -> CheckRequest:
        from poetry_ado_plugin.name_check import build_request
        from poetry_ado_plugin.public_index import default_cache_dir

        return build_request(
            names=self.argument("name") or [],
            prefix=self.option("prefix"),
            index_url=self.option("index-url"),
            similar=bool(self.option("similar")),
            audit=bool(self.option("dependencies")),
            pyproject=self.find_pyproject(),
            project_dir=self.project_directory(),
            # Poetry's --no-cache: neither read nor write the project-list cache.
            cache_dir=None if self._no_cache() else default_cache_dir(),
        )

    def _no_cache(self) -> bool:
        # A global option of Poetry's; asked defensively so an application without it works.
        return bool(self.io.input.has_option("no-cache") and self.io.input.option("no-cache"))

    def _heading(self, request: CheckRequest) -> str:
        from poetry_ado_plugin.public_index import display_url

        count = len(request.names)
        what = f"{count} name{'s' if count != 1 else ''}"
        if request.dependencies is not None:
            deps = len(request.dependencies)
            what += f" and {deps} private dependenc{'ies' if deps != 1 else 'y'}"
        prefix = (
            f" (prefix {request.prefix.normalized} from {request.prefix_origin})"
            if request.prefix is not None
            else ""
        )
        url = Formatter.escape(display_url(request.index_url))
        return f"Checking {what} against <info>{url}</info>{prefix}."

    # -- progress of the project-list download (stderr; silent with -q) -------------------------

    _bar: ProgressBar | None = None
    _download_started: float | None = None
    _index_host = ""

    def _progress(self, received: int, total: int | None) -> None:
        from cleo.ui.progress_bar import ProgressBar

        now = time.monotonic()
        if self._download_started is None:
            self._download_started = now
            # Reading a list of PyPI's size takes seconds after the download: say what is going on.
            self.io.write_error_line(f"Downloading the project list of {self._index_host}…")
        # Only a download that takes a while earns a bar.
        if self._bar is None and now - self._download_started < PROGRESS_AFTER:
            return
        if self._bar is None:
            self._bar = ProgressBar(self.io, max=total or 0)
            label = "Downloading the project list"
            self._bar.set_format(
                f" {label}: %message% [%bar%] %percent:3s%%" if total else f" {label}: %message%"
            )
            self._bar.set_message(_megabytes(received, total))
            self._bar.start()
        self._bar.set_message(_megabytes(received, total))
        self._bar.set_progress(received if total else 0)

    def _finish_progress(self) -> None:
        if self._bar is not None:
            self._bar.finish()
            self.io.write_error_line("")
            self._bar = None

    # -- text output ----------------------------------------------------------------------------

    def _render_text(self, report: Report) -> None:
        if self.io.output.is_quiet():
            return
        rows: list[_Row] = []
        for name in report.names:
            rows.extend(_rows(name.name, name.findings))
        if report.prefix is not None:
            rows.extend(_rows(f"{report.prefix.prefix.normalized}*", report.prefix.findings))
        self.line("")
        self._table("name", rows)
        if report.dependencies is not None:
            self.line("")
            if not report.dependencies:
                self.line("No dependency comes from an Azure feed source.")
            else:
                dependency_rows: list[_Row] = []
                for dependency in report.dependencies:
                    label = f"{dependency.dependency.name} ({dependency.dependency.source})"
                    dependency_rows.extend(_rows(label, dependency.findings))
                self._table("dependency (source)", dependency_rows)
        self.line("")
        if report.project_list is not None:
            self.line(Formatter.escape(report.project_list.message))
        self.line(_summary(report))

    def _table(self, first_column: str, rows: list[_Row]) -> None:
        # Hand-made rather than cleo's Table: no padding after the last column, which keeps
        # CI logs and copied text free of trailing blanks.
        header = (first_column, "check", "verdict", "reason")
        widths = [max(len(row[i]) for row in (header, *rows)) for i in range(3)]
        self.line(
            "<b>"
            + "  ".join(Formatter.escape(h.ljust(w)) for h, w in zip(header, widths, strict=False))
            + f"  {header[3]}</b>"
        )
        for label, check, verdict, reason in rows:
            style = STYLES[verdict]
            self.line(
                f"{Formatter.escape(label.ljust(widths[0]))}  {check.ljust(widths[1])}  "
                f"<{style}>{verdict.ljust(widths[2])}</>  {Formatter.escape(reason)}"
            )


_Row = tuple[str, str, str, str]


def _rows(label: str, findings: tuple[Finding, ...]) -> list[_Row]:
    return [
        (label if index == 0 else "", finding.check, finding.verdict.value, finding.reason)
        for index, finding in enumerate(findings)
    ]


def _summary(report: Report) -> str:
    from poetry_ado_plugin.name_check import Verdict

    counts = report.counts()
    parts = []
    for verdict, word in (
        (Verdict.PROBLEM, "problem"),
        (Verdict.WARNING, "warning"),
        (Verdict.UNCHECKED, "could not be checked"),
    ):
        count = counts[verdict.value]
        if count:
            plural = "s" if count != 1 and verdict is not Verdict.UNCHECKED else ""
            parts.append(f"<{STYLES[verdict.value]}>{count} {word}{plural}</>")
    if not parts:
        return "<fg=green>No problems found.</>"
    return ", ".join(parts) + "."


def _megabytes(received: int, total: int | None) -> str:
    done = f"{received / 1_000_000:.1f}"
    return f"{done}/{total / 1_000_000:.1f} MB" if total else f"{done} MB"
