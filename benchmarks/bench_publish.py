"""What the guards of ``poetry ado publish`` cost over ``poetry publish -r``.

    python -m benchmarks.bench_publish [--runs N]

Both commands publish the same kind of files (a small wheel and sdist) to the Azure feed
emulator (tests/emulator) in one run. Versions are immutable, so 2N+2 versions are built up
front, each in its own dist directory, and every run publishes a fresh one (the project's
version is set before each run, outside the timing). The two commands alternate, in ABBA order
so that drift favours neither; the first pair warms the caches and is not counted.

``poetry ado publish`` does all its checks: the name against a local stand-in for PyPI
(tests/public_index_server.py), the files in dist/, the version on the feed; then the same
upload through Poetry's Publisher. Target: median ratio ado/poetry <= 1.10. Exits 1 when
missed. Run it with the project's virtual environment (``.venv/bin/python``)."""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.common import POETRY
from benchmarks.common import configure_feed
from benchmarks.common import isolated_environment
from benchmarks.common import timed_run
from tests.emulator import FeedEmulator
from tests.emulator.packages import build_sdist
from tests.emulator.packages import build_wheel
from tests.emulator.pytest_plugin import LOCAL_SIGN_IN_HOST
from tests.poetry_env import Source
from tests.poetry_env import write_project
from tests.public_index_server import PublicIndexServer


PROJECT = "bench-app"
SOURCE = "team-feed"
TARGET_RATIO = 1.10


def _set_version(directory: Path, version: str) -> None:
    path = directory / "pyproject.toml"
    text = re.sub(r'(?m)^version = ".*"$', f'version = "{version}"', path.read_text(), count=1)
    path.write_text(text)


def bench(runs: int) -> tuple[list[float], list[float], int]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        with (
            FeedEmulator(root / "emulator", sign_in_host=LOCAL_SIGN_IN_HOST) as emulator,
            PublicIndexServer(["requests"]) as public,
        ):
            feed = emulator.add_feed("contoso", "team-feed", project="Fabrikam Web")
            token = emulator.generate_token()
            env = isolated_environment(root / "home")
            project = root / "project"
            versions = [f"1.0.{n}" for n in range(2 * runs + 2)]
            write_project(
                project, PROJECT, version=versions[0], sources=[Source(SOURCE, feed.index_url)]
            )
            for version in versions:
                dist = project / f"dist-{version}"
                build_wheel(dist, PROJECT, version)
                build_sdist(dist, PROJECT, version)
            configure_feed(project, env, SOURCE, feed.upload_url, token)

            def ado(version: str) -> float:
                return timed_run(
                    [
                        POETRY,
                        "ado",
                        "publish",
                        "--dist-dir",
                        f"dist-{version}",
                        "--index-url",
                        public.url,
                    ],
                    project,
                    env,
                )[0]

            def plain(version: str) -> float:
                return timed_run(
                    [POETRY, "publish", "-r", SOURCE, "--dist-dir", f"dist-{version}"],
                    project,
                    env,
                )[0]

            ours: list[float] = []
            poetry: list[float] = []
            for pair in range(runs + 1):
                first, second = versions[2 * pair], versions[2 * pair + 1]
                order = [(ado, ours), (plain, poetry)]
                if pair % 2:
                    order.reverse()
                for (command, samples), version in zip(order, (first, second), strict=True):
                    _set_version(project, version)
                    elapsed = command(version)
                    if pair:  # the first pair only warms up
                        samples.append(elapsed)
            stored = len(feed.stored_files())
    return ours, poetry, stored


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each command")
    args = parser.parse_args()

    ours, poetry, stored = bench(args.runs)
    ours_ms = statistics.median(ours) * 1000
    poetry_ms = statistics.median(poetry) * 1000
    ratio = ours_ms / poetry_ms
    print(f"{args.runs} runs each, alternating; {stored} files stored on the emulator")
    print(f"{'command':<40} {'median ms':>10} {'min ms':>8} {'max ms':>8}")
    for label, samples in (
        ("poetry publish -r team-feed", poetry),
        ("poetry ado publish (all checks)", ours),
    ):
        print(
            f"{label:<40} {statistics.median(samples) * 1000:>10.0f} "
            f"{min(samples) * 1000:>8.0f} {max(samples) * 1000:>8.0f}"
        )
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    print(f"overhead ratio {ratio:.3f} (target <= {TARGET_RATIO:.2f}): {verdict}")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
