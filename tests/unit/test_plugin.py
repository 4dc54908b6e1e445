"""Loading the plugin, as Poetry does on every run, costs nothing but our own plugin module."""

from __future__ import annotations

import json
import subprocess
import sys

from poetry_ado_plugin import azure_cli
from poetry_ado_plugin import plugin


# Runs in a fresh interpreter: Poetry's application and plugin manager first, as in
# Application._load_plugins, then our entry point.
_PROBE = """
import json, sys
from poetry.console.application import Application
from poetry.plugins.application_plugin import ApplicationPlugin
from poetry.plugins.plugin_manager import PluginManager

application = Application()
manager = PluginManager(ApplicationPlugin.group)
(entry_point,) = [ep for ep in manager.get_plugin_entry_points() if ep.name == "ado"]
before = set(sys.modules)
entry_point.load()().activate(application)
print(json.dumps({
    "new_modules": sorted(set(sys.modules) - before),
    "commands": sorted(
        n for n in application.command_loader.names if n == "ado" or n.startswith("ado ")
    ),
}))
"""


def load_plugin_in_fresh_process() -> dict[str, list[str]]:
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True
    )
    report: dict[str, list[str]] = json.loads(completed.stdout)
    return report


def test_loading_imports_only_the_plugin_module_and_registers_every_command() -> None:
    report = load_plugin_in_fresh_process()

    assert report["new_modules"] == ["poetry_ado_plugin", "poetry_ado_plugin.plugin"]
    assert report["commands"] == sorted(plugin.COMMANDS)
    assert set(plugin.COMMANDS) == {
        "ado add-feed",
        "ado login",
        "ado logout",
        "ado env",
        "ado check-name",
        "ado publish",
        "ado versions",
        "ado promote",
        "ado protect",
        "ado doctor",
        "ado status",
        "ado",
    }


def test_every_factory_builds_its_command() -> None:
    for name, (module, class_name) in plugin.COMMANDS.items():
        command = plugin._lazy_factory(module, class_name)()
        assert command.name == name, (module, class_name)


def test_the_listener_looks_for_the_file_azure_cli_writes() -> None:
    # plugin.py keeps its own copy so that loading it imports nothing else.
    assert plugin.EXPIRY_FILE_NAME == azure_cli.EXPIRY_FILE_NAME
