from __future__ import annotations

import json
from typing import TYPE_CHECKING
from typing import ClassVar

from cleo.formatters.formatter import Formatter
from cleo.helpers import option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option
from cleo.io.outputs.output import Verbosity

from poetry_ado_plugin.commands.base import AdoCommand
from poetry_ado_plugin.errors import UsageError


if TYPE_CHECKING:
    from poetry_ado_plugin.status import Status


FORMATS = ("text", "json")


class StatusCommand(AdoCommand):
    name = "ado status"
    description = "Show the Azure feed sources, their publish repositories and credentials."

    arguments: ClassVar[list[Argument]] = []
    options: ClassVar[list[Option]] = [
        option("format", None, "Output format: text or json.", flag=False, default="text"),
    ]

    help = """\
Shows, for each Azure Artifacts feed source of the project, its priority and index URL, its publish
repository (<c1>repositories.NAME.url</c1>: the feed's upload URL, not set, or another URL), and
where Poetry takes its credential from (environment, auth.toml or keyring; never the token
itself) with its expiry when known; then the Azure CLI token-refresh state and the
<c1>poetry ado</c1> commands. Outside a project it shows the configured repositories that are
Azure feeds. It sends no request: <c1>poetry ado login</c1> checks a token against the feed.
<c1>poetry ado</c1> on its own runs this command."""

    def run_command(self) -> int:
        from poetry.config.config import Config

        from poetry_ado_plugin import status

        output_format = (self.option("format") or "text").lower()
        if output_format not in FORMATS:
            raise UsageError(f"--format must be text or json, not {self.option('format')!r}")
        state = status.gather(self.find_pyproject(), Config.create())
        commands = self._commands()
        if output_format == "json":
            self.line(
                Formatter.escape(json.dumps(status.to_dict(state, commands), indent=2)),
                verbosity=Verbosity.QUIET,
            )
            return 0
        for line in render(state, commands):
            self.line(Formatter.escape(line))
        return 0

    def _commands(self) -> list[tuple[str, str]]:
        commands = self.get_application().all("ado")
        return [
            (name, command.description)
            for name, command in commands.items()
            if not command.hidden and name != self.name
        ]


def render(state: Status, commands: list[tuple[str, str]]) -> list[str]:
    """The text report, one string per line."""
    from poetry_ado_plugin import status
    from poetry_ado_plugin.azure_cli import format_expiry

    lines: list[str] = []
    if state.pyproject is not None:
        where = f"pyproject.toml ({state.pyproject})"
        if not state.sources:
            lines.append(
                f"No Azure Artifacts feed source in {where}: add one with "
                "poetry ado add-feed <feed URL>."
            )
        else:
            lines.append(f"Azure Artifacts feed sources in {where}:")
    elif not state.sources:
        lines.append(
            "Not in a project, and no repository in Poetry's config is an Azure Artifacts feed."
        )
    else:
        lines.append("Not in a project. Repositories in Poetry's config that are Azure feeds:")
    for entry in state.sources:
        source = entry.source
        heading = f"{source.name} ({source.priority})" if entry.from_project else source.name
        lines += ["", heading, f"  index       {source.feed.index_url}"]
        upload = source.feed.upload_url
        if entry.repository == status.REPOSITORY_SET:
            publish = f"{upload} (repositories.{source.name}.url, in {entry.repository_where})"
        elif entry.repository == status.REPOSITORY_MISSING:
            publish = (
                f"{upload} (repositories.{source.name}.url is not set; poetry publish -r "
                f"{source.name} gets this URL from the plugin)"
            )
        else:
            publish = (
                f"repositories.{source.name}.url points elsewhere: {entry.repository_url} (in "
                f"{entry.repository_where}); poetry ado add-feed sets it to {upload}"
            )
        lines.append(f"  publish     {publish}")
        credential = entry.credential
        if not credential.found:
            lines.append(f"  credential  none: run poetry ado login {source.name}")
        else:
            details = [credential.where]
            if credential.username:
                details.append(f"username {credential.username}")
            if credential.expires_on is not None:
                details.append(f"expires {format_expiry(credential.expires_on)}")
            lines.append(f"  credential  {', '.join(details)}")
        if entry.refresh is not None:
            refresh = (
                f"Azure CLI token, expires {format_expiry(entry.refresh.expires_on)}; "
                "refreshed through az when a command needs it"
            )
            if entry.refresh.refresh_failed_at is not None:
                refresh += (
                    f"; the last refresh failed {format_expiry(entry.refresh.refresh_failed_at)}"
                    f" ({entry.refresh.refresh_failure or 'no reason recorded'})"
                )
            lines.append(f"  refresh     {refresh}")
    lines += ["", "Commands:"]
    width = max((len(name) for name, _ in commands), default=0)
    lines += [f"  poetry {name.ljust(width)}  {text}" for name, text in commands]
    return lines


class AdoNamespaceCommand(StatusCommand):
    """``poetry ado`` on its own."""

    name = "ado"
    description = (
        "Show the Azure feed sources, their publish repositories and credentials, and the "
        "poetry ado commands (poetry list ado lists them too)."
    )
    hidden = True
