"""The end-to-end demo behind ``python3 dev.py demo``.

It starts a local Azure Artifacts feed emulator and a local stand-in for PyPI (both on 127.0.0.1),
then plays a library team that publishes a package and an application team that installs it,
printing every command a user would type. Poetry runs with its config, cache and data dirs in a
temp dir, so the demo never touches the user's own Poetry setup or keyring."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from tests.emulator import FeedEmulator
from tests.emulator.pytest_plugin import LOCAL_SIGN_IN_HOST
from tests.poetry_env import POETRY
from tests.poetry_env import PoetryEnv
from tests.poetry_env import write_project
from tests.public_index_server import PublicIndexServer


PACKAGE = "contoso-greetings"
PUBLIC_PROJECTS = ("requests", "numpy", "greetings", "contoso-utils")


class DemoFailed(Exception):
    pass


class Demo:
    def __init__(self, workdir: Path, feed_url: str, token: str, public_index: str) -> None:
        self.workdir = workdir
        self.feed_url = feed_url
        self.token = token
        self.public_index = public_index
        self.poetry = PoetryEnv(workdir / "poetry-home")

    def step(self, title: str) -> None:
        print(f"\n\033[1m== {title}\033[0m", flush=True)

    def run(
        self,
        *args: str,
        cwd: Path,
        shown: str | None = None,
        stdin: str | None = None,
        expected_exit: int = 0,
    ) -> None:
        print(f"\n  $ {shown or 'poetry ' + ' '.join(args)}", flush=True)
        # One merged stream, so that progress and messages appear in the order a user sees them.
        completed = subprocess.run(
            [str(POETRY), *args],
            cwd=cwd,
            env=self.poetry.environ(),
            input=stdin or "",
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=300,
        )
        output = completed.stdout.strip()
        if output:
            print(textwrap.indent(output, "    "), flush=True)
        if completed.returncode != expected_exit:
            raise DemoFailed(f"`poetry {' '.join(args)}` exited with {completed.returncode}")
        if expected_exit:
            print(f"    (exit code {completed.returncode}, as expected)", flush=True)

    def login(self, cwd: Path) -> None:
        self.run(
            "ado",
            "login",
            "--pat-stdin",
            cwd=cwd,
            stdin=self.token + "\n",
            shown='echo "$ADO_TOKEN" | poetry ado login --pat-stdin',
        )

    def producer(self) -> None:
        self.step("Library team: add the feed, log in, check the name, publish")
        project = self.workdir / PACKAGE
        project.mkdir()
        write_project(project, PACKAGE, extra='\n[tool.poetry-ado]\nprefix = "contoso-"\n')
        print(f'\n  A new project {PACKAGE} 0.1.0 with [tool.poetry-ado] prefix = "contoso-".')
        self.run("ado", "add-feed", self.feed_url, cwd=project)
        self.login(project)
        print(
            "\n  (--index-url points check-name at the local stand-in for PyPI; "
            "without it, check-name asks pypi.org.)"
        )
        self.run("ado", "check-name", "--index-url", self.public_index, cwd=project)
        self.run("ado", "publish", "--build", "--index-url", self.public_index, cwd=project)

    def consumer(self) -> None:
        self.step("Application team: add the feed as an explicit source and install the package")
        project = self.workdir / "contoso-web"
        project.mkdir()
        write_project(project, "contoso-web")
        self.run("ado", "add-feed", self.feed_url, "--priority", "explicit", cwd=project)
        self.login(project)
        self.run("add", PACKAGE, "--source", "team-feed", cwd=project)
        self.run(
            "run",
            "python",
            "-c",
            "import contoso_greetings; print(contoso_greetings.VALUE)",
            cwd=project,
            shown="poetry run python -c 'import contoso_greetings; print(contoso_greetings.VALUE)'",
        )
        self.run(
            "ado", "check-name", "--dependencies", "--index-url", self.public_index, cwd=project
        )
        print("\n  A name that someone already owns on PyPI is caught before it is ever published:")
        self.run(
            "ado",
            "check-name",
            "greetings",
            "--index-url",
            self.public_index,
            cwd=project,
            expected_exit=1,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description="poetry-ado-plugin end-to-end demo")
    parser.add_argument("--keep", action="store_true", help="keep the demo's temp directory")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="poetry-ado-demo-"))
    emulator = FeedEmulator(workdir / "feed-storage", sign_in_host=LOCAL_SIGN_IN_HOST)
    public_index = PublicIndexServer(PUBLIC_PROJECTS)
    try:
        emulator.start()
        public_index.start()
        feed = emulator.add_feed("contoso", "team-feed", project="Fabrikam Web")
        token = emulator.generate_token(write=True)
        print("\033[1mpoetry-ado-plugin demo\033[0m")
        print(f"  Azure Artifacts feed (local emulator): {feed.index_url}")
        print(f"  Stand-in for PyPI (local): {public_index.url} with {', '.join(PUBLIC_PROJECTS)}")
        print("  ADO_TOKEN: a throwaway Packaging Read & write token for the emulator")
        demo = Demo(workdir, feed.index_url, token, public_index.url)
        demo.producer()
        demo.consumer()
        stored = ", ".join(feed.stored_files())
        print(f"\n\033[1mDone.\033[0m The feed holds: {stored}")
        return 0
    except DemoFailed as error:
        print(f"\nDemo failed: {error}", file=sys.stderr)
        return 1
    finally:
        public_index.stop()
        emulator.stop()
        if args.keep:
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
