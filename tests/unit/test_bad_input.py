"""Bad input to every option and argument of every command: one ``Error:`` line on stderr, exit 1,
no traceback, nothing written.

Runs in-process: Poetry's own Application with the plugin activated, its config, cache and data
dirs pointed at a temporary directory. The project's feed source points at a closed port on
127.0.0.1, so a check that slipped through to the network fails fast and stays local."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from poetry_ado_plugin.plugin import COMMANDS
from tests.inprocess import snapshot
from tests.poetry_env import Outcome
from tests.poetry_env import Source


if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.poetry_env import ProjectFactory


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
    "ado login": {
        "username": "李",
        "tenant": "x",
        "token-file": "no-such-file",
        "valid-for": "soon",
    },
    "ado env": {
        "username": "x",
        "tenant": "x",
        "format": "xml",
        "token-file": "no-such-file",
        "valid-for": "0h",
    },
    "ado logout": {},
    "ado check-name": {"prefix": "-bad", "index-url": "", "format": "xml"},
    "ado publish": {"index-url": "", "dist-dir": "no-such-dir", "promote": "No View"},
    "ado versions": {"feed": "no-such-source", "format": "xml"},
    "ado promote": {"feed": "no-such-source", "view": "No View", "format": "xml"},
    "ado protect": {"feed": "no-such-source", "format": "xml"},
    "ado doctor": {"format": "xml"},
    "ado status": {"format": "xml"},
    "ado": {"format": "xml"},
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


@pytest.fixture
def run_ado(
    tmp_path: Path, project_factory: ProjectFactory, ado_app: Callable[..., Outcome]
) -> Iterator[Callable[[str, list[str], str], Outcome]]:
    project_factory(sources=[Source("team-feed", FEED_URL)])
    before = snapshot(tmp_path)

    def run(command: str, args: list[str], stdin: str = "") -> Outcome:
        # Name checks ask a closed local port, never pypi.org; a case's own --index-url wins.
        local = (
            ["--index-url", "http://127.0.0.1:9/simple/"]
            if "index-url" in str(BAD_VALUES.get(command))
            else []
        )
        return ado_app(*command.split(), *local, *args, "--no-interaction", stdin=stdin)

    yield run
    assert snapshot(tmp_path) == before, "bad input changed a file"


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
            bad = BAD_VALUES.get(name, {}).get(option.name)
            if bad is not None:
                yield name, [f"--{option.name}={bad}"], f"{CANARY}\n"


@pytest.mark.parametrize(("command", "args", "stdin"), [*_option_cases(), *CASES])
def test_bad_input_is_one_error_line(
    run_ado: Callable[[str, list[str], str], Outcome], command: str, args: list[str], stdin: str
) -> None:
    _assert_one_error_line(run_ado(command, args, stdin))


def test_every_value_option_has_a_bad_value_in_the_table() -> None:
    from poetry_ado_plugin.plugin import _lazy_factory

    for name, (module, class_name) in COMMANDS.items():
        command = _lazy_factory(module, class_name)()
        values = {option.name for option in command.options if not option.is_flag()}
        assert values == set(BAD_VALUES.get(name, {})), name
