"""The import direction of docs/architecture.md: the I/O edges import only each other, the core
never imports a command or the entry point, and no command imports the entry point."""

from __future__ import annotations

import ast
import functools
import sys
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


COMMAND_MODULE_IMPORTS = (
    "poetry_ado_plugin.commands",
    "poetry_ado_plugin.errors",
    "poetry_ado_plugin.redact",
)
THIRD_PARTY_AT_LOAD = ("cleo", "poetry.console")


def _load_time_imports(tree: ast.Module) -> list[str]:
    """What a module imports when it is loaded: its body and its classes' bodies, not the
    functions and not ``if TYPE_CHECKING:``."""
    found: list[str] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.ClassDef):
            pending.extend(node.body)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize(
    "path", sorted((PACKAGE / "commands").glob("*.py")), ids=lambda path: path.stem
)
def test_command_modules_follow_the_import_rule(path: Path) -> None:
    imported = _load_time_imports(ast.parse(path.read_text(encoding="utf-8")))
    wrong = [
        name
        for name in imported
        if name != "__future__"
        and name.split(".")[0] not in sys.stdlib_module_names
        and not name.startswith(COMMAND_MODULE_IMPORTS + THIRD_PARTY_AT_LOAD)
    ]
    assert wrong == [], f"{path.name} imports at load time: {wrong} (see plugin.py)"
