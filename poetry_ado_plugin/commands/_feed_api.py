"""What ``versions``, ``promote`` and ``protect`` share: the project, its Azure feed source (as
``publish`` selects it), and a REST client with the credential ``publish`` would send."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cleo.helpers import option
from cleo.io.outputs.output import Type as OutputType
from cleo.io.outputs.output import Verbosity

from poetry_ado_plugin.errors import UsageError


if TYPE_CHECKING:
    from cleo.io.inputs.option import Option
    from poetry.poetry import Poetry

    from poetry_ado_plugin.commands.base import AdoCommand
    from poetry_ado_plugin.devops_api import DevOpsClient
    from poetry_ado_plugin.sources import AzureSource


FORMATS = ("text", "json")


def feed_option() -> Option:
    return option(
        "feed",
        None,
        "The Azure feed source (its name in pyproject.toml). Default: the project's only one.",
        flag=False,
    )


def format_option() -> Option:
    return option("format", None, "Output format: text or json.", flag=False, default="text")


def output_format(command: AdoCommand) -> str:
    chosen = (command.option("format") or "text").lower()
    if chosen not in FORMATS:
        raise UsageError(f"--format must be text or json, not {command.option('format')!r}")
    return chosen


def write_json(command: AdoCommand, text: str) -> None:
    """The report on stdout, also under -q (it is what the caller asked for)."""
    from poetry_ado_plugin.redact import safe_text

    command.io.write_line(
        safe_text(text, keep_newlines=True), verbosity=Verbosity.QUIET, type=OutputType.RAW
    )


def select_feed(poetry: Poetry, name: str | None, command_name: str) -> AzureSource:
    """The Azure feed source ``--feed`` names, or the project's only one."""
    from poetry_ado_plugin.sources import select_azure_source

    entries = poetry.local_config.get("source") or []
    return select_azure_source(entries, name, command=command_name, option="--feed")


def open_client(poetry: Poetry, source: AzureSource) -> DevOpsClient:
    """A REST client for ``source``'s feed with the stored credential (what login stored)."""
    from poetry_ado_plugin.devops_api import DevOpsClient

    return DevOpsClient.for_source(poetry.config, source)


def after_publish(
    command: AdoCommand,
    poetry: Poetry,
    source: AzureSource,
    name: str,
    version: str,
    *,
    view: str | None,
    first_version: bool,
) -> None:
    """What ``poetry ado publish`` does once every file is uploaded: ``--promote VIEW``, and
    after a name's first version a one-time hint to run ``poetry ado protect``, unless the name
    is protected already."""
    from poetry_ado_plugin.devops_api import AUTO
    from poetry_ado_plugin.errors import AdoError
    from poetry_ado_plugin.errors import FeedResponseError
    from poetry_ado_plugin.releases import promote_version

    if view is None and not first_version:
        return
    with open_client(poetry, source) as client:
        if view is not None:
            try:
                result = promote_version(client, name, version, view)
            except AdoError as error:
                failed = type(error)(
                    f"{name} {version} was published, but not promoted to view {view}: {error}"
                )
                failed.exit_code = error.exit_code
                raise failed from None
            command.line(result.message())
        if first_version:
            try:
                protected = client.upstreaming(name) == AUTO
            except FeedResponseError:
                protected = False
            if not protected:
                command.line(
                    f"This was the first version of {name} on {source.feed.name}: run poetry ado "
                    f"protect to keep versions of {name} from PyPI out of the feed (dependency "
                    "confusion)."
                )
