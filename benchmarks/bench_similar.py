"""What ``check-name --similar`` costs over ``check-name`` with a warm project-list cache.

    python -m benchmarks.bench_similar [--runs N] [--names N]

A local simple index (tests/public_index_server.py, in a thread of this process) serves a
generated project list of PyPI's size (927,000 normal names by default; deterministic, built from
a fixed seed in the shapes real names have: words joined by hyphens, ``py``/``django-``-style
prefixes, version-like digits, lookalike letters). One ``--similar`` run downloads the list into
an isolated Poetry cache; after that the cache is warm (younger than a day), so a ``--similar``
run sends the same one lookup as a plain run and reads the list from the cache.

(a) ``poetry ado check-name NAME`` and ``poetry ado check-name NAME --similar`` through the real
    poetry, alternating in ABBA order so that drift favours neither; medians of ``--runs``
    pairs. Target: the difference of the medians at most 15 ms. The runs' CPU time (user +
    system, from ``getrusage``) is shown too, for information.
(b) without the noise of Poetry's start-up: the same check through
    ``run_checks`` with and without ``similar`` (one lookup each), timed inside a fresh process
    per sample (the first ``similar`` call of a process, as a command makes it), then repeated
    in this process; and the parts of the difference: opening the warm cache, asking it for
    NAME's similar names and for a prefix's projects.

Exits 1 when (a) misses its target, or when (b)'s fresh-process difference does: on a busy
machine (a) varies by hundreds of ms from run to run and cannot tell 15 ms apart, (b) can.
Run it with the project's virtual environment (``.venv/bin/python``)."""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import POETRY
from benchmarks.common import ROOT
from benchmarks.common import isolated_environment
from benchmarks.common import median_ms
from benchmarks.common import print_rows
from benchmarks.common import timed_run
from benchmarks.common import verdict
from poetry_ado_plugin.name_check import CheckRequest
from poetry_ado_plugin.name_check import run_checks
from poetry_ado_plugin.public_index import ProjectListCache
from poetry_ado_plugin.public_index import PublicIndex
from tests.public_index_server import PublicIndexServer


PYPI_SIZE = 927_000
NAME = "kpv-data-tools"
SIMILAR_NAME = "djang0-rest-too1s"  # lookalike of a generated name ("django-rest-tools")
PREFIX = "django-"
TARGET_MS = 15.0

_CONSONANTS = "bcdfghjklmnprstvwxz"
_VOWELS = "aeiouy"
_PREFIXES = ("py", "django-", "flask-", "pytest-", "sphinx-", "types-", "odoo-", "ckanext-")
_SUFFIXES = ("-client", "-sdk", "-api", "-utils", "-tools", "-cli", "-plugin", "-core", "2")


def generated_names(count: int, seed: int = 927) -> list[str]:
    """``count`` distinct normal names, always the same ones for the same arguments."""
    rng = random.Random(seed)  # noqa: S311  # reproducible names, not secrets

    def word() -> str:
        syllables = rng.choice((1, 2, 2, 3, 3, 4))
        return "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(syllables))

    vocabulary = list(dict.fromkeys(word() for _ in range(40_000)))
    names: dict[str, None] = dict.fromkeys(["django-rest-tools", "requests", "numpy"])
    while len(names) < count:
        shape = rng.random()
        if shape < 0.35:
            name = rng.choice(vocabulary)
        elif shape < 0.75:
            name = f"{rng.choice(vocabulary)}-{rng.choice(vocabulary)}"
        elif shape < 0.85:
            name = rng.choice(_PREFIXES) + rng.choice(vocabulary)
        elif shape < 0.95:
            name = rng.choice(vocabulary) + rng.choice(_SUFFIXES)
        else:
            name = f"{rng.choice(vocabulary)}{rng.randrange(100)}-{rng.choice(vocabulary)}"
        names[name] = None
    return list(names)[:count]


def check_name(
    name: str, url: str, directory: Path, environment: dict[str, str], *, similar: bool
) -> tuple[float, float, dict[str, Any]]:
    """Wall-clock and CPU seconds of one ``check-name`` run, and its JSON report."""
    command = [POETRY, "ado", "check-name", name, "--format=json", f"--index-url={url}"]
    if similar:
        command.append("--similar")
    # The runs are one at a time, so the children's CPU time grows by this run's alone.
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # A too-similar name is a warning: both names exit 0.
    elapsed, stdout = timed_run(command, directory, environment, expected_exit=0)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, json.loads(stdout)


# One fresh process per sample: what --similar adds is timed inside it, so that Poetry's
# start-up and the machine's other processes (hundreds of ms of noise per run on a busy machine)
# stay out of a measurement of a few ms, while the fresh process's first touch of the cache
# (page faults, allocation) stays in.
_FRESH = """
import json, sys, time
from pathlib import Path
from poetry_ado_plugin.name_check import CheckRequest, run_checks
from poetry_ado_plugin.public_index import PublicIndex
name, url, cache_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
def timed(similar):
    request = CheckRequest(names=(name,), index_url=url, similar=similar, cache_dir=cache_dir)
    started = time.perf_counter()
    with PublicIndex(url) as index:
        run_checks(request, index=index)
    return time.perf_counter() - started
timed(False)  # imports and first-use costs both commands pay
if sys.argv[4] == "plain-first":
    plain = timed(False)
    similar = timed(True)
else:
    similar = timed(True)
    plain = timed(False)
print(json.dumps([plain, similar]))
"""


def checks_in_fresh_processes(cache_dir: Path, url: str, runs: int) -> tuple[float, float]:
    """Median ms of run_checks for NAME without and with ``similar``, each process's first
    ``similar`` call."""
    plain: list[float] = []
    similar: list[float] = []
    for number in range(runs):
        order = "plain-first" if number % 2 == 0 else "similar-first"
        completed = subprocess.run(
            [sys.executable, "-c", _FRESH, NAME, url, str(cache_dir), order],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )  # fmt: skip
        one, other = json.loads(completed.stdout)
        plain.append(one)
        similar.append(other)
    return median_ms(plain), median_ms(similar)


def checks_in_process(cache_dir: Path, url: str, rounds: int = 40) -> tuple[float, float]:
    """Median ms of run_checks for NAME, without and with ``similar``, alternating."""
    plain: list[float] = []
    similar: list[float] = []
    for number in range(rounds):
        order = (False, True) if number % 2 == 0 else (True, False)
        for with_similar in order:
            request = CheckRequest(
                names=(NAME,), index_url=url, similar=with_similar, cache_dir=cache_dir
            )
            started = time.perf_counter()
            # A fresh index each time, as each command opens one: nothing is remembered.
            with PublicIndex(url) as index:
                run_checks(request, index=index)
            (similar if with_similar else plain).append(time.perf_counter() - started)
    return median_ms(plain), median_ms(similar)


def in_process(cache_dir: Path, url: str, rounds: int = 200) -> tuple[float, float, float]:
    """Median ms of: opening the warm cache; similar_to(NAME); starting_with(PREFIX)."""
    cache = ProjectListCache(cache_dir, url)
    opening: list[float] = []
    similar: list[float] = []
    prefix: list[float] = []
    for _ in range(rounds):
        started = time.perf_counter()
        loaded = cache.load()
        opened = time.perf_counter()
        assert loaded is not None
        projects = loaded[0]
        projects.similar_to(NAME)
        asked = time.perf_counter()
        projects.starting_with(PREFIX)
        done = time.perf_counter()
        opening.append(opened - started)
        similar.append(asked - opened)
        prefix.append(done - asked)
        del loaded, projects
    return median_ms(opening), median_ms(similar), median_ms(prefix)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="pairs of runs")
    parser.add_argument("--names", type=int, default=PYPI_SIZE, help="size of the project list")
    args = parser.parse_args()

    names = generated_names(args.names)
    plain: list[float] = []
    similar: list[float] = []
    plain_cpu: list[float] = []
    similar_cpu: list[float] = []
    with PublicIndexServer(names) as server, tempfile.TemporaryDirectory() as home:
        directory = Path(home) / "work"
        directory.mkdir()
        environment = isolated_environment(Path(home) / "poetry")
        # Warm-up: download the list into the cache (not timed), then check it is used.
        started = time.perf_counter()
        _, _, report = check_name(SIMILAR_NAME, server.url, directory, environment, similar=True)
        download = time.perf_counter() - started
        assert report["project_list"]["status"] == "downloaded", report
        assert _similar_check(report) == ("warning", ["django-rest-tools"]), report
        _, _, report = check_name(NAME, server.url, directory, environment, similar=True)
        assert report["project_list"]["status"] == "cached", report
        assert report["project_list"]["projects"] == len(names), report
        assert _similar_check(report) == ("ok", []), report
        for number in range(args.runs):
            order = (False, True) if number % 2 == 0 else (True, False)
            for with_similar in order:
                elapsed, cpu, report = check_name(
                    NAME, server.url, directory, environment, similar=with_similar
                )
                (similar if with_similar else plain).append(elapsed)
                (similar_cpu if with_similar else plain_cpu).append(cpu)
        if len(server.root_requests()) != 1:
            raise SystemExit("the warm runs downloaded the project list again")
        cache_dir = Path(environment["POETRY_CACHE_DIR"])
        plain_checks, similar_checks = checks_in_process(cache_dir, server.url)
        plain_fresh, similar_fresh = checks_in_fresh_processes(cache_dir, server.url, args.runs)
        opening, similar_query, prefix_query = in_process(cache_dir, server.url)
        if len(server.root_requests()) != 1:
            raise SystemExit("the in-process checks downloaded the project list again")

    plain_ms, similar_ms = median_ms(plain), median_ms(similar)
    difference = similar_ms - plain_ms
    print(
        f"{len(names):,} generated names on a local index, warm cache; medians of {args.runs} "
        f"alternating pairs (first download and cache: {download:.1f} s, not counted)\n"
    )
    rows = [
        (f"poetry ado check-name {NAME}", f"{plain_ms:.0f} ms", ""),
        (f"poetry ado check-name {NAME} --similar", f"{similar_ms:.0f} ms", ""),
        ("difference", f"{difference:+.1f} ms", f"target <= {TARGET_MS:g} ms"),
        ("median of the differences, pair by pair",
         f"{statistics.median(_pairs(plain, similar)):+.1f} ms", ""),
        ("spread of the differences, pair by pair",
         f"{min(_pairs(plain, similar)):+.0f}..{max(_pairs(plain, similar)):+.0f} ms", ""),
        ("CPU time of the same runs (user + system)",
         f"{median_ms(plain_cpu):.0f} / {median_ms(similar_cpu):.0f} ms", ""),
        ("CPU time difference", f"{median_ms(similar_cpu) - median_ms(plain_cpu):+.1f} ms", ""),
        ("fresh process: run_checks / with similar",
         f"{plain_fresh:.2f} / {similar_fresh:.2f} ms", ""),
        ("fresh process: difference", f"{similar_fresh - plain_fresh:+.2f} ms", ""),
        ("in-process: run_checks", f"{plain_checks:.2f} ms", ""),
        ("in-process: run_checks with similar", f"{similar_checks:.2f} ms", ""),
        ("in-process: difference", f"{similar_checks - plain_checks:+.2f} ms", ""),
        ("in-process: open the warm cache", f"{opening:.3f} ms", ""),
        (f"in-process: similar_to({NAME!r})", f"{similar_query:.3f} ms", ""),
        (f"in-process: starting_with({PREFIX!r})", f"{prefix_query:.3f} ms", ""),
    ]  # fmt: skip
    print_rows(rows, value_width=12)
    missed = []
    if difference > TARGET_MS:
        missed.append(f"--similar costs {difference:.1f} ms more (target {TARGET_MS:g} ms)")
    fresh = similar_fresh - plain_fresh
    if fresh > TARGET_MS:
        missed.append(f"--similar adds {fresh:.1f} ms in a fresh process (target {TARGET_MS:g} ms)")
    return verdict(missed)


def _similar_check(report: dict[str, Any]) -> tuple[str, list[str]]:
    [name] = report["names"]
    [check] = [c for c in name["checks"] if c["check"] == "similar"]
    return check["verdict"], check["related"]


def _pairs(plain: list[float], similar: list[float]) -> list[float]:
    return [(s - p) * 1000 for p, s in zip(plain, similar, strict=True)]


if __name__ == "__main__":
    sys.exit(main())
