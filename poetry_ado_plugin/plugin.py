"""Entry point. Poetry imports this module on every run, so it imports nothing Poetry has not
already imported: each command module is imported only when that command is built.

The import rule of command modules: ``poetry list`` and ``poetry ado --help`` build every
command, so at module level a command module imports only the standard library, cleo,
``poetry.console``, and of this package ``commands.*``, ``errors`` and ``redact``. The core it
runs (and requests, Poetry's publisher) is imported inside the method that uses it.
``tests/unit/test_architecture.py`` holds every command module to it."""

from __future__ import annotations

import sys
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
    "ado login": ("login", "LoginCommand"),
    "ado logout": ("logout", "LogoutCommand"),
    "ado env": ("env", "EnvCommand"),
    "ado check-name": ("check_name", "CheckNameCommand"),
    "ado publish": ("publish", "PublishCommand"),
    "ado versions": ("versions", "VersionsCommand"),
    "ado promote": ("promote", "PromoteCommand"),
    "ado protect": ("protect", "ProtectCommand"),
    "ado doctor": ("doctor", "DoctorCommand"),
    "ado status": ("status", "StatusCommand"),
    "ado": ("status", "AdoNamespaceCommand"),
}

# Commands that talk to a feed: an Azure CLI token about to expire is refreshed before they run.
REFRESH_COMMANDS = frozenset({"install", "lock", "add", "update", "sync", "publish", "ado publish"})
# Written by `ado login --azure-cli` beside config.toml (poetry_ado_plugin.azure_cli).
EXPIRY_FILE_NAME = "ado-token-expiry.json"


def refresh_azure_cli_tokens(event: object, event_name: str, dispatcher: object) -> None:
    """Console-event listener. Costs a set lookup, and one stat for the commands above; imports
    the refresh code only when some token came from `ado login --azure-cli`."""
    if getattr(getattr(event, "command", None), "name", None) not in REFRESH_COMMANDS:
        return
    from poetry.locations import CONFIG_DIR

    if not (CONFIG_DIR / EXPIRY_FILE_NAME).exists():
        return
    from poetry_ado_plugin.token_refresh import refresh_if_needed

    refresh_if_needed(event)  # type: ignore[arg-type]


# Poetry's commands that may send requests to the project's sources (poetry_hooks.py).
FEED_COMMANDS = frozenset(
    {
        "install",
        "lock",
        "add",
        "update",
        "sync",
        "show",
        "search",
        "remove",
        "publish",
        "self add",
        "self install",
        "self update",
        "self lock",
    }
)


def watch_feed_requests(event: object, event_name: str, dispatcher: object) -> None:
    """Console-event listener: a set lookup for every command; the hooks module is imported
    only for the commands above."""
    if getattr(getattr(event, "command", None), "name", None) not in FEED_COMMANDS:
        return
    from poetry_ado_plugin.poetry_hooks import watch_command

    watch_command(event)  # type: ignore[arg-type]


def report_feed_refusals(event: object, event_name: str, dispatcher: object) -> None:
    """Terminate listener: nothing to do unless the hooks module was loaded for this run."""
    hooks = sys.modules.get("poetry_ado_plugin.poetry_hooks")
    if hooks is not None:
        hooks.report_refusals(event)


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
        dispatcher = application.event_dispatcher
        if dispatcher is not None:
            from cleo.events.console_events import COMMAND
            from cleo.events.console_events import TERMINATE

            dispatcher.add_listener(COMMAND, refresh_azure_cli_tokens)
            dispatcher.add_listener(COMMAND, watch_feed_requests)
            dispatcher.add_listener(TERMINATE, report_feed_refusals)
