"""The one path every printed string goes through.

``safe_text`` masks three things, in this order:

- every secret registered for this run (``register_secret``: the token being verified, stored
  or sent), wherever it appears, also percent-encoded, and inside server messages or
  subprocess output;
- the user-info of anything URL-like, with or without a scheme (``https://u:p@ss@host/``,
  ``https:/user:TOKEN@host``, ``user:TOKEN@host/path``), up to the last ``@`` before the host,
  whatever the password contains;
- ANSI escape sequences and control characters (server-supplied text can otherwise erase lines
  or fake output on the terminal).

Standard library only: commands import this on every run."""

from __future__ import annotations

import re
import threading
import unicodedata
from urllib.parse import quote
from urllib.parse import quote_plus


MASK = "***"

# Shorter strings would mask ordinary words; a real token is tens of characters long.
MIN_SECRET_LENGTH = 4

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None

# scheme:, scheme:/ or scheme:// followed by user-info up to the LAST '@' before the first '/',
# '?', '#' or blank: the greedy class backtracks to that '@', so a password holding '@' is
# masked whole.
_SCHEMED = re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*:/{0,3})[^\s/?#]*@")
# No scheme: a word that starts the text (or follows a blank, quote or bracket) and ends in '@',
# followed by something that is a host: a dotted name, a bracketed IPv6 address, or a name
# followed by a port or a path. "feed@View" in a path (after '/') and 'name@View' are left alone.
_BARE = re.compile(
    r"(?:(?<=^)|(?<=[\s'\"(<\[=,;]))[^\s/?#'\"<>()\[\]]+@"
    r"(?=(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+|[A-Za-z0-9\-]+(?=[:/]))"
    r"(?::\d*)?(?:[\s/?#'\")>\],;]|$))"
)
# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \), other two-character escapes, and the
# 8-bit CSI.
_ANSI = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]|\x9b[0-?]*[ -/]*[@-~]"
)


def register_secret(secret: str | None) -> None:
    """Mask ``secret`` in everything printed from now on (this process)."""
    global _pattern
    if not secret or len(secret) < MIN_SECRET_LENGTH:
        return
    forms = {secret, secret.strip(), quote(secret, safe=""), quote_plus(secret)}
    with _lock:
        added = {form for form in forms if len(form) >= MIN_SECRET_LENGTH} - _secrets
        if not added:
            return
        _secrets.update(added)
        # Longest first, so a secret that contains another is masked whole.
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(form) for form in ordered))


def forget_secrets() -> None:
    """Forget every registered secret (tests that run several commands in one process)."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None


def mask_secrets(text: str) -> str:
    pattern = _pattern
    return text if pattern is None else pattern.sub(MASK, text)


def mask_userinfo(text: str) -> str:
    """``text`` with the ``user:password@`` part of everything URL-like masked."""
    if "@" not in text:
        return text
    text = _SCHEMED.sub(lambda match: f"{match.group(1)}{MASK}@", text)
    return _BARE.sub(f"{MASK}@", text)


def strip_controls(text: str, *, keep_newlines: bool = False) -> str:
    """``text`` without ANSI escape sequences; other control, format and line-separator
    characters become a blank (or stay, for ``\\n`` with ``keep_newlines``)."""
    text = _ANSI.sub("", text)
    if text.isprintable():
        return text
    return "".join(_printable(char, keep_newlines) for char in text)


def _printable(char: str, keep_newlines: bool) -> str:
    if char.isprintable():
        return char
    if keep_newlines and char == "\n":
        return char
    if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"):
        return " " if char in "\t\r\n\x0b\x0c\u2028\u2029" else ""
    return char  # a blank other than ' ' (isprintable() says no to those): harmless


def safe_text(text: str, *, keep_newlines: bool = False) -> str:
    """What may be printed of ``text``: secrets and user-info masked, escapes removed."""
    return strip_controls(mask_userinfo(mask_secrets(text)), keep_newlines=keep_newlines)
