from __future__ import annotations

from typing import TYPE_CHECKING
from typing import ClassVar

from cleo.helpers import argument
from cleo.helpers import option

from poetry_ado_plugin.commands._feed_api import feed_option
from poetry_ado_plugin.commands._feed_api import format_option
from poetry_ado_plugin.commands._feed_api import open_client
from poetry_ado_plugin.commands._feed_api import output_format
from poetry_ado_plugin.commands._feed_api import select_feed
from poetry_ado_plugin.commands._feed_api import write_json
from poetry_ado_plugin.commands.base import AdoCommand
from poetry_ado_plugin.errors import UsageError


if TYPE_CHECKING:
    from cleo.io.inputs.argument import Argument
    from cleo.io.inputs.option import Option


class PromoteCommand(AdoCommand):
    name = "ado promote"
    description = "Promote a version of the project to a view of its Azure Artifacts feed."

    arguments: ClassVar[list[Argument]] = [
        argument("version", "The version. Default: the project's version.", optional=True)
    ]
    options: ClassVar[list[Option]] = [
        option("view", None, "The view to promote to (e.g. Release or Prerelease).", flag=False),
        feed_option(),
        option("remove", None, "Refused: Azure Artifacts cannot take a version out of a view."),
        format_option(),
    ]
    help = """Adds the version to the view, so that consumers reading the view
(<c1>.../_packaging/FEED@VIEW/pypi/simple/</c1>) see it. It needs the feed's Contributor
role. A version already in the view is left alone (exit 0, and a line saying so). A view
cannot be emptied again: Azure has no demotion, so <c1>--remove</c1> is refused.

Exit codes: 0 promoted or already there, 1 on an error (unknown version or view, no role)."""

    def run_command(self) -> int:
        from poetry_ado_plugin.releases import DEMOTION_IMPOSSIBLE
        from poetry_ado_plugin.releases import promote_version
        from poetry_ado_plugin.releases import render_json

        if self.option("remove"):
            raise UsageError(DEMOTION_IMPOSSIBLE)
        chosen = output_format(self)
        view = self.option("view")
        if not view:
            raise UsageError("--view is required: name the view to promote to, e.g. --view Release")
        poetry = self.load_poetry()
        if not poetry.is_package_mode:
            raise UsageError(
                "the project is not a package (package-mode = false): nothing to promote"
            )
        name = poetry.package.pretty_name
        version = self.argument("version") or poetry.package.version.to_string()
        source = select_feed(poetry, self.option("feed"), "poetry ado promote")
        with open_client(poetry, source) as client:
            result = promote_version(client, name, version, view)
        if chosen == "json":
            write_json(self, render_json(result.to_dict()))
        else:
            self.line(result.message())
        return 0
