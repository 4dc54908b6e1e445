"""The import direction of docs/architecture.md: the I/O edges import only each other, the core
never imports a command or the entry point, and no command imports the entry point."""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest


PACKAGE = Path(__file__).resolve().parents[2] / "poetry_ado_plugin"
EDGES = frozenset(
    {"errors", "environment", "files", "redact", "http", "_transport", "poetry_config"}
)


@functools.cache
def modules() -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports, lazily or not."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module]
                if node.module == "poetry_ado_plugin":
                    targets = [f"poetry_ado_plugin.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            imported |= {
                target.removeprefix("poetry_ado_plugin.")
                for target in targets
                if target.startswith("poetry_ado_plugin.")
            }
        found[name] = imported
    return found


def layer(name: str) -> str:
    if name in ("plugin", "__init__"):
        return "entry"
    if name.startswith("commands"):
        return "commands"
    return "edges" if name in EDGES else "core"


ALLOWED = {
    "edges": {"edges"},
    "core": {"core", "edges"},
    "commands": {"commands", "core", "edges"},
    "entry": {"core", "edges"},
}


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_go_down_the_layers(module: str) -> None:
    wrong = sorted(
        imported for imported in modules()[module] if layer(imported) not in ALLOWED[layer(module)]
    )
    assert wrong == [], f"{module} ({layer(module)}) imports {wrong}"


def test_every_module_is_on_the_map() -> None:
    text = (PACKAGE.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [name for name in modules() if "__init__" not in name and f"`{name}`" not in text]
    assert missing == []
