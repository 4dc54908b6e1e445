"""Runs the real ``poetry`` executable in a subprocess, isolated from the user's machine.

Poetry's config, cache and data dirs, HOME and the XDG dirs all live in a temp dir, the keyring
is off unless a test chooses a backend, and credential variables from the outer environment are
dropped, so no test reads or writes the user's real config or keyring."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import NamedTuple


# The poetry under test: this environment's, or another one (the oldest supported Poetry) named by
# POETRY_ADO_TEST_POETRY.
POETRY = Path(os.environ.get("POETRY_ADO_TEST_POETRY") or Path(sys.executable).with_name("poetry"))

# Variables that could leak a real credential or setting into a test.
_DROPPED_PREFIXES = (
    "POETRY_",
    "PIP_",
    "PYTHON_KEYRING",
    "VIRTUAL_ENV",
    "KEYRING_",
    "AZURE_",
    "VSS_",
    "ARM_",
)
_DROPPED_NAMES = {
    "AZURE_DEVOPS_EXT_PAT",
    "SYSTEM_ACCESSTOKEN",
    "VSS_NUGET_EXTERNAL_FEED_ENDPOINTS",
    "ARTIFACTS_CREDENTIALPROVIDER_EXTERNAL_FEED_ENDPOINTS",
    "PYPIRC_PATH",
    "TWINE_USERNAME",
    "TWINE_PASSWORD",
}


def is_leaky(name: str) -> bool:
    """Whether the environment variable ``name`` could leak a real credential or setting."""
    return name.startswith(_DROPPED_PREFIXES) or name in _DROPPED_NAMES


@dataclass(frozen=True)
class Outcome:
    """What a command left: its exit code and its two streams."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> dict[str, Any]:
        """Standard output read as one JSON document (the ``--format json`` reports)."""
        document: dict[str, Any] = json.loads(self.stdout)
        return document


@dataclass(frozen=True)
class Result(Outcome):
    """The outcome of one ``poetry`` subprocess, shown with its command line."""

    args: tuple[str, ...]

    def __str__(self) -> str:
        return (
            f"$ poetry {' '.join(self.args)}\nexit {self.exit_code}\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


@dataclass
class PoetryEnv:
    """One isolated Poetry home. ``run`` executes ``poetry ARGS`` in ``cwd``."""

    root: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    poetry: Path = POETRY
    """The ``poetry`` executable: the one under test, or another installation of Poetry."""

    def __post_init__(self) -> None:
        for directory in (self.config_dir, self.cache_dir, self.data_dir, self.home, self.bin_dir):
            directory.mkdir(parents=True, exist_ok=True)

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def bin_dir(self) -> Path:
        """Put fake executables (such as ``az``) here: it comes first on PATH."""
        return self.root / "bin"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def auth_file(self) -> Path:
        return self.config_dir / "auth.toml"

    def environ(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not is_leaky(key)}
        env.update(
            POETRY_CONFIG_DIR=str(self.config_dir),
            POETRY_CACHE_DIR=str(self.cache_dir),
            POETRY_DATA_DIR=str(self.data_dir),
            POETRY_KEYRING_ENABLED="false",
            POETRY_VIRTUALENVS_IN_PROJECT="true",
            HOME=str(self.home),
            XDG_CONFIG_HOME=str(self.home / ".config"),
            XDG_CACHE_HOME=str(self.home / ".cache"),
            XDG_DATA_HOME=str(self.home / ".local" / "share"),
            PATH=os.pathsep.join([str(self.bin_dir), str(self.poetry.parent), env.get("PATH", "")]),
            NO_COLOR="1",
            CI="true",
            # Never the machine's own secret mount (/run/secrets/poetry-ado-token).
            POETRY_ADO_DEFAULT_TOKEN_FILE=str(self.root / "no-secret-mount"),
        )
        env.update(self.extra_env)
        return env

    def run(
        self,
        *args: str,
        cwd: Path,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 240,
    ) -> Result:
        environ = self.environ()
        environ.update(env or {})
        completed = subprocess.run(
            [str(self.poetry), *args],
            cwd=cwd,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            env=environ,
            timeout=timeout,
        )
        return Result(completed.returncode, completed.stdout, completed.stderr, args=tuple(args))


def ok(result: Result) -> Result:
    """``result``, after asserting that the command succeeded (its output is the message)."""
    assert result.exit_code == 0, result
    return result


class Source(NamedTuple):
    """A ``[[tool.poetry.source]]`` of a test project."""

    name: str
    url: str
    priority: str = "explicit"


def source_table(name: str, url: str, priority: str = "explicit") -> str:
    return f'\n[[tool.poetry.source]]\nname = "{name}"\nurl = "{url}"\npriority = "{priority}"\n'


def write_project(
    directory: Path,
    name: str = "sample-app",
    *,
    version: str = "0.1.0",
    sources: Sequence[Source] = (),
    dependencies: Sequence[str] = (),
    extra: str = "",
) -> Path:
    """A minimal, valid Poetry 2 project in ``directory``; returns its pyproject.toml.

    ``dependencies`` are PEP 508 strings for ``[project]``; the ``sources`` tables and then
    ``extra`` are appended to pyproject.toml as written."""
    package = name.replace("-", "_")
    (directory / package).mkdir(parents=True, exist_ok=True)
    (directory / package / "__init__.py").write_text(f'VALUE = "{name} {version}"\n')
    (directory / "README.md").write_text(f"# {name}\n")
    requirements = ", ".join(f'"{requirement}"' for requirement in dependencies)
    pyproject = directory / "pyproject.toml"
    pyproject.write_text(
        "[project]\n"
        f'name = "{name}"\n'
        f'version = "{version}"\n'
        'description = "A sample project."\n'
        'readme = "README.md"\n'
        'requires-python = ">=3.10"\n'
        'authors = [{ name = "Sample Author", email = "author@example.com" }]\n'
        f"dependencies = [{requirements}]\n"
        "\n"
        "[build-system]\n"
        'requires = ["poetry-core>=2.0,<3"]\n'
        'build-backend = "poetry.core.masonry.api"\n'
        + "".join(source_table(*source) for source in sources)
        + extra
    )
    return pyproject


def lock_entry(index_url: str, source: str, name: str, version: str, sha256: str) -> str:
    """One ``[[package]]`` of poetry.lock: a wheel of ``name`` locked from the legacy source
    ``source`` at ``index_url``, as Poetry 2 writes it."""
    wheel = f"{name.replace('-', '_')}-{version}-py3-none-any.whl"
    return (
        f'[[package]]\nname = "{name}"\nversion = "{version}"\ndescription = ""\n'
        'optional = false\npython-versions = "*"\n'
        f'files = [{{file = "{wheel}", hash = "sha256:{sha256}"}}]\n\n'
        f'[package.source]\ntype = "legacy"\nurl = "{index_url}"\nreference = "{source}"\n\n'
    )


class ProjectFactory:
    """What the ``project_factory`` fixture gives: ``write_project`` into the test's project
    directory, or into ``directory`` (a name is taken under the test's temporary directory);
    returns the project directory."""

    def __init__(self, root: Path, default: Path) -> None:
        self._root = root
        self._default = default

    def __call__(
        self,
        name: str = "sample-app",
        *,
        directory: Path | str | None = None,
        version: str = "0.1.0",
        sources: Sequence[Source] = (),
        dependencies: Sequence[str] = (),
        extra: str = "",
    ) -> Path:
        target = self._default if directory is None else self._root / directory
        target.mkdir(parents=True, exist_ok=True)
        write_project(
            target, name, version=version, sources=sources, dependencies=dependencies, extra=extra
        )
        return target
