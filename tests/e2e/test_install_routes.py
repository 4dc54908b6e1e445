"""The README's install routes, end to end, with a feed of the local Azure emulator as the only
package index: nothing leaves the machine.

A fresh venv gets the Poetry under test (the one ``POETRY_ADO_TEST_POETRY`` names, or this
environment's) from the wheelhouse that ``python3 dev.py test`` makes beside that Poetry's venv.
The feed serves the plugin's wheel, built from this checkout, and everything Poetry needs to
lock its own project (Poetry and its dependencies for every platform). Then, one route per test:

- ``poetry self add poetry-ado-plugin``, with the feed as the source of Poetry's own project,
  and ``poetry self remove`` afterwards; also from the wheel file and from the git URL, the
  README's routes until the package is on PyPI;
- ``pip install`` into Poetry's venv, as ``pipx inject poetry poetry-ado-plugin`` does;
- ``[tool.poetry.requires-plugins]`` in a project whose source is the feed: ``poetry install``
  puts the plugin into the project's ``.poetry/plugins``.

After each, Poetry lists the ``ado`` commands and runs one."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import replace
from pathlib import Path

import pytest

import dev
from tests.emulator import FeedEmulator
from tests.emulator.feed import EmulatedFeed
from tests.emulator.pytest_plugin import LOCAL_SIGN_IN_HOST
from tests.poetry_env import POETRY
from tests.poetry_env import PoetryEnv
from tests.poetry_env import Result
from tests.poetry_env import ok


pytestmark = pytest.mark.e2e

SOURCE = "ado"
PLUGIN = "poetry-ado-plugin"
BIN = "Scripts" if os.name == "nt" else "bin"
EXE = ".exe" if os.name == "nt" else ""


@dataclass(frozen=True)
class Index:
    emulator: FeedEmulator
    feed: EmulatedFeed
    token: str
    plugin_wheel: Path
    plugin_version: str


@dataclass(frozen=True)
class FreshPoetry:
    """A venv holding nothing but the Poetry under test."""

    root: Path
    version: str

    @property
    def python(self) -> Path:
        return self.root / BIN / f"python{EXE}"

    @property
    def poetry(self) -> Path:
        return self.root / BIN / f"poetry{EXE}"

    def plugin_installed(self) -> bool:
        code = (
            "import importlib.metadata as m, sys\n"
            "try:\n    m.distribution(sys.argv[1])\nexcept m.PackageNotFoundError:\n"
            "    sys.exit(1)\n"
        )
        result = subprocess.run([str(self.python), "-c", code, PLUGIN], check=False)
        return result.returncode == 0


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    directory = POETRY.parent.parent / dev.WHEELHOUSE
    if not (directory / dev.WHEELHOUSE_STAMP).exists():
        pytest.skip(
            f"no wheelhouse beside {POETRY}: python3 dev.py test (or dev.py matrix) makes it"
        )
    return directory


@pytest.fixture(scope="module")
def fresh_poetry(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> FreshPoetry:
    version = dev.installed_poetry(POETRY.with_name(f"python{EXE}"))
    root = tmp_path_factory.mktemp("fresh") / "poetry-venv"
    # No pip in it: the dev environment's pip installs into it (pip --python), offline.
    venv.EnvBuilder(with_pip=False).create(root)
    fresh = FreshPoetry(root, version)
    subprocess.run(
        [sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check", "--python",
         str(fresh.python), "install", "--quiet", "--no-index", "--find-links", str(wheelhouse),
         f"poetry=={version}"],
        check=True,
        timeout=240,
    )  # fmt: skip
    assert not fresh.plugin_installed()
    return fresh


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory, wheelhouse: Path) -> Iterator[Index]:
    root = tmp_path_factory.mktemp("index")
    plugin_wheel = next(p for p in dev.build_artifacts(root / "dist") if p.suffix == ".whl")
    plugin_version = plugin_wheel.name.split("-")[1]
    with FeedEmulator(root / "storage", sign_in_host=LOCAL_SIGN_IN_HOST) as emulator:
        feed = emulator.add_feed("contoso", "team-feed", project="Fabrikam Web")
        for wheel in sorted(wheelhouse.glob("*.whl")):
            feed.add_file(wheel)
        feed.add_file(plugin_wheel)
        token = emulator.generate_token(write=False)
        yield Index(emulator, feed, token, plugin_wheel, plugin_version)


@pytest.fixture
def home(tmp_path: Path, index: Index, fresh_poetry: FreshPoetry) -> Iterator[PoetryEnv]:
    env = PoetryEnv(
        tmp_path / "poetry-home",
        extra_env={
            f"POETRY_HTTP_BASIC_{SOURCE.upper()}_USERNAME": "azure",
            f"POETRY_HTTP_BASIC_{SOURCE.upper()}_PASSWORD": index.token,
        },
    )
    index.emulator.clear_requests()
    assert not fresh_poetry.plugin_installed()
    yield env
    # Whatever a test did, the next one starts from a Poetry without the plugin.
    if fresh_poetry.plugin_installed():
        pip(fresh_poetry, env, "uninstall", "--yes", PLUGIN)


def run(fresh: FreshPoetry, env: PoetryEnv, *args: str, cwd: Path) -> Result:
    """``poetry ARGS`` of the fresh installation, with ``env``'s isolated home."""
    return replace(env, poetry=fresh.poetry).run(*args, cwd=cwd)


def pip(fresh: FreshPoetry, env: PoetryEnv, *args: str) -> subprocess.CompletedProcess[str]:
    # --isolated: no pip.conf and no PIP_* variables of the machine take part.
    command = [sys.executable, "-m", "pip", "--isolated", "--disable-pip-version-check",
               "--python", str(fresh.python), *args]  # fmt: skip
    completed = subprocess.run(
        command, capture_output=True, text=True, env=env.environ(), timeout=240
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


def source_toml(index: Index) -> str:
    return (
        "[[tool.poetry.source]]\n"
        f'name = "{SOURCE}"\n'
        f'url = "{index.feed.index_url}"\n'
        'priority = "primary"\n'
    )


def assert_plugin_works(fresh: FreshPoetry, env: PoetryEnv, cwd: Path, index: Index) -> None:
    listed = ok(run(fresh, env, "list", "ado", cwd=cwd))
    for command in ("add-feed", "login", "logout", "env", "check-name", "publish"):
        assert f"ado {command}" in listed.stdout, listed
    assert "Usage:" in ok(run(fresh, env, "ado", "add-feed", "--help", cwd=cwd)).stdout
    plugins = ok(run(fresh, env, "self", "show", "plugins", cwd=cwd))
    # The version, written once in pyproject.toml, is what Poetry shows for the plugin.
    assert f"{PLUGIN} ({index.plugin_version})" in plugins.stdout, plugins


def assert_plugin_absent(fresh: FreshPoetry, env: PoetryEnv, cwd: Path) -> None:
    assert "Poetry (version" in ok(run(fresh, env, "--version", cwd=cwd)).stdout
    assert " ado " not in ok(run(fresh, env, "list", cwd=cwd)).stdout
    assert PLUGIN not in ok(run(fresh, env, "self", "show", "plugins", cwd=cwd)).stdout
    assert run(fresh, env, "ado", "add-feed", "--help", cwd=cwd).exit_code != 0


def downloaded_from_feed(index: Index) -> bool:
    page = f"/pypi/simple/{PLUGIN}/"
    wheel = f"/pypi/download/{PLUGIN}/"
    paths = [request.path for request in index.emulator.requests]
    return any(page in p for p in paths) and any(wheel in p for p in paths)


@pytest.mark.parametrize("route", ["name", "wheel", "git"])
def test_poetry_self_add_then_self_remove(
    fresh_poetry: FreshPoetry, home: PoetryEnv, index: Index, tmp_path: Path, route: str
) -> None:
    # `poetry self` keeps Poetry's own project in its config dir; its sources are kept when
    # `poetry self add` rewrites the file. The feed also serves Poetry's own dependencies, which
    # `poetry self add` locks whatever the route, and poetry-core for building from git.
    (home.config_dir / "pyproject.toml").write_text(
        "[tool.poetry]\npackage-mode = false\n\n" + source_toml(index), encoding="utf-8"
    )
    # The README's routes before the package is on PyPI: a wheel file (an absolute path:
    # `poetry self` runs in its config dir) or the repository's git URL.
    spec = {
        "name": PLUGIN,
        "wheel": str(index.plugin_wheel),
        "git": f"{PLUGIN} @ git+{dev.ROOT.as_uri()}",
    }[route]
    added = ok(run(fresh_poetry, home, "self", "add", spec, cwd=tmp_path))
    assert f"Installing {PLUGIN} ({index.plugin_version}" in added.stdout, added
    assert downloaded_from_feed(index) is (route == "name")
    assert fresh_poetry.plugin_installed()
    assert_plugin_works(fresh_poetry, home, tmp_path, index)

    removed = ok(run(fresh_poetry, home, "self", "remove", PLUGIN, cwd=tmp_path))
    assert f"Removing {PLUGIN}" in removed.stdout, removed
    assert not fresh_poetry.plugin_installed()
    assert_plugin_absent(fresh_poetry, home, tmp_path)
    # Poetry's own packages are all still there, and Poetry still works in a project.
    project = tmp_path / "project"
    project.mkdir()
    ok(run(fresh_poetry, home, "init", "-n", "--name", "after-remove", cwd=project))
    ok(run(fresh_poetry, home, "check", cwd=project))


def test_pip_install_into_poetrys_venv_as_pipx_inject_does(
    fresh_poetry: FreshPoetry, home: PoetryEnv, index: Index, tmp_path: Path
) -> None:
    feed = index.feed.index_url.replace("://", f"://azure:{index.token}@", 1)
    pip(fresh_poetry, home, "install", "--quiet", "--index-url", feed, PLUGIN)
    assert downloaded_from_feed(index)
    assert fresh_poetry.plugin_installed()
    assert_plugin_works(fresh_poetry, home, tmp_path, index)

    pip(fresh_poetry, home, "uninstall", "--yes", PLUGIN)
    assert_plugin_absent(fresh_poetry, home, tmp_path)


def test_requires_plugins_installs_the_plugin_for_the_project(
    fresh_poetry: FreshPoetry, home: PoetryEnv, index: Index, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        "[project]\n"
        'name = "team-app"\n'
        'version = "0.1.0"\n'
        'requires-python = ">=3.10"\n'
        "\n"
        "[tool.poetry]\n"
        "package-mode = false\n"
        "\n"
        "[tool.poetry.requires-plugins]\n"
        f'{PLUGIN} = ">=0.1"\n'
        "\n" + source_toml(index),
        encoding="utf-8",
    )
    installed = ok(
        run(
            fresh_poetry,
            home,
            "install",
            cwd=project,
        )
    )
    assert "Installing Poetry plugins only for the current project" in installed.stdout, installed
    assert f"Installing {PLUGIN} ({index.plugin_version})" in installed.stdout, installed
    assert downloaded_from_feed(index)
    # Into the project's plugin cache, not into Poetry's venv.
    assert list((project / ".poetry" / "plugins").glob("poetry_ado_plugin-*.dist-info"))
    assert not fresh_poetry.plugin_installed()
    assert_plugin_works(fresh_poetry, home, project, index)
    # A second command finds the cache up to date and installs nothing.
    again = ok(run(fresh_poetry, home, "install", cwd=project))
    assert f"Installing {PLUGIN}" not in again.stdout, again

    # Outside the project, Poetry has no ado commands.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert_plugin_absent(fresh_poetry, home, elsewhere)
    shutil.rmtree(project / ".poetry")
