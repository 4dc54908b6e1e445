"""Bad input to every option and argument of every command: one ``Error:`` line on stderr, exit 1,
no traceback, nothing written.

Runs in-process: Poetry's own Application with the plugin activated, its config, cache and data
dirs pointed at a temporary directory. The project's feed source points at a closed port on
127.0.0.1, so a check that slipped through to the network fails fast and stays local."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from cleo.io.inputs.argv_input import ArgvInput
from cleo.io.outputs.buffered_output import BufferedOutput

from poetry_ado_plugin import redact
from poetry_ado_plugin.plugin import COMMANDS
from tests.poetry_env import write_project


if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


CANARY = "CANARYtoken5f3a9c"
FEED_URL = "http://127.0.0.1:9/tfs/DefaultCollection/_packaging/team-feed/pypi/simple/"

# One bad value per value-taking option; every option must be listed (see the last test).
BAD_VALUES: dict[str, dict[str, str]] = {
    "ado add-feed": {
        "org": "bad org!",
        "ado-project": "bad/project",
        "feed": "a@b@c",
        "server-url": "http://[::1x]/tfs",
        "name": "Bad Name",
        "priority": "secondary",
    },
    "ado login": {"username": "李", "tenant": "x"},
    "ado env": {"username": "x", "tenant": "x", "format": "xml"},
    "ado logout": {},
    "ado check-name": {"prefix": "-bad", "index-url": "", "format": "xml"},
    "ado publish": {"index-url": "", "dist-dir": "no-such-dir"},
}

# Extra cases: (command, arguments, standard input)
CASES: list[tuple[str, list[str], str]] = [
    ("ado add-feed", [""], ""),
    ("ado add-feed", ["https://h:99999/_packaging/f/pypi/simple/"], ""),
    ("ado add-feed", ["https://h:abc/_packaging/f/pypi/simple/"], ""),
    ("ado add-feed", ["http://[::1x]/_packaging/f/pypi/simple/"], ""),
    ("ado add-feed", [f"user:{CANARY}@pkgs.dev.azure.com/o/_packaging/f/pypi/simple/"], ""),
    ("ado add-feed", [f"https:/user:{CANARY}@pkgs.dev.azure.com/o/_packaging/f/pypi/simple/"], ""),
    ("ado add-feed", ["https://pkgs.dev.azure.com/o/_packaging/f/pypi/simple/\nx"], ""),
    ("ado add-feed", ["--name", "-a", FEED_URL], ""),
    ("ado add-feed", ["--name=a\nb", FEED_URL], ""),
    ("ado check-name", ["--prefix", "-"], ""),
    ("ado check-name", ["--name", "x"], ""),
    ("ado check-name", ["a\nb", "--index-url", "http://127.0.0.1:9/simple/"], ""),
    ("ado check-name", ["x", "--index-url", "http://[::1x]/simple/"], ""),
    ("ado check-name", ["x", "--index-url", "http://127.0.0.1:99999/simple/"], ""),
    ("ado check-name", ["x", "--index-url", "http://127.0.0.1:abc/simple/"], ""),
    ("ado check-name", ["x", "--index-url", "http://127.0.0.1:9/simple/\nx"], ""),
    ("ado check-name", ["x", "--index-url", f"user:{CANARY}@host.example/simple/"], ""),
    ("ado check-name", ["x", "--index-url", "ftp://host.example/simple/"], ""),
    ("ado login", ["--pat-stdin", "--username", "李"], f"{CANARY}\n"),
    ("ado login", ["--pat-stdin"], f"李{CANARY}\n"),
    ("ado login", ["a\nb", "--pat-stdin"], f"{CANARY}\n"),
    ("ado login", ["a", "b"], ""),
    ("ado logout", ["a\nb"], ""),
    ("ado env", ["--format"], ""),
    ("ado publish", ["--index-url", "http://[::1x]/simple/"], ""),
]


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def run_ado(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    import poetry.config.config
    import poetry.locations

    home = tmp_path / "home"
    for directory in ("config", "cache", "data", "home"):
        (tmp_path / directory).mkdir()
    monkeypatch.setattr(poetry.locations, "CONFIG_DIR", tmp_path / "config")
    monkeypatch.setattr(poetry.config.config, "CONFIG_DIR", tmp_path / "config")
    monkeypatch.setattr(poetry.config.config, "_default_config", None, raising=False)
    for key in list(os.environ):
        if key.startswith(("POETRY_", "AZURE_", "SYSTEM_ACCESSTOKEN", "VSS_", "ARTIFACTS_")):
            monkeypatch.delenv(key)
    monkeypatch.setenv("POETRY_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("POETRY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("POETRY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("POETRY_KEYRING_ENABLED", "false")
    monkeypatch.setenv("POETRY_REQUESTS_TIMEOUT", "2")
    monkeypatch.setenv("HOME", str(home))
    project = tmp_path / "project"
    project.mkdir()
    write_project(
        project,
        extra=f'\n[[tool.poetry.source]]\nname = "team-feed"\nurl = "{FEED_URL}"\n'
        'priority = "explicit"\n',
    )
    monkeypatch.chdir(project)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}

    def run(command: str, args: list[str], stdin: str = "") -> Outcome:
        from poetry.console.application import Application

        application = Application()
        application.auto_exits(False)
        # Name checks ask a closed local port, never pypi.org; a case's own --index-url wins.
        local = (
            ["--index-url", "http://127.0.0.1:9/simple/"]
            if "index-url" in str(BAD_VALUES.get(command))
            else []
        )
        argv = ArgvInput(["poetry", *command.split(), *local, *args, "--no-interaction"])
        argv.set_stream(io.StringIO(stdin))
        output, error = BufferedOutput(), BufferedOutput()
        code = application.run(argv, output, error)
        return Outcome(code, output.fetch(), error.fetch())

    yield run
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before, "bad input changed a file"
    redact.forget_secrets()


def _assert_one_error_line(outcome: Outcome) -> None:
    text = outcome.stdout + outcome.stderr
    assert outcome.exit_code == 1, text
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    # Warnings about the project (this one has no publish repository) may come first.
    errors = [line for line in lines if not line.startswith("Warning: ")]
    assert len(errors) == 1, text
    assert errors[0].startswith("Error: "), text
    assert "Traceback" not in text
    assert CANARY not in text
    assert "\x1b" not in text


def _option_cases() -> Iterator[tuple[str, list[str], str]]:
    from poetry_ado_plugin.plugin import _lazy_factory

    for name, (module, class_name) in COMMANDS.items():
        command = _lazy_factory(module, class_name)()
        for option in command.options:
            if option.is_flag():
                yield name, [f"--{option.name}=yes"], ""
                continue
            yield name, [f"--{option.name}"], ""  # no value at all
            yield name, [f"--{option.name}", "-"], ""  # "-" is taken for an option
            bad = BAD_VALUES[name].get(option.name)
            if bad is not None:
                yield name, [f"--{option.name}={bad}"], f"{CANARY}\n"


@pytest.mark.parametrize(("command", "args", "stdin"), [*_option_cases(), *CASES])
def test_bad_input_is_one_error_line(
    run_ado: object, command: str, args: list[str], stdin: str
) -> None:
    assert callable(run_ado)
    _assert_one_error_line(run_ado(command, args, stdin))


def test_every_value_option_has_a_bad_value_in_the_table() -> None:
    from poetry_ado_plugin.plugin import _lazy_factory

    for name, (module, class_name) in COMMANDS.items():
        command = _lazy_factory(module, class_name)()
        values = {option.name for option in command.options if not option.is_flag()}
        assert values == set(BAD_VALUES[name]), name
