"""What the benchmarks share: an isolated Poetry home for each timed ``poetry`` run."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
POETRY = str(Path(sys.executable).with_name("poetry"))


def isolated_environment(home: Path) -> dict[str, str]:
    """Environment for a ``poetry`` subprocess whose config, cache and data dirs are in ``home``.

    Bytecode is cached, as it is for a real install: without it every run would recompile the
    plugin's modules and time that instead."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("POETRY_", "PIP_"))}
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    for name in ("config", "cache", "data"):
        (home / name).mkdir(parents=True, exist_ok=True)
        environment[f"POETRY_{name.upper()}_DIR"] = str(home / name)
    environment.update(POETRY_KEYRING_ENABLED="false", NO_COLOR="1")
    return environment


def timed_run(
    command: list[str], cwd: Path, environment: dict[str, str], *, expected_exit: int = 0
) -> tuple[float, str]:
    """Seconds ``command`` took, and its stdout. Stops the benchmark when it exits otherwise."""
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=environment, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if completed.returncode != expected_exit:
        raise SystemExit(
            f"{' '.join(command[1:])} exited {completed.returncode}:\n"
            f"{completed.stdout}{completed.stderr}"
        )
    return elapsed, completed.stdout


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def configure_feed(
    project: Path, env: dict[str, str], source: str, upload_url: str, token: str
) -> None:
    """``poetry config`` the credential and the publish repository of ``source``, as login
    would, in the isolated Poetry home of ``env``."""
    for key, *value in (
        (f"http-basic.{source}", "bench", token),
        (f"repositories.{source}", upload_url),
    ):
        subprocess.run(
            [POETRY, "config", key, *value], cwd=project, env=env, check=True, capture_output=True
        )


def print_rows(rows: list[tuple[str, str, str]], value_width: int) -> None:
    """One line per ``(label, value, target)``, the labels and values aligned."""
    width = max(len(row[0]) for row in rows)
    for label, value, target in rows:
        print(f"  {label.ljust(width)}  {value:>{value_width}}  {target}".rstrip())


def verdict(missed: list[str]) -> int:
    """Each missed target on stderr; the exit code (1 when one was missed)."""
    for line in missed:
        print(f"MISSED: {line}", file=sys.stderr)
    return 1 if missed else 0
