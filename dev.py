"""Set-up and tasks for a fresh clone: ``python3 dev.py test`` or ``python3 dev.py demo``.

Each task creates (or refreshes) the virtual environment ``.venv`` with Poetry, this plugin
(editable, so Poetry loads it from its own environment) and the development tools, then runs.
A full test run also runs the end-to-end tests against the oldest supported Poetry, installed
with the plugin in ``.venv-poetry-oldest``."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path


ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
OLDEST_VENV = ROOT / ".venv-poetry-oldest"
BIN_NAME = "Scripts" if os.name == "nt" else "bin"
PYTHON = VENV / BIN_NAME / ("python.exe" if os.name == "nt" else "python")
# End-to-end tests that also run with the oldest Poetry the plugin supports.
COMPATIBILITY_TESTS = [
    "tests/e2e/test_add_feed.py",
    "tests/e2e/test_round_trip.py",
    "tests/e2e/test_check_name.py",
]
# pip learned --group (PEP 735 dependency groups) in 25.1
PIP_REQUIREMENT = "pip>=25.1"


def _run(*args: str | Path) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True)


def ensure_venv(directory: Path = VENV, group: str = "dev") -> Path:
    """Create ``directory`` with the plugin (editable) and a dependency group from pyproject.toml,
    unless pyproject.toml is unchanged since the last install. Returns its bin directory."""
    if sys.version_info < (3, 10):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit("Python 3.10 or newer is needed.")
    bin_dir = directory / BIN_NAME
    python = bin_dir / PYTHON.name
    stamp = directory / ".installed-from"
    fingerprint = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if python.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return bin_dir
    if not python.exists():
        print(f"Creating the virtual environment in {directory.name}/", flush=True)
        venv.EnvBuilder(with_pip=True).create(directory)
    _run(python, "-m", "pip", "install", "--quiet", PIP_REQUIREMENT)
    _run(python, "-m", "pip", "install", "--quiet", "--editable", ".", "--group", group)
    stamp.write_text(fingerprint)
    return bin_dir


def test(extra: list[str]) -> int:
    ensure_venv()
    # The end-to-end tests mostly wait on poetry subprocesses, so more workers than cores pay.
    workers = [] if any(arg.startswith("-n") for arg in extra) else ["-n", "4"]
    checks = [
        [PYTHON, "-m", "ruff", "check", "."],
        [PYTHON, "-m", "ruff", "format", "--check", "."],
        [PYTHON, "-m", "mypy"],
        [PYTHON, "-m", "pytest", *workers, *extra],
    ]
    for check in checks:
        print("+", " ".join(str(a) for a in check), flush=True)
        code = subprocess.run([str(a) for a in check], cwd=ROOT).returncode
        if code != 0:
            return code
    if extra:
        return 0
    oldest_bin = ensure_venv(OLDEST_VENV, "oldest")
    command = [str(PYTHON), "-m", "pytest", *workers, *COMPATIBILITY_TESTS]
    print(f"+ POETRY_ADO_TEST_POETRY={OLDEST_VENV.name}/{BIN_NAME}/poetry", *command, flush=True)
    environment = dict(os.environ, POETRY_ADO_TEST_POETRY=str(oldest_bin / "poetry"))
    return subprocess.run(command, cwd=ROOT, env=environment).returncode


def demo(extra: list[str]) -> int:
    ensure_venv()
    return subprocess.run([str(PYTHON), "-m", "tests.demo", *extra], cwd=ROOT).returncode


TASKS = {"test": test, "demo": demo}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        print(f"usage: python3 dev.py {{{'|'.join(TASKS)}}} [args...]", file=sys.stderr)
        return 2
    return TASKS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
