"""How fast ``check-name --dependencies`` audits a large project.

    python -m benchmarks.bench_check_name [--runs N] [--latency MS]

A project with 300 dependencies pinned to an Azure feed source is audited against a local
simple index (tests/public_index_server.py) that waits ``--latency`` milliseconds (default 8)
before each answer, standing in for the round trip to PyPI's CDN. Half of the dependencies are
public packages that reached poetry.lock through the feed's upstream source: the index serves
them, and the lock records their files' sha256, so the audit reads their pages and compares
(verdict ``upstream``); the other half are private (not on the index).

(a) the audit in-process: read pyproject.toml and poetry.lock, find the private dependencies,
    look every name up concurrently over one pooled session, build the report;
(b) the same audit with one lookup at a time (``workers=1``: the same code, session, retries
    and timeouts), the baseline;
(c) the whole ``poetry ado check-name --dependencies --format json`` in a subprocess, Poetry's
    own start-up included (for information).

Targets: the whole audit (a) within 1.5 s; its checking phase at least 5x faster than (b)'s.

Every run opens a fresh session, as every command run does. Medians of several runs, compared
within the same run. Exits 1 when a target is missed. Run it with the project's virtual
environment (``.venv/bin/python``)."""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import POETRY
from benchmarks.common import ROOT
from benchmarks.common import isolated_environment
from benchmarks.common import print_rows
from benchmarks.common import timed_run
from benchmarks.common import verdict
from poetry_ado_plugin.audit import find_private_dependencies
from poetry_ado_plugin.audit import read_lock
from poetry_ado_plugin.name_check import CheckRequest
from poetry_ado_plugin.name_check import run_checks
from poetry_ado_plugin.public_index import LOOKUP_WORKERS
from poetry_ado_plugin.public_index import PublicIndex
from poetry_ado_plugin.pyproject import PyprojectDocument
from tests.poetry_env import Source
from tests.poetry_env import write_project


FEED = "https://pkgs.dev.azure.com/contoso/Fabrikam/_packaging/kpv/pypi/simple/"
DEPENDENCIES = 300
TARGET_AUDIT_S = 1.5
TARGET_SPEEDUP = 5.0


def dependency_names() -> list[str]:
    return [f"kpv-lib-{number:03d}" for number in range(DEPENDENCIES)]


def write_locked_project(directory: Path, public: dict[str, str]) -> Path:
    """The project and its lock; ``public`` maps the public names to their wheel's sha256."""
    names = dependency_names()
    dependencies = "".join(f'{name} = {{ version = "^1", source = "kpv" }}\n' for name in names)
    pyproject = write_project(
        directory,
        "kpv-big-app",
        version="1.0.0",
        sources=[Source("kpv", FEED)],
        extra=f"\n[tool.poetry.dependencies]\n{dependencies}",
    )
    packages = "".join(
        f'\n[[package]]\nname = "{name}"\nversion = "1.0.0"\ndescription = ""\n'
        'optional = false\npython-versions = "*"\ngroups = ["main"]\n'
        f"files = [{_lock_files(name, public.get(name))}]\n"
        f'\n[package.source]\ntype = "legacy"\nurl = "{FEED}"\nreference = "kpv"\n'
        for name in names
    )
    (directory / "poetry.lock").write_text(
        f'{packages}\n[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\n'
        'content-hash = "0"\n'
    )
    return pyproject


def _lock_files(name: str, sha256: str | None) -> str:
    wheel = f"{name.replace('-', '_')}-1.0.0-py3-none-any.whl"
    digest = sha256 or "0" * 64
    return f'{{file = "{wheel}", hash = "sha256:{digest}"}}'


def audit(pyproject: Path, index_url: str, workers: int) -> tuple[float, float]:
    """(seconds to read the project, seconds to check the names), one whole audit."""
    started = time.perf_counter()
    document = PyprojectDocument.read(pyproject)
    dependencies = find_private_dependencies(
        document.data, document.sources(), read_lock(document.path)
    )
    read = time.perf_counter()
    with PublicIndex(index_url, workers=workers) as index:
        report = run_checks(
            CheckRequest(names=("kpv-big-app",), dependencies=tuple(dependencies)), index=index
        )
    checked = time.perf_counter()
    assert report.dependencies is not None
    assert len(report.dependencies) == DEPENDENCIES
    upstream = sum(1 for d in report.dependencies if d.verdict.value == "upstream")
    assert upstream == DEPENDENCIES // 2, upstream
    assert report.exit_code == 0, report.counts()
    return read - started, checked - read


def whole_command(pyproject: Path, index_url: str) -> float:
    with tempfile.TemporaryDirectory() as home:
        elapsed, stdout = timed_run(
            [
                POETRY,
                "ado",
                "check-name",
                "--dependencies",
                "--format=json",
                f"--index-url={index_url}",
            ],
            pyproject.parent,
            isolated_environment(Path(home)),
            expected_exit=0,
        )
    if json.loads(stdout)["exit_code"] != 0:
        raise SystemExit(f"unexpected report from poetry:\n{stdout}")
    return elapsed


# The index runs in its own process: sharing this one's GIL with the client would measure
# Python thread contention instead of request concurrency.
_SERVER = """
import json, sys
from tests.public_index_server import PublicIndexServer
names, latency = json.loads(sys.argv[1]), float(sys.argv[2])
with PublicIndexServer(latency=latency) as server:
    hashes = {name: server.add_package(name, "1.0.0").sha256 for name in names}
    print(server.url, flush=True)
    print(json.dumps(hashes), flush=True)
    sys.stdin.read()
    print(server.count(), flush=True)
"""


def start_index(
    names: list[str], latency: float
) -> tuple[subprocess.Popen[str], str, dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVER, json.dumps(names), str(latency)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    hashes: dict[str, str] = json.loads(process.stdout.readline())
    return process, url, hashes


def stop_index(process: subprocess.Popen[str]) -> int:
    output, _ = process.communicate("")
    return int(output.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency", type=float, default=8.0, help="per answer, milliseconds")
    args = parser.parse_args()

    existing = dependency_names()[::2]
    process, url, public = start_index(existing, args.latency / 1000)
    concurrent: list[tuple[float, float]] = []
    sequential: list[tuple[float, float]] = []
    commands: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as directory:
            pyproject = write_locked_project(Path(directory), public)
            audit(pyproject, url, LOOKUP_WORKERS)  # warm-up: imports
            for _ in range(args.runs):
                concurrent.append(audit(pyproject, url, LOOKUP_WORKERS))
                sequential.append(audit(pyproject, url, 1))
            for _ in range(max(1, args.runs // 2)):
                commands.append(whole_command(pyproject, url))
    finally:
        requests = stop_index(process)

    def median(samples: list[tuple[float, float]], part: int | None) -> float:
        return statistics.median(s[part] if part is not None else sum(s) for s in samples)

    total, total_sequential = median(concurrent, None), median(sequential, None)
    check, check_sequential = median(concurrent, 1), median(sequential, 1)
    # The target is on the whole audit, reading included, against the same audit that asks the
    # index one name at a time.
    speedup = total_sequential / total
    rows = [
        ("reading pyproject.toml + poetry.lock", f"{median(concurrent, 0):.3f} s", ""),
        (f"checking, {LOOKUP_WORKERS} concurrent lookups", f"{check:.3f} s", ""),
        ("checking, one lookup at a time", f"{check_sequential:.3f} s", ""),
        ("checking speed-up", f"{check_sequential / check:.1f}x", ""),
        ("whole audit, concurrent", f"{total:.3f} s", f"target <= {TARGET_AUDIT_S} s"),
        ("whole audit, one lookup at a time", f"{total_sequential:.3f} s", ""),
        ("whole audit speed-up", f"{speedup:.1f}x", f"target >= {TARGET_SPEEDUP:.0f}x"),
        ("poetry ado check-name --dependencies", f"{statistics.median(commands):.3f} s",
         "Poetry start-up included"),
    ]  # fmt: skip
    print(
        f"{DEPENDENCIES} dependencies pinned to an Azure source, half of them public through the "
        f"feed's upstream, on a local index that adds {args.latency:g} ms to each answer; "
        f"medians of {args.runs} runs "
        f"({requests} requests in all)\n"
    )
    print_rows(rows, value_width=8)

    missed = []
    if total > TARGET_AUDIT_S:
        missed.append(f"the audit took {total:.3f} s (target {TARGET_AUDIT_S} s)")
    if speedup < TARGET_SPEEDUP:
        missed.append(f"audit speed-up {speedup:.1f}x (target {TARGET_SPEEDUP:.0f}x)")
    return verdict(missed)


if __name__ == "__main__":
    sys.exit(main())
