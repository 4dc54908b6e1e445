"""What ``poetry ado doctor`` costs on top of Poetry's own start-up, on a slow network.

    python -m benchmarks.bench_doctor [--runs N] [--latency MS]

A project with two Azure sources on the feed emulator, each with a locked package, and every
answer of the emulator delayed by ``--latency`` (300 ms by default). ``poetry ado doctor`` (all
checks, network included) is timed against ``poetry --version`` in the same environment,
alternating; the target is a difference of medians of at most 1.5 s. Exits 1 when it is missed.
Run it with the project's virtual environment (``.venv/bin/python``)."""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from benchmarks.common import POETRY
from benchmarks.common import configure_feed
from benchmarks.common import isolated_environment
from benchmarks.common import timed_run
from tests.emulator import FeedEmulator
from tests.emulator.pytest_plugin import LOCAL_SIGN_IN_HOST
from tests.poetry_env import lock_entry


TARGET_DIFFERENCE_S = 1.5
SOURCES = ("team-feed", "lib-feed")
LIBRARY = "team-lib"


def bench(runs: int, latency: float) -> tuple[list[float], list[float], str]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        project = root / "project"
        project.mkdir()
        env = isolated_environment(root / "home")
        with FeedEmulator(root / "emulator", sign_in_host=LOCAL_SIGN_IN_HOST) as emulator:
            token = emulator.generate_token(write=False)
            sources, dependencies, lock = "", "", ""
            for number, source in enumerate(SOURCES):
                feed = emulator.add_feed("contoso", source, project="Fabrikam Web")
                name = f"{LIBRARY}-{number}"
                feed.add_package(name, "1.0")
                (stored,) = feed.files_of(name)
                sources += (
                    f'\n[[tool.poetry.source]]\nname = "{source}"\nurl = "{feed.index_url}"\n'
                    'priority = "supplemental"\n'
                )
                dependencies += f'{name} = {{ version = "*", source = "{source}" }}\n'
                lock += lock_entry(feed.index_url, source, name, "1.0", stored.sha256)
                configure_feed(project, env, source, feed.upload_url, token)
            (project / "pyproject.toml").write_text(
                '[project]\nname = "bench-app"\nversion = "0.1.0"\nrequires-python = ">=3.10"\n'
                f"{sources}\n[tool.poetry.dependencies]\n{dependencies}"
            )
            (project / "poetry.lock").write_text(lock)
            emulator.delay(latency)

            def doctor() -> tuple[float, str]:
                # exit 0: warnings only (the emulator is no hosted feed: Metadata-Version fit)
                return timed_run([POETRY, "ado", "doctor"], project, env)

            def version() -> tuple[float, str]:
                return timed_run([POETRY, "--version"], project, env)

            ours: list[float] = []
            baseline: list[float] = []
            report = ""
            for pair in range(runs + 1):
                order = [(doctor, ours), (version, baseline)]
                if pair % 2:
                    order.reverse()
                for command, samples in order:
                    elapsed, output = command()
                    if command is doctor:
                        report = output
                    if pair:  # the first pair only warms up
                        samples.append(elapsed)
    return ours, baseline, report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each command")
    parser.add_argument("--latency", type=float, default=300, help="ms added to every answer")
    args = parser.parse_args()

    ours, baseline, report = bench(args.runs, args.latency / 1000)
    difference = statistics.median(ours) - statistics.median(baseline)
    print(f"{args.runs} runs each, alternating; {args.latency:.0f} ms per answer, 2 sources")
    print(f"{'command':<28} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
    for label, samples in (("poetry --version", baseline), ("poetry ado doctor", ours)):
        print(
            f"{label:<28} {statistics.median(samples) * 1000:>10.0f} "
            f"{min(samples) * 1000:>8.0f} {max(samples) * 1000:>8.0f}"
        )
    verdict = "met" if difference <= TARGET_DIFFERENCE_S else "MISSED"
    print(f"difference {difference:.2f} s (target <= {TARGET_DIFFERENCE_S} s): {verdict}")
    print(report.splitlines()[-1] if report else "")
    return 0 if difference <= TARGET_DIFFERENCE_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
