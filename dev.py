"""Set-up and tasks for a fresh clone: ``python3 dev.py test`` or ``python3 dev.py demo``.

Each task creates (or refreshes) the virtual environment ``.venv`` with Poetry, this plugin
(editable, so Poetry loads it from its own environment) and the development tools, then runs."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path


ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".installed-from"
# pip learned --group (PEP 735 dependency groups) in 25.1
PIP_REQUIREMENT = "pip>=25.1"


def _run(*args: str | Path) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True)


def ensure_venv() -> None:
    """Create .venv and install what the project pins, unless pyproject.toml is unchanged since."""
    if sys.version_info < (3, 10):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit("Python 3.10 or newer is needed.")
    fingerprint = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if PYTHON.exists() and STAMP.exists() and STAMP.read_text() == fingerprint:
        return
    if not PYTHON.exists():
        print(f"Creating the virtual environment in {VENV.name}/", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    _run(PYTHON, "-m", "pip", "install", "--quiet", PIP_REQUIREMENT)
    _run(PYTHON, "-m", "pip", "install", "--quiet", "--editable", ".", "--group", "dev")
    STAMP.write_text(fingerprint)


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
    return 0


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
