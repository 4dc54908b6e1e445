"""The hidden token prompt. It never echoes what is typed or pasted.

cleo's hidden question falls back to a visible ``readline`` when the hidden answer is empty (one
Enter pressed before a paste lands is enough), and re-asks forever on EOF. This prompt instead:

- reads with the terminal's echo off, and only that way: there is no visible fallback;
- asks again, hidden, after an empty answer;
- ends with "no token given" on EOF (Ctrl-D, or Ctrl-Z Enter on Windows);
- puts the terminal back as it was on every way out, Ctrl-C and SIGTERM included.

The caller checks that standard input is a terminal before asking."""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING

from poetry_ado_plugin.errors import CredentialError
from poetry_ado_plugin.errors import Interrupted


if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator
    from types import FrameType


NOTHING_GIVEN = "no token given at the prompt: nothing was stored"


class _Signalled(BaseException):
    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


def ask_hidden(fd: int, write_prompt: Callable[[], None], end_line: Callable[[], None]) -> str:
    """Ask until a non-empty answer comes, reading terminal ``fd`` with echo off."""
    while True:
        try:
            answer = _read_hidden(fd, write_prompt)
        except KeyboardInterrupt:
            end_line()
            raise Interrupted.by(signal.SIGINT, "at the token prompt: nothing was stored") from None
        except _Signalled as signalled:
            end_line()
            raise Interrupted.by(
                signalled.number, "at the token prompt: nothing was stored"
            ) from None
        end_line()
        if answer is None:
            raise CredentialError(NOTHING_GIVEN)
        if answer.strip():
            return answer


if sys.platform == "win32":
    import msvcrt

    def _read_hidden(fd: int, write_prompt: Callable[[], None]) -> str | None:
        """One line from the console, nothing echoed; None on EOF (Ctrl-Z or Ctrl-D first)."""
        write_prompt()
        typed: list[str] = []
        while True:
            char = msvcrt.getwch()
            if char in ("\r", "\n"):
                return "".join(typed)
            if char == "\x03":
                raise KeyboardInterrupt
            if char in ("\x1a", "\x04") and not typed:
                return None
            if char == "\x08":
                if typed:
                    typed.pop()
            elif char in ("\x00", "\xe0"):
                msvcrt.getwch()  # the second half of a function or arrow key
            else:
                typed.append(char)

else:
    import contextlib
    import termios

    def _read_hidden(fd: int, write_prompt: Callable[[], None]) -> str | None:
        """One line from terminal ``fd`` with echo off; None on EOF. The prompt is shown once
        echo is off, so nothing typed after it appears can be seen."""
        with _echo_off(fd):
            write_prompt()
            chunks: list[bytes] = []
            while True:
                data = os.read(fd, 4096)
                if not data:
                    break
                chunks.append(data)
                if b"\n" in data:
                    break
        if not chunks:
            return None
        line = b"".join(chunks).split(b"\n", 1)[0]
        return line.decode(sys.stdin.encoding or "utf-8", errors="replace")

    @contextlib.contextmanager
    def _echo_off(fd: int) -> Iterator[None]:
        before = termios.tcgetattr(fd)
        hidden = termios.tcgetattr(fd)
        hidden[3] &= ~(termios.ECHO | termios.ECHONL)
        # SIGTERM and SIGHUP would end the process with echo still off: turn them into an
        # exception that passes through the `finally` below.
        previous = {}
        for number in (signal.SIGTERM, signal.SIGHUP):
            previous[number] = signal.signal(number, _raise_signalled)
        try:
            # TCSAFLUSH drops what was typed before the echo went off: it has been shown.
            termios.tcsetattr(fd, termios.TCSAFLUSH, hidden)
            yield
        finally:
            with contextlib.suppress(termios.error):  # the terminal may be gone (SIGHUP)
                termios.tcsetattr(fd, termios.TCSAFLUSH, before)
            for number, handler in previous.items():
                signal.signal(number, signal.SIG_DFL if handler is None else handler)

    def _raise_signalled(number: int, frame: FrameType | None) -> None:
        raise _Signalled(number)
