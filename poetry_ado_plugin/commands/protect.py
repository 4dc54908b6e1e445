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
from poetry_ado_plugin.errors import AdoError
from poetry_ado_plugin.errors import UsageError


if TYPE_CHECKING:
    from cleo.io.inputs.argument import Argument
    from cleo.io.inputs.option import Option
    from poetry.poetry import Poetry

    from poetry_ado_plugin.releases import ProtectRow
    from poetry_ado_plugin.sources import AzureSource


class ProtectCommand(AdoCommand):
    name = "ado protect"
    description = (
        "Keep PyPI versions of private package names out of an Azure Artifacts feed (the "
        "package's 'versions from external upstreams' setting)."
    )

    arguments: ClassVar[list[Argument]] = [
        argument(
            "package",
            "The packages. Default: the project's name.",
            optional=True,
            multiple=True,
        )
    ]
    options: ClassVar[list[Option]] = [
        feed_option(),
        option(
            "dependencies",
            None,
            "Also every private dependency from this feed source (check-name's audit).",
        ),
        option(
            "allow-external",
            None,
            "Set the opposite: let versions from PyPI in (asks first, unless -n).",
        ),
        format_option(),
    ]
    help = """Sets each package's "versions from external upstreams" to <c1>auto</c1>: once the
feed has a version of the name of its own, the feed no longer offers the name's versions from
its upstream sources (PyPI), so a public package of the same name cannot be installed through
the feed. It can be set before a name's first publish. Running it again changes nothing; the
setting before and after is printed for each package. It needs the feed's Owner role.

<c1>--allow-external</c1> sets <c1>allowExternalVersions</c1> instead, after a confirmation
(<c1>-n</c1> confirms).

Exit codes: 0 done (also when nothing needed changing), 1 on an error or when not confirmed."""

    def run_command(self) -> int:
        from poetry_ado_plugin.devops_api import ALLOW_EXTERNAL
        from poetry_ado_plugin.devops_api import AUTO
        from poetry_ado_plugin.releases import apply_setting
        from poetry_ado_plugin.releases import protect_to_dict
        from poetry_ado_plugin.releases import read_settings
        from poetry_ado_plugin.releases import render_json
        from poetry_ado_plugin.releases import unique_names

        chosen = output_format(self)
        poetry = self.load_poetry()
        source = select_feed(poetry, self.option("feed"), "poetry ado protect")
        names = list(self.argument("package") or [])
        if not names and poetry.is_package_mode:
            names.append(poetry.package.pretty_name)
        elsewhere: list[str] = []
        if self.option("dependencies"):
            here, elsewhere = _private_dependencies(poetry, source)
            names += here
        names = unique_names(names)
        if not names:
            raise UsageError(
                "no PACKAGE given and the project is not a package: name the packages to protect"
            )
        allow = bool(self.option("allow-external"))
        target = ALLOW_EXTERNAL if allow else AUTO
        with open_client(poetry, source) as client:
            before = read_settings(client, names)
            changing = [name for name, value in before.items() if value != target]
            if allow and changing:
                self._confirm(changing, source.feed.name)
            rows = apply_setting(client, before, target)
        if chosen == "json":
            write_json(self, render_json(protect_to_dict(source.feed.name, target, rows)))
        else:
            self._render(rows, source.feed.name, target)
        for note in elsewhere:
            self.warn(note)
        return 0

    def _confirm(self, names: list[str], feed: str) -> None:
        given_n = self.io.input.has_option("no-interaction") and self.io.input.option(
            "no-interaction"
        )
        if given_n:
            return
        if not self.io.is_interactive():
            raise AdoError(
                "--allow-external lets PyPI versions of these names into the feed; pass -n "
                "to confirm without a prompt: nothing was changed"
            )
        question = (
            f"Let versions from external upstreams (PyPI) of {', '.join(names)} into {feed}? "
            "A public package of the same name could then be installed through the feed"
        )
        if not self.confirm(question, default=False):
            raise AdoError("not confirmed: nothing was changed")

    def _render(self, rows: list[ProtectRow], feed: str, target: str) -> None:
        from poetry_ado_plugin.devops_api import AUTO

        header = ("package", "before", "after")
        cells = [(row.name, row.before, row.after) for row in rows]
        widths = [max(len(r[i]) for r in (header, *cells)) for i in range(2)]
        self.line(f"Versions from external upstreams on {feed}:")
        for index, (name, before, after) in enumerate([header, *cells]):
            text = (
                f"{Formatter.escape(name.ljust(widths[0]))}  "
                f"{Formatter.escape(before.ljust(widths[1]))}  {Formatter.escape(after)}"
            )
            self.line(f"<b>{text}</b>" if index == 0 else text)
        changed = sum(row.changed for row in rows)
        same = len(rows) - changed
        word = "Protected" if target == AUTO else "Opened to external versions:"
        parts = []
        if changed:
            parts.append(f"{word} {changed} package{'s' if changed != 1 else ''}")
        if same:
            parts.append(f"{same} already {'was' if same == 1 else 'were'} {target}")
        self.line("; ".join(parts) + ".")


def _private_dependencies(poetry: Poetry, source: AzureSource) -> tuple[list[str], list[str]]:
    """(names of the private dependencies from ``source``, notes about those from others)."""
    from poetry_ado_plugin.audit import find_private_dependencies
    from poetry_ado_plugin.audit import read_lock
    from poetry_ado_plugin.pyproject import PyprojectDocument

    document = PyprojectDocument.read(poetry.file.path)
    found = find_private_dependencies(document.data, document.sources(), read_lock(document.path))
    here = [d.name for d in found if d.source.casefold() == source.name.casefold()]
    notes = [
        f"{d.name} comes from source {d.source}, not {source.name}: run poetry ado protect "
        f"--feed {d.source} --dependencies for it"
        for d in found
        if d.source.casefold() != source.name.casefold()
    ]
    return here, notes
