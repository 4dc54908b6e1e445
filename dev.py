"""Set-up and tasks for a fresh clone: ``python3 dev.py test`` or ``python3 dev.py demo``.

Each task creates (or refreshes) the virtual environment ``.venv`` with Poetry, this plugin
(editable, so Poetry loads it from its own environment) and the development tools, then runs.
A full test run also runs the end-to-end tests against the oldest supported Poetry, installed
with the plugin in ``.venv-poetry-oldest``.

Tasks: ``test``, ``demo``, ``lint``, ``build`` (wheel and sdist into ``dist/``, checked with twine),
``matrix`` (the end-to-end suite against every supported Poetry minor) and
``release-notes VERSION`` (that version's CHANGELOG section)."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import venv
import zipfile
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
    "tests/e2e/test_install_routes.py",
    # the code that leans hardest on Poetry's internals: its publisher, uploader, authenticator
    "tests/e2e/test_login.py",
    "tests/e2e/test_publish.py",
    "tests/e2e/test_poetry_commands.py",
    "tests/e2e/test_real_service.py",
]
# pip learned --group (PEP 735 dependency groups) in 25.1
PIP_REQUIREMENT = "pip>=25.1"
# The latest patch of every supported Poetry minor (`pip index versions poetry`), for `matrix`.
# The first and the last are the `oldest` and `dev` pins of pyproject.toml.
MATRIX_POETRY = ["2.0.1", "2.1.4", "2.2.1", "2.3.4", "2.4.3", "2.5.1"]
# What `matrix` runs against each of them.
MATRIX_TESTS = ["tests/e2e"]
# Wheels of a venv's Poetry and of everything it depends on, on every platform (Poetry locks for
# all of them), for the install-route tests: a feed of the local emulator serves them.
WHEELHOUSE = "wheelhouse"
# The Poetry version a wheelhouse was made for.
WHEELHOUSE_STAMP = ".made-for"
# Platforms whose wheels the wheelhouse also holds, with the markers that select them.
_PLATFORMS = {
    "darwin": ("macosx_11_0_arm64", "macosx_10_9_x86_64", "macosx_10_13_universal2"),
    "win32": ("win_amd64",),
    "linux": ("manylinux_2_17_x86_64", "manylinux2014_x86_64"),
    "emscripten": (),
}
_PLATFORM_SYSTEMS = {
    "darwin": "Darwin",
    "win32": "Windows",
    "linux": "Linux",
    "emscripten": "Emscripten",
}


def _run(*args: str | Path) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], cwd=ROOT, check=True)


def ensure_venv(directory: Path = VENV, group: str = "dev", *, poetry: str | None = None) -> Path:
    """Create ``directory`` with the plugin (editable) and a dependency group from pyproject.toml
    (or, with ``poetry``, that Poetry version), unless pyproject.toml is unchanged since the last
    install. Returns its bin directory."""
    if sys.version_info < (3, 10):  # noqa: UP036 - dev.py may be started by an older python3
        sys.exit("Python 3.10 or newer is needed.")
    bin_dir = directory / BIN_NAME
    python = bin_dir / PYTHON.name
    stamp = directory / ".installed-from"
    fingerprint = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if poetry:
        fingerprint += f" poetry=={poetry}"
    if python.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return bin_dir
    if not python.exists():
        print(f"Creating the virtual environment in {directory.name}/", flush=True)
        venv.EnvBuilder(with_pip=True).create(directory)
    _run(python, "-m", "pip", "install", "--quiet", PIP_REQUIREMENT)
    what = [f"poetry=={poetry}"] if poetry else ["--group", group]
    _run(python, "-m", "pip", "install", "--quiet", "--editable", ".", *what)
    stamp.write_text(fingerprint)
    return bin_dir


def installed_poetry(python: Path) -> str:
    code = "import importlib.metadata as m; print(m.version('poetry'))"
    return subprocess.run(
        [str(python), "-c", code], check=True, capture_output=True, text=True
    ).stdout.strip()


def _requirements(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(name).decode("utf-8")
    return [
        line.split(":", 1)[1].strip()
        for line in text.split("\n\n", 1)[0].splitlines()
        if line.startswith("Requires-Dist:")
    ]


def _wheel_project(wheel: Path) -> str:
    return re.sub(r"[-_.]+", "-", wheel.name.split("-", 1)[0]).lower()


def ensure_wheelhouse(directory: Path) -> Path:
    """Wheels of the Poetry installed in the venv ``directory`` and of its whole dependency tree,
    including the dependencies only other platforms need (such as xattr on macOS and
    pywin32-ctypes on Windows): ``poetry self add`` locks Poetry's own project for every platform,
    so a feed that serves Poetry to it must hold them all. Made once per Poetry version, from
    pip's cache after the first time; the tests read it and never download anything."""
    python = directory / BIN_NAME / PYTHON.name
    wheelhouse = directory / WHEELHOUSE
    stamp = wheelhouse / WHEELHOUSE_STAMP
    if not (stamp.exists() and stamp.read_text() == installed_poetry(python)):
        # packaging is Poetry's dependency: the venv's python has it, the python3 of a fresh
        # clone may not.
        _run(python, Path(__file__).resolve(), "_wheelhouse", directory)
    return wheelhouse


def _make_wheelhouse(extra: list[str]) -> int:
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    directory = Path(extra[0])
    python = directory / BIN_NAME / PYTHON.name
    poetry = installed_poetry(python)
    wheelhouse = directory / WHEELHOUSE
    if wheelhouse.exists():
        shutil.rmtree(wheelhouse)
    wheelhouse.mkdir()
    pip: list[str | Path] = [python, "-m", "pip", "--disable-pip-version-check"]
    _run(*pip, "wheel", "--quiet", "--wheel-dir", wheelhouse, f"poetry=={poetry}")
    # The requirements that markers select on other platforms, wheel by wheel, until none is new.
    environment = {key: str(value) for key, value in default_environment().items()}
    seen: set[str] = set()
    while True:
        have = {_wheel_project(w) for w in wheelhouse.glob("*.whl")}
        missing: dict[str, tuple[Requirement, str]] = {}
        for wheel in sorted(wheelhouse.glob("*.whl")):
            for line in _requirements(wheel):
                requirement = Requirement(line)
                name = canonicalize_name(requirement.name)
                if name in have or name in missing or name in seen:
                    continue
                for platform in _PLATFORMS:
                    variant = dict(
                        environment,
                        sys_platform=platform,
                        os_name="nt" if platform == "win32" else "posix",
                        platform_system=_PLATFORM_SYSTEMS[platform],
                        extra="",
                    )
                    if requirement.marker is None or requirement.marker.evaluate(variant):
                        missing[name] = (requirement, platform)
                        break
        if not missing:
            break
        for project, (requirement, platform) in missing.items():
            seen.add(project)
            spec = f"{requirement.name}{requirement.specifier}"
            tags = [arg for tag in _PLATFORMS[platform] for arg in ("--platform", tag)]
            _run(*pip, "download", "--quiet", "--no-deps", "--only-binary=:all:", *tags,
                 "--dest", wheelhouse, spec)  # fmt: skip
    (wheelhouse / WHEELHOUSE_STAMP).write_text(poetry)
    return 0


LINTERS: list[list[str | Path]] = [
    [PYTHON, "-m", "ruff", "check", "."],
    [PYTHON, "-m", "ruff", "format", "--check", "."],
    [PYTHON, "-m", "mypy"],
]


def _run_checks(checks: list[list[str | Path]]) -> int:
    """Each command in turn, shown first; the exit code of the first that fails, else 0."""
    for check in checks:
        print("+", " ".join(str(a) for a in check), flush=True)
        code = subprocess.run([str(a) for a in check], cwd=ROOT).returncode
        if code != 0:
            return code
    return 0


def _workers(arguments: list[str]) -> list[str]:
    # The end-to-end tests mostly wait on poetry subprocesses, so more workers than cores pay.
    return [] if any(arg.startswith("-n") for arg in arguments) else ["-n", "4"]


def lint(extra: list[str]) -> int:
    """``dev.py lint``: ruff check, ruff format --check and mypy --strict, without the tests."""
    ensure_venv()
    return _run_checks(LINTERS)


def test(extra: list[str]) -> int:
    ensure_venv()
    ensure_wheelhouse(VENV)
    workers = _workers(extra)
    code = _run_checks([*LINTERS, [PYTHON, "-m", "pytest", *workers, *extra]])
    if code != 0:
        return code
    if extra:
        return 0
    oldest_bin = ensure_venv(OLDEST_VENV, "oldest")
    ensure_wheelhouse(OLDEST_VENV)
    command = [str(PYTHON), "-m", "pytest", *workers, *COMPATIBILITY_TESTS]
    print(f"+ POETRY_ADO_TEST_POETRY={OLDEST_VENV.name}/{BIN_NAME}/poetry", *command, flush=True)
    environment = dict(os.environ, POETRY_ADO_TEST_POETRY=str(oldest_bin / "poetry"))
    return subprocess.run(command, cwd=ROOT, env=environment).returncode


def demo(extra: list[str]) -> int:
    ensure_venv()
    return subprocess.run([str(PYTHON), "-m", "tests.demo", *extra], cwd=ROOT).returncode


def build_artifacts(out: Path) -> list[Path]:
    """Build the wheel and the sdist with poetry-core (the build backend pyproject.toml names)
    into ``out``, with this checkout's files; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    code = (
        "import sys, poetry.core.masonry.api as api; "
        "print(api.build_wheel(sys.argv[1])); print(api.build_sdist(sys.argv[1]))"
    )
    names = subprocess.run(
        [str(PYTHON), "-c", code, str(out)], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout.split()
    return [out / name for name in names]


def build(extra: list[str]) -> int:
    """``dev.py build``: the wheel and the sdist into dist/, then ``twine check --strict``."""
    ensure_venv()
    dist = ROOT / "dist"
    for old in [*dist.glob("poetry_ado_plugin-*.whl"), *dist.glob("poetry_ado_plugin-*.tar.gz")]:
        old.unlink()
    artifacts = build_artifacts(dist)
    for artifact in artifacts:
        print(f"Built {artifact.relative_to(ROOT)}", flush=True)
    check = [PYTHON, "-m", "twine", "check", "--strict", *artifacts]
    print("+", " ".join(str(a) for a in check), flush=True)
    return subprocess.run([str(a) for a in check], cwd=ROOT).returncode


def changelog_section(version: str, changelog: str) -> str | None:
    """The body of ``## [VERSION]`` (also ``## VERSION``, ``## [VERSION] - date``) in a Keep a
    Changelog text, without its heading; None if the version has no section."""
    wanted = version.removeprefix("v")
    heading = re.compile(r"^## \[?(?P<version>[^\]\s]+)\]?(?:\s.*)?$")
    lines: list[str] | None = None
    for line in changelog.splitlines():
        match = heading.match(line)
        if match:
            if lines is not None:
                break
            if match["version"] == wanted:
                lines = []
            continue
        if lines is not None:
            if re.match(r"^\[[^\]]+\]:\s", line):  # link definitions at the end of the file
                break
            lines.append(line)
    return None if lines is None else "\n".join(lines).strip() + "\n"


def release_notes(extra: list[str]) -> int:
    """``dev.py release-notes VERSION``: print that version's CHANGELOG section (the release
    workflow uses it as the release's text); exit 1 if the changelog has none."""
    if len(extra) != 1:
        print("usage: python3 dev.py release-notes VERSION", file=sys.stderr)
        return 2
    section = changelog_section(extra[0], (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"))
    if section is None:
        print(f"CHANGELOG.md has no section for {extra[0]}", file=sys.stderr)
        return 1
    sys.stdout.write(section)
    return 0


def matrix_venv(version: str) -> Path:
    """The venv of one Poetry of the matrix: the pinned venvs for the oldest and the dev Poetry,
    ``.venv-poetry-MAJOR.MINOR`` for the others."""
    if version == MATRIX_POETRY[0]:
        return OLDEST_VENV
    if version == MATRIX_POETRY[-1]:
        return VENV
    return ROOT / f".venv-poetry-{'.'.join(version.split('.')[:2])}"


def matrix(extra: list[str]) -> int:
    """``dev.py matrix [--poetry VERSION]... [PYTEST ARGS]``: the end-to-end suite (or the pytest
    arguments given) against every Poetry of MATRIX_POETRY (or the ones named), one after the
    other; prints a summary and writes it as JSON to .matrix-results.json. Exit 0 only if every
    Poetry passed."""
    ensure_venv()
    versions: list[str] = []
    targets: list[str] = []
    arguments = iter(extra)
    for argument in arguments:
        if argument == "--poetry":
            versions.append(next(arguments, ""))
        elif argument.startswith("--poetry="):
            versions.append(argument.partition("=")[2])
        else:
            targets.append(argument)
    unknown = [version for version in versions if version not in MATRIX_POETRY]
    if unknown:
        print(f"--poetry takes one of {', '.join(MATRIX_POETRY)}", file=sys.stderr)
        return 2
    targets = targets or MATRIX_TESTS
    workers = _workers(targets)
    results: list[dict[str, object]] = []
    for version in versions or MATRIX_POETRY:
        directory = matrix_venv(version)
        if directory == VENV:
            bin_dir = directory / BIN_NAME
        elif directory == OLDEST_VENV:
            bin_dir = ensure_venv(directory, "oldest")
        else:
            bin_dir = ensure_venv(directory, poetry=version)
        ensure_wheelhouse(directory)
        poetry = bin_dir / ("poetry.exe" if os.name == "nt" else "poetry")
        command = [str(PYTHON), "-m", "pytest", *workers, "-q", "-p", "no:cacheprovider", *targets]
        print(f"+ POETRY_ADO_TEST_POETRY={poetry.relative_to(ROOT)}", *command, flush=True)
        started = time.monotonic()
        # Streamed as it comes (a CI log shows progress), and kept for the summary.
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=dict(os.environ, POETRY_ADO_TEST_POETRY=str(poetry)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert process.stdout is not None
        lines: list[str] = []
        for line in process.stdout:
            sys.stdout.write(line)
            sys.stdout.flush()
            lines.append(line.rstrip("\n"))
        exit_code = process.wait()
        while lines and not lines[-1].strip():
            lines.pop()
        summary = (lines or [""])[-1].strip("= ")
        failed = sorted(
            {line.split()[1] for line in lines if line.startswith(("FAILED ", "ERROR "))}
        )
        results.append(
            {
                "poetry": version,
                "exit_code": exit_code,
                "summary": summary,
                "failed": failed,
                "seconds": round(time.monotonic() - started),
            }
        )
    print("\nPoetry  result")
    for result in results:
        verdict = "passed" if result["exit_code"] == 0 else f"FAILED ({result['exit_code']})"
        print(f"{result['poetry']:<7} {verdict}: {result['summary']} in {result['seconds']} s")
    python = ".".join(str(part) for part in sys.version_info[:3])
    report = {"python": python, "platform": sys.platform, "tests": targets, "results": results}
    (ROOT / ".matrix-results.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0 if all(result["exit_code"] == 0 for result in results) else 1


TASKS = {
    "test": test,
    "demo": demo,
    "lint": lint,
    "build": build,
    "matrix": matrix,
    "release-notes": release_notes,
    "_wheelhouse": _make_wheelhouse,
}


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        public = [task for task in TASKS if not task.startswith("_")]
        print(f"usage: python3 dev.py {{{'|'.join(public)}}} [args...]", file=sys.stderr)
        return 2
    return TASKS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
