from __future__ import annotations

from typing import TYPE_CHECKING
from typing import ClassVar

from cleo.formatters.formatter import Formatter
from cleo.helpers import argument
from cleo.helpers import option

from poetry_ado_plugin.commands._feed_api import feed_option
from poetry_ado_plugin.commands._feed_api import format_option
from poetry_ado_plugin.commands._feed_api import open_client
from poetry_ado_plugin.commands._feed_api import output_format
from poetry_ado_plugin.commands._feed_api import select_feed
from poetry_ado_plugin.commands._feed_api import write_json
from poetry_ado_plugin.commands.base import AdoCommand


if TYPE_CHECKING:
    from cleo.io.inputs.argument import Argument
    from cleo.io.inputs.option import Option

    from poetry_ado_plugin.releases import VersionsReport


class VersionsCommand(AdoCommand):
    name = "ado versions"
    description = (
        "List the versions of a package on an Azure Artifacts feed: published date, views, "
        "deleted, from an upstream; and whether the project's version can still be published."
    )

    arguments: ClassVar[list[Argument]] = [
        argument("package", "The package. Default: the project's name.", optional=True)
    ]
    options: ClassVar[list[Option]] = [
        feed_option(),
        option("all", None, "Also list deleted versions (in the feed's recycle bin)."),
        format_option(),
    ]
    help = """Lists what the feed holds of a package, newest first, with the views each version
is in. Deleted versions (<c1>--all</c1> shows them) can never be published again: Azure's
versions are immutable. For the project's own name, the project's version is marked with
<c1>*</c1> and a last line says whether it can still be published.

Exit codes: 0 listed (also when the feed has no such package), 1 on an error."""

    def run_command(self) -> int:
        from poetry_ado_plugin.releases import list_versions
        from poetry_ado_plugin.releases import render_json
        from poetry_ado_plugin.releases import versions_to_dict

        chosen = output_format(self)
        poetry = self.load_poetry()
        own_name = poetry.package.pretty_name if poetry.is_package_mode else None
        name = self.argument("package") or own_name
        if not name:
            from poetry_ado_plugin.errors import UsageError

            raise UsageError("no PACKAGE given and the project has no name: pass the package")
        current = None
        if own_name is not None:
            from poetry_ado_plugin.names import normalize

            if normalize(name) == normalize(own_name):
                current = poetry.package.version.to_string()
        source = select_feed(poetry, self.option("feed"), "poetry ado versions")
        with open_client(poetry, source) as client:
            report = list_versions(
                client, name, current_version=current, include_deleted=self.option("all")
            )
        if chosen == "json":
            write_json(self, render_json(versions_to_dict(report)))
        else:
            self._render(report)
        return 0

    def _render(self, report: VersionsReport) -> None:
        if not report.found:
            self.line(f"{report.name} has no versions on {report.feed}.")
        elif not report.rows:
            self.line(
                f"{report.name} has only deleted versions on {report.feed} (--all lists them)."
            )
        else:
            header = ("", "version", "published", "views", "deleted", "upstream")
            rows = [
                (
                    "*" if row.current else "",
                    row.version,
                    (row.published or "")[:10],
                    ", ".join(row.views) or "-",
                    "yes" if row.deleted else "no",
                    row.upstream or "-",
                )
                for row in report.rows
            ]
            widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header) - 1)]
            self.line(f"Versions of {report.name} on {report.feed}:")
            for index, row in enumerate([header, *rows]):
                text = "  ".join(
                    Formatter.escape(cell.ljust(width))
                    for cell, width in zip(row[:-1], widths, strict=True)
                )
                line = f"{text}  {Formatter.escape(row[-1])}"
                self.line(f"<b>{line}</b>" if index == 0 else line)
        current = report.current_line()
        if current is not None:
            self.line(current)
