"""The hidden token prompt of ``poetry ado login``, on a real pseudo-terminal.

The real ``poetry`` runs with the pty as its controlling terminal; the test types into it like a
user and reads everything the terminal would show. The token must never appear there."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time
from typing import TYPE_CHECKING

import pytest

from tests.e2e.helpers_login import FEED_URL
from tests.e2e.helpers_login import SOURCE
from tests.e2e.helpers_login import auth_toml
from tests.e2e.helpers_login import feed_project
from tests.poetry_env import POETRY


if sys.platform != "win32":
    import pty
    import termios

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.poetry_env import PoetryEnv


pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal"),
]

TOKEN = "pastedcanary7q4xk2m9w3r8t6y1u5i0o2p4a6s8d0f2g4h6j8"
PROMPT = "Personal access token for"


class Terminal:
    """``poetry ARGS`` on a pty: what it shows, and a keyboard."""

    def __init__(self, poetry: PoetryEnv, cwd: Path, *args: str) -> None:
        env = poetry.environ()
        env.pop("CI", None)
        pid, fd = pty.fork()
        if pid == 0:  # the child: become poetry, with the pty as its terminal
            try:
                os.chdir(cwd)
                os.execve(str(POETRY), [str(POETRY), *args], env)  # noqa: S606
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.shown = b""
        self.exit_code: int | None = None

    def read_until(self, text: str, timeout: float = 60, *, times: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while self.count(text) < times:
            if time.monotonic() > deadline or not self._read(deadline - time.monotonic()):
                raise AssertionError(f"{text!r} never shown; the terminal showed {self.text!r}")

    def count(self, text: str) -> int:
        return self.shown.count(text.encode())

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def echo_is_on(self) -> bool:
        return bool(termios.tcgetattr(self.fd)[3] & termios.ECHO)

    def wait(self, timeout: float = 60) -> int:
        deadline = time.monotonic() + timeout
        while self._read(deadline - time.monotonic()):
            pass
        while self.exit_code is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.exit_code = os.waitstatus_to_exitcode(status)
            elif time.monotonic() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                raise AssertionError(f"poetry did not exit; the terminal showed {self.text!r}")
            else:
                time.sleep(0.05)
        return self.exit_code

    def close(self) -> None:
        if self.exit_code is None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
        os.close(self.fd)

    @property
    def text(self) -> str:
        return self.shown.decode(errors="replace")

    def _read(self, timeout: float) -> bool:
        """Read what is there within ``timeout``; False once the child has closed the pty."""
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not ready:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child is gone
            return False
        self.shown += data
        return bool(data)


@pytest.fixture
def terminal(poetry_env: PoetryEnv, project_dir: Path) -> Iterator[Terminal]:
    feed_project(project_dir, FEED_URL)
    opened = Terminal(poetry_env, project_dir, "ado", "login", "--no-verify")
    yield opened
    opened.close()


def test_an_empty_answer_asks_again_hidden_and_the_token_is_never_shown(
    terminal: Terminal, poetry_env: PoetryEnv
) -> None:
    terminal.read_until(PROMPT)
    terminal.type(b"\r")  # Enter, before the paste lands
    terminal.read_until(PROMPT, timeout=30, times=2)
    assert not terminal.echo_is_on()
    terminal.type(TOKEN.encode() + b"\r")

    assert terminal.wait() == 0, terminal.text
    assert TOKEN not in terminal.text
    assert f"Logged in to {SOURCE}" in terminal.text
    assert TOKEN in auth_toml(poetry_env)
    assert terminal.count(PROMPT) == 2


def test_eof_ends_with_no_token_given(terminal: Terminal, poetry_env: PoetryEnv) -> None:
    terminal.read_until(PROMPT)
    terminal.type(b"\x04")  # Ctrl-D

    assert terminal.wait(timeout=30) == 1, terminal.text
    assert "no token given" in terminal.text
    assert terminal.count(PROMPT) == 1
    assert "Traceback" not in terminal.text
    assert auth_toml(poetry_env) == ""


@pytest.mark.parametrize(("how", "code"), [("ctrl-c", 130), ("sigterm", 143)])
def test_an_interrupted_prompt_puts_the_terminal_back(
    terminal: Terminal, poetry_env: PoetryEnv, how: str, code: int
) -> None:
    assert terminal.echo_is_on()
    terminal.read_until(PROMPT)
    assert not terminal.echo_is_on()
    if how == "ctrl-c":
        terminal.type(b"half-a-tok\x03")
    else:
        terminal.type(b"half-a-tok")
        time.sleep(0.2)
        os.kill(terminal.pid, signal.SIGTERM)

    assert terminal.wait(timeout=30) == code, terminal.text
    assert terminal.echo_is_on(), "the terminal was left without echo"
    assert "half-a-tok" not in terminal.text
    assert "interrupted" in terminal.text
    assert "Traceback" not in terminal.text
    assert auth_toml(poetry_env) == ""
