from __future__ import annotations

import json
from typing import TYPE_CHECKING
from typing import ClassVar

from cleo.formatters.formatter import Formatter
from cleo.helpers import argument
from cleo.helpers import option
from cleo.io.outputs.output import Verbosity

from poetry_ado_plugin.commands.base import AdoCommand
from poetry_ado_plugin.errors import UsageError


if TYPE_CHECKING:
    from cleo.io.inputs.argument import Argument
    from cleo.io.inputs.option import Option

    from poetry_ado_plugin.doctor import Finding
    from poetry_ado_plugin.doctor import Report


FORMATS = ("text", "json")
MARKS = {
    "ok": "ok",
    "warning": "warn",
    "problem": "FAIL",
    "unchecked": "????",
    "skipped": "skip",
}
STYLES = {"ok": "fg=green", "warning": "fg=yellow", "problem": "fg=red", "unchecked": "fg=magenta"}


class DoctorCommand(AdoCommand):
    name = "ado doctor"
    description = "Check why installing from or publishing to the Azure feeds would fail."

    arguments: ClassVar[list[Argument]] = [
        argument(
            "name",
            "The Azure sources to check. Default: all of them.",
            optional=True,
            multiple=True,
        )
    ]
    options: ClassVar[list[Option]] = [
        option("offline", None, "Skip the network checks."),
        option("format", None, "Output format: text or json.", flag=False, default="text"),
    ]

    help = """\
Checks the whole chain that <c1>poetry install</c1> and <c1>poetry publish</c1> go through, for each
Azure Artifacts feed source of the project (outside a project: each configured repository that
is an Azure feed), and says how to fix what it finds.

Local checks: Poetry's version and where the plugin runs; the source (legacy keys, its name, its
URL, its priority and unpinned private dependencies); the publish repository; where Poetry takes
the credential from (never the secret), a stray POETRY_HTTP_BASIC_* variable, a .netrc entry, a
keyring that hangs (within POETRY_ADO_KEYRING_TIMEOUT) or cannot store; the token's expiry; the
Metadata-Version fit of Azure DevOps Server.

Network checks (skipped with <c1>--offline</c1>), run concurrently: read access (a project page),
the token's identity, the download of one locked file (a 1-byte ranged GET, redirects followed as
Poetry does), the feed's upstream sources, the caller's role and retention policy, and whether
every package poetry.lock takes from the feed is still there with the same sha256.

Exit codes: 0 no problem (warnings allowed), 1 a problem, 2 something could not be checked."""

    def run_command(self) -> int:
        from poetry.config.config import Config

        from poetry_ado_plugin import doctor

        output_format = (self.option("format") or "text").lower()
        if output_format not in FORMATS:
            raise UsageError(f"--format must be text or json, not {self.option('format')!r}")
        request = doctor.DoctorRequest(
            pyproject=self.find_pyproject(),
            config=Config.create(),
            names=tuple(self.argument("name") or ()),
            offline=bool(self.option("offline")),
        )
        report = doctor.run_doctor(request)
        if output_format == "json":
            text = json.dumps(doctor.to_dict(report), indent=2)
            self.line(Formatter.escape(text), verbosity=Verbosity.QUIET)
            return report.exit_code
        for text, style in render(report):
            escaped = Formatter.escape(text)
            self.line(f"<{style}>{escaped}</>" if style else escaped)
        return report.exit_code


def render(report: Report) -> list[tuple[str, str | None]]:
    """The checklist, one (line, style) per line."""
    lines: list[tuple[str, str | None]] = []
    if report.pyproject is not None:
        where = f"pyproject.toml ({report.pyproject})"
        if report.sources:
            lines.append((f"Checking the Azure feed sources of {where}:", None))
        else:
            lines.append((f"No Azure Artifacts feed source in {where}.", None))
    elif report.sources:
        lines.append(("Not in a project: checking the repositories that are Azure feeds.", None))
    else:
        lines.append(
            ("Not in a project, and no repository in Poetry's config is an Azure feed.", None)
        )
    lines += [("", None), ("Poetry and the plugin", None)]
    lines += _findings(report.general)
    for source in report.sources:
        heading = f"{source.name} ({source.priority})" if source.priority else source.name
        lines += [("", None), (f"{heading}  {source.index_url}", None)]
        lines += _findings(source.findings)
    counts = report.counts()
    summary = ", ".join(f"{counts[v]} {v}" for v in ("ok", "warning", "problem", "unchecked"))
    skipped = f", {counts['skipped']} skipped" if counts["skipped"] else ""
    offline = " (offline: network checks skipped)" if report.offline else ""
    lines += [("", None), (f"{summary}{skipped}{offline}", None)]
    return lines


def _findings(findings: list[Finding]) -> list[tuple[str, str | None]]:
    lines: list[tuple[str, str | None]] = []
    for finding in findings:
        mark = f"[{MARKS[finding.verdict]}]".ljust(7)
        lines.append((f"  {mark}{finding.summary}", STYLES.get(finding.verdict)))
        if finding.fix and finding.verdict != "ok":
            lines.append((f"         fix: {finding.fix}", None))
    return lines
