"""Entry point. Poetry imports this module on every run, so it imports nothing Poetry has not
already imported: each command module is imported only when that command runs."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from poetry.plugins.application_plugin import ApplicationPlugin


if TYPE_CHECKING:
    from collections.abc import Callable

    from cleo.commands.command import Command
    from poetry.console.application import Application


# command name -> (module under poetry_ado_plugin.commands, class name)
COMMANDS: dict[str, tuple[str, str]] = {
    "ado add-feed": ("add_feed", "AddFeedCommand"),
    "ado check-name": ("check_name", "CheckNameCommand"),
}


def _lazy_factory(module: str, class_name: str) -> Callable[[], Command]:
    def factory() -> Command:
        command_class = getattr(import_module(f"poetry_ado_plugin.commands.{module}"), class_name)
        command: Command = command_class()
        return command

    return factory


class AdoPlugin(ApplicationPlugin):
    def activate(self, application: Application) -> None:
        for name, (module, class_name) in COMMANDS.items():
            application.command_loader.register_factory(name, _lazy_factory(module, class_name))
