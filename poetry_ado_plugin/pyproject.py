"""Format-preserving, atomic edits of ``[[tool.poetry.source]]`` in a project's pyproject.toml.

Everything outside the values we mean to change stays byte for byte the same: comments, key order,
blank lines, indentation, quoting, line endings (CRLF stays CRLF), a missing final newline, a UTF-8
byte-order mark. Poetry's own ``poetry source add`` rebuilds the whole source array instead.

How: the TOML parser Poetry itself uses (tomllib, or tomli below Python 3.11) parses the file
(for validation and for the plain data view), and a small span
scanner in this module finds the exact text of every table header and key/value pair. Each edit
is a targeted text splice at those spans (insert a table after the last source table, replace one
value, drop one line). After all splices the result is parsed again and compared with the data we
expect (the old data plus exactly the intended change); if they differ, nothing is kept and a
:class:`PyprojectError` says what to add by hand.

Layouts understood: ``[[tool.poetry.source]]`` tables anywhere in the file (even between other
tables), and a static array of inline tables (``source = [{ name = "a", url = "..." }]`` under
``[tool.poetry]``, or ``poetry.source = [...]`` / ``tool.poetry.source = [...]`` as dotted keys,
or nested in inline tables), which gets the new source appended in its own style.

Legacy keys (removed in Poetry 2, a file with them fails to load): ``default = true`` means
``priority = "primary"``, ``secondary = true`` means ``priority = "supplemental"``, and priority
values ``"default"``/``"secondary"`` map the same way. When a table has both a legacy key and a
``priority``, the legacy key wins, ``default`` before ``secondary``, because that is what Poetry
1.x did with such a table (its factory overrode ``priority`` with them), so the migrated file
keeps the behaviour the project had. ``default = false``/``secondary = false`` are dropped.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import math
import re
import sys
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from typing import Literal

from poetry_ado_plugin import files
from poetry_ado_plugin.errors import PyprojectError
from poetry_ado_plugin.errors import SourceConflictError
from poetry_ado_plugin.errors import UsageError


# The reference parser, as Poetry's own: edits are verified against what Poetry will read.
if sys.version_info >= (3, 11):
    import tomllib
else:  # Poetry itself requires tomli below 3.11
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]


__all__ = [
    "LEGACY_KEYS",
    "PRIORITIES",
    "Migration",
    "PyprojectDocument",
    "Source",
    "SourceChange",
]

PRIORITIES = ("primary", "supplemental", "explicit")
"""The priorities Poetry 2 accepts in ``[[tool.poetry.source]]``."""

LEGACY_KEYS = ("default", "secondary")
"""Source keys Poetry 2 removed; a pyproject.toml with them fails to load."""

_LEGACY_PRIORITY = {"default": "primary", "secondary": "supplemental"}
_SOURCE_PATH = ("tool", "poetry", "source")
_BOM = b"\xef\xbb\xbf"
_DISPLAY_NAME = "pyproject.toml"


# --------------------------------------------------------------------------------------------
# Public values


@dataclass(frozen=True)
class Source:
    """One ``[[tool.poetry.source]]`` entry, as written."""

    name: str
    url: str | None
    priority: str | None
    """As written; may be a legacy value (``"default"``, ``"secondary"``)."""
    legacy_keys: tuple[str, ...] = ()
    """Removed keys present in the table (``"default"``, ``"secondary"``), in file order."""
    legacy_values: tuple[bool, ...] = field(default=(), compare=False, repr=False)

    @property
    def needs_migration(self) -> bool:
        """True when Poetry 2 cannot load this entry as written."""
        return bool(self.legacy_keys) or _is_legacy_priority(self.priority)

    @property
    def modern_priority(self) -> str | None:
        """The Poetry 2 priority this entry means (what :meth:`migrate_legacy_sources` writes)."""
        flags = dict(zip(self.legacy_keys, self.legacy_values, strict=False))
        return _modern_priority(flags.get("default"), flags.get("secondary"), self.priority)


@dataclass(frozen=True)
class Migration:
    """One source whose legacy keys or values were rewritten."""

    source_name: str
    old: str
    """What was there, as written, e.g. ``secondary = true`` or ``priority = "default"``."""
    new_priority: str | None


@dataclass(frozen=True)
class SourceChange:
    """What :meth:`PyprojectDocument.set_source` did."""

    kind: Literal["added", "updated", "unchanged"]
    name: str
    """The name as written in the file (an existing source keeps its spelling)."""
    old_url: str | None
    new_url: str
    old_priority: str | None
    new_priority: str | None
    """None when the source has no priority key (Poetry reads that as primary)."""


# --------------------------------------------------------------------------------------------
# The document


class PyprojectDocument:
    """A pyproject.toml read into memory, edited as text, written back atomically."""

    def __init__(self, path: Path, raw: bytes) -> None:
        self.path = path
        self._bom = raw.startswith(_BOM)
        body = raw[len(_BOM) :] if self._bom else raw
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PyprojectError(
                f"{path} is not UTF-8 text (bad byte at offset {error.start}): "
                "save it as UTF-8 and run again"
            ) from None
        self._original_raw = raw
        self._original = text
        self._text = text
        self._data = _parse(text, path)

    @classmethod
    def read(cls, path: Path) -> PyprojectDocument:
        """Read ``path`` (a pyproject.toml, or a directory holding one).

        Raises :class:`PyprojectError` when it is missing, unreadable, not UTF-8 or not TOML.
        The file does not have to be a valid Poetry project."""
        path = Path(path)
        if path.is_dir():
            path = path / "pyproject.toml"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise PyprojectError(
                f"no pyproject.toml in {path.parent}: "
                "run the command in your project's directory or pass -C/--directory"
            ) from None
        except OSError as error:
            raise PyprojectError(f"cannot read {path}: {error.strerror or error}") from None
        return cls(path, raw)

    # -- read-only views ----------------------------------------------------------------------

    @property
    def data(self) -> dict[str, Any]:
        """Plain-Python view of the current text (a copy: changing it changes nothing)."""
        return copy.deepcopy(self._data)

    @property
    def text(self) -> str:
        """The current content (without a byte-order mark, if the file has one)."""
        return self._text

    @property
    def original_text(self) -> str:
        """The content as read (or as last written by :meth:`write`)."""
        return self._original

    @property
    def changed(self) -> bool:
        return self._text != self._original

    def sources(self) -> list[Source]:
        """The entries of ``tool.poetry.source``, in file order."""
        result = []
        for entry in _source_entries(self._data, self.path):
            legacy = tuple(key for key in entry if key in LEGACY_KEYS)
            result.append(
                Source(
                    name=entry["name"],
                    url=entry.get("url"),
                    priority=entry.get("priority"),
                    legacy_keys=legacy,
                    legacy_values=tuple(entry[key] is True for key in legacy),
                )
            )
        return result

    def diff(self) -> str:
        """Unified diff from the original to the current text; ``""`` when unchanged."""
        if not self.changed:
            return ""
        lines = difflib.unified_diff(
            _lines(self._original),
            _lines(self._text),
            fromfile=f"a/{_DISPLAY_NAME}",
            tofile=f"b/{_DISPLAY_NAME}",
        )
        out = []
        for line in lines:
            if line.endswith("\r\n"):
                out.append(line[:-2] + "\n")
            elif line.endswith("\n"):
                out.append(line)
            else:
                out.append(line + "\n\\ No newline at end of file\n")
        return "".join(out)

    # -- edits --------------------------------------------------------------------------------

    def migrate_legacy_sources(self) -> list[Migration]:
        """Rewrite removed source keys and values to Poetry 2 priorities, in place."""
        entries = _source_entries(self._data, self.path)
        plans = [
            (index, entry, _modern_priority_of(entry))
            for index, entry in enumerate(entries)
            if _needs_migration(entry)
        ]
        if not plans:
            return []
        editor = _Editor(self._text, len(entries))
        expected = copy.deepcopy(self._data)
        expected_entries = _source_entries(expected, self.path)
        migrations = []
        for index, entry, new_priority in plans:
            written = editor.migrate(index, new_priority)
            old = ", ".join(
                f"{key} = {value}"
                for key, value in written.items()
                if key != "priority" or entry.get("priority") != new_priority
            )
            migrations.append(Migration(entry["name"], old, new_priority))
            _apply_migration(expected_entries[index], new_priority)
        names = ", ".join(migration.source_name for migration in migrations)
        self._commit(
            editor.text,
            expected,
            f"rewrite the removed keys of source(s) {names} as priority = ... by hand",
        )
        return migrations

    def set_source(self, name: str, url: str, priority: str | None) -> SourceChange:
        """Add a source, or update the ``url``/``priority`` of the one with this name.

        Names match case-insensitively (as Poetry's repository pool does); an existing
        source keeps its spelling. ``priority=None`` keeps an existing source's priority as
        written (a new source needs one). Legacy keys of that source are removed, since the
        explicit priority replaces them. Raises :class:`SourceConflictError` when several
        sources share the name."""
        if priority is not None and priority not in PRIORITIES:
            raise UsageError(
                f"priority {priority!r} is not valid: use one of {', '.join(PRIORITIES)}"
            )
        if not name:
            raise UsageError("a source needs a non-empty name")
        entries = _source_entries(self._data, self.path)
        matches = [i for i, entry in enumerate(entries) if _same_name(entry["name"], name)]
        if len(matches) > 1:
            raise SourceConflictError(
                f"{self.path} has {len(matches)} sources named {name!r}: "
                "remove the duplicates and run again"
            )
        expected = copy.deepcopy(self._data)
        editor = _Editor(self._text, len(entries))
        if not matches:
            if priority is None:
                raise UsageError(
                    f"a new source needs a priority: use one of {', '.join(PRIORITIES)}"
                )
            editor.append(name, url, priority)
            _append_source(expected, {"name": name, "url": url, "priority": priority})
            self._commit(
                editor.text,
                expected,
                f"add [[tool.poetry.source]] with name = {_basic_string(name)}, "
                f"url = {_basic_string(url)}, priority = {_basic_string(priority)} by hand",
            )
            return SourceChange("added", name, None, url, None, priority)

        index = matches[0]
        entry = entries[index]
        old_url, old_priority = entry.get("url"), entry.get("priority")
        legacy = any(key in entry for key in LEGACY_KEYS)
        if priority is None:
            priority = _modern_priority_of(entry) if legacy else old_priority
        current = SourceChange("updated", entry["name"], old_url, url, old_priority, priority)
        if old_url == url and old_priority == priority and not legacy:
            return dataclasses.replace(current, kind="unchanged")
        target = _source_entries(expected, self.path)[index]
        if legacy:
            # the explicit priority replaces the legacy keys (a `secondary = ...` line becomes
            # the priority line, keeping its place and comment)
            editor.migrate(index, priority)
            _apply_migration(target, priority)
        editor.set_key(index, "url", url, after="name")
        target["url"] = url
        by_hand = f"set url = {_basic_string(url)}"
        if priority is not None:
            editor.set_key(index, "priority", priority, after="url")
            target["priority"] = priority
            by_hand += f" and priority = {_basic_string(priority)}"
        by_hand += f" in the source named {entry['name']!r} by hand"
        self._commit(editor.text, expected, by_hand)
        return current

    # -- writing ------------------------------------------------------------------------------

    def write(self) -> None:
        """Write the current text with the shared atomic writer (:mod:`poetry_ado_plugin.files`:
        temporary file in the same directory, original mode and owner, fsync, rename), under the
        file's lock. Does nothing when nothing changed. Symlinks are followed: the file they point
        to is replaced. Refuses when the file changed on disk since it was read, or is read-only.
        Afterwards the written text is the new original (``changed`` is False, ``diff()`` is
        empty). Hold :func:`poetry_ado_plugin.files.locked` from before :meth:`read` to make the
        whole read-modify-write safe against another command doing the same."""
        if not self.changed:
            return
        payload = (_BOM if self._bom else b"") + self._text.encode("utf-8")
        with files.locked(self.path, error=PyprojectError):
            try:
                on_disk = self.path.read_bytes()
            except OSError as error:
                raise PyprojectError(
                    f"cannot write {self.path}: {error.strerror or error}"
                ) from None
            if on_disk != self._original_raw:
                raise PyprojectError(
                    f"{self.path} changed while we were writing it (changed on disk by another "
                    "program since it was read): run the command again"
                )
            files.write_atomic(self.path, payload, error=PyprojectError)
        self._original_raw = payload
        self._original = self._text

    def restore(self, text: str) -> None:
        """Write ``text`` back as the file's content, atomically: undoes :meth:`write` when a
        later step fails (pass the :attr:`original_text` saved before writing)."""
        self._data = _parse(text, self.path)
        self._text = text
        self.write()

    # -- internals ----------------------------------------------------------------------------

    def _commit(self, text: str, expected: dict[str, Any], by_hand: str) -> None:
        """Keep ``text`` only if it parses to exactly ``expected``."""
        failure = f"could not edit {self.path} without touching other parts of it; {by_hand}"
        try:
            data = load_toml(text)
        except tomllib.TOMLDecodeError:
            raise PyprojectError(failure) from None
        if not _same(data, expected):
            raise PyprojectError(failure)
        self._text = text
        self._data = data


# --------------------------------------------------------------------------------------------
# Data helpers


def load_toml(text: str) -> dict[str, Any]:
    """Parse TOML text into plain Python data; raises ``tomllib.TOMLDecodeError``."""
    data: dict[str, Any] = tomllib.loads(text)
    return data


def _parse(text: str, path: Path) -> dict[str, Any]:
    try:
        data = load_toml(text)
    except tomllib.TOMLDecodeError as error:  # says "... (at line L, column C)"
        message = " ".join(str(error).split()) or type(error).__name__
        raise PyprojectError(
            f"{path} is not valid TOML: {message}: fix the syntax and run again"
        ) from None
    return data


def _source_entries(data: dict[str, Any], path: Path) -> list[dict[str, Any]]:
    """``tool.poetry.source`` of ``data`` (the live list), checked for shape."""
    node: Any = data
    for part in _SOURCE_PATH:
        if not isinstance(node, dict) or part not in node:
            return []
        node = node[part]
    if not isinstance(node, list) or not all(isinstance(entry, dict) for entry in node):
        raise PyprojectError(
            f"tool.poetry.source in {path} must be an array of tables "
            "([[tool.poetry.source]] entries): fix it and run again"
        )
    for number, entry in enumerate(node, start=1):
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise PyprojectError(
                f"source #{number} in {path} has no name: "
                'add name = "..." to it or remove it, and run again'
            )
        for key in ("url", "priority"):
            if key in entry and not isinstance(entry[key], str):
                raise PyprojectError(
                    f"source {name!r} in {path} has a {key} that is not a string: "
                    "fix it and run again"
                )
    return node


def _append_source(data: dict[str, Any], entry: dict[str, Any]) -> None:
    node = data
    for part in _SOURCE_PATH[:-1]:
        node = node.setdefault(part, {})
    node.setdefault(_SOURCE_PATH[-1], []).append(entry)


def _is_legacy_priority(priority: object) -> bool:
    return isinstance(priority, str) and priority.lower() in _LEGACY_PRIORITY


def _modern_priority(default: object, secondary: object, priority: object) -> str | None:
    if default is True:
        return "primary"
    if secondary is True:
        return "supplemental"
    if isinstance(priority, str):
        return _LEGACY_PRIORITY.get(priority.lower(), priority)
    return None


def _needs_migration(entry: dict[str, Any]) -> bool:
    return any(key in entry for key in LEGACY_KEYS) or _is_legacy_priority(entry.get("priority"))


def _modern_priority_of(entry: dict[str, Any]) -> str | None:
    return _modern_priority(entry.get("default"), entry.get("secondary"), entry.get("priority"))


def _apply_migration(entry: dict[str, Any], new_priority: str | None) -> None:
    for key in LEGACY_KEYS:
        entry.pop(key, None)
    if new_priority is not None:
        entry["priority"] = new_priority


def _same_name(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def _same(a: object, b: object) -> bool:
    """Deep equality where NaN equals NaN and types must match (1 is not 1.0 nor True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        assert isinstance(b, dict)
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        assert isinstance(b, list)
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


# --------------------------------------------------------------------------------------------
# Rendering


def _basic_string(value: str) -> str:
    out = ['"']
    for char in value:
        if char in '"\\':
            out.append("\\" + char)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _string(value: str, literal: bool) -> str:
    if literal and "'" not in value and all(c == "\t" or 0x20 <= ord(c) != 0x7F for c in value):
        return f"'{value}'"
    return _basic_string(value)


# --------------------------------------------------------------------------------------------
# The span scanner: where every header and key/value pair sits in the text.
# It assumes valid TOML (the parser has accepted the text already); it also copes with TOML 1.1
# additions (newlines, comments and a trailing comma inside inline tables), should the parser
# accept them one day.


class _ScanError(Exception):
    pass


@dataclass
class _Value:
    start: int
    end: int
    kind: Literal["string", "array", "inline", "scalar"]
    items: list[_Value] = field(default_factory=list)
    commas: list[int | None] = field(default_factory=list)
    kvs: list[_KV] = field(default_factory=list)


@dataclass
class _KV:
    key: tuple[str, ...]
    start: int
    key_end: int
    value: _Value
    line_start: int
    line_end: int = 0
    """Top-level pairs: just after the newline that ends the pair's last line."""
    comment: int | None = None
    """Top-level pairs: where a comment after the value starts."""


@dataclass
class _Header:
    key: tuple[str, ...]
    aot: bool
    start: int
    text_end: int
    end: int
    kvs: list[_KV] = field(default_factory=list)


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_SCALAR = re.compile(r"[^\s#,\]\}]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME_AFTER_SPACE = re.compile(r" \d{2}:")
_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{2}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    '"': '"',
    "\\": "\\",
}


def _unescape(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) > 1:
            return chr(int(code[1:], 16))
        return _SIMPLE_ESCAPES.get(code, code)

    return _ESCAPE.sub(replace, text)


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.root: list[_KV] = []
        self.headers: list[_Header] = []

    def scan(self) -> _Scanner:
        text = self.text
        current = self.root
        while True:
            self._skip_blank()
            if self.pos >= len(text):
                return self
            char = text[self.pos]
            if char == "#":
                self._skip_comment()
            elif char in "\r\n":
                self._newline()
            elif char == "[":
                start = _line_start(text, self.pos)
                aot = text.startswith("[[", self.pos)
                self.pos += 2 if aot else 1
                key = self._key()
                close = "]]" if aot else "]"
                if not text.startswith(close, self.pos):
                    raise _ScanError(self.pos)
                self.pos += len(close)
                header = _Header(key, aot, start, self.pos, 0)
                self._end_of_line()
                header.end = self.pos
                self.headers.append(header)
                current = header.kvs
            else:
                pair = self._pair()
                pair.comment = self._end_of_line()
                pair.line_end = self.pos
                current.append(pair)

    # lexical helpers

    def _peek(self) -> str:
        if self.pos >= len(self.text):
            raise _ScanError(self.pos)
        return self.text[self.pos]

    def _skip_blank(self) -> None:
        text = self.text
        while self.pos < len(text) and text[self.pos] in " \t":
            self.pos += 1

    def _skip_comment(self) -> None:
        end = self.text.find("\n", self.pos)
        if end == -1:
            self.pos = len(self.text)
            return
        self.pos = end - 1 if self.text[end - 1] == "\r" else end

    def _newline(self) -> None:
        if self.text.startswith("\r\n", self.pos):
            self.pos += 2
        elif self.text.startswith("\n", self.pos):
            self.pos += 1
        else:
            raise _ScanError(self.pos)

    def _skip_space(self) -> None:
        """Whitespace, newlines and comments (inside arrays and inline tables)."""
        while True:
            self._skip_blank()
            if self.pos >= len(self.text):
                return
            char = self.text[self.pos]
            if char == "#":
                self._skip_comment()
            elif char in "\r\n":
                self._newline()
            else:
                return

    def _end_of_line(self) -> int | None:
        self._skip_blank()
        comment = None
        if self.pos < len(self.text) and self.text[self.pos] == "#":
            comment = self.pos
            self._skip_comment()
        if self.pos < len(self.text):
            self._newline()
        return comment

    # grammar

    def _key(self) -> tuple[str, ...]:
        parts = []
        text = self.text
        while True:
            self._skip_blank()
            char = self._peek()
            if char == '"':
                end = self._basic_end(self.pos)
                parts.append(_unescape(text[self.pos + 1 : end - 1]))
                self.pos = end
            elif char == "'":
                end = text.find("'", self.pos + 1)
                if end == -1:
                    raise _ScanError(self.pos)
                parts.append(text[self.pos + 1 : end])
                self.pos = end + 1
            else:
                match = _BARE_KEY.match(text, self.pos)
                if match is None:
                    raise _ScanError(self.pos)
                parts.append(match.group())
                self.pos = match.end()
            self._key_end = self.pos
            self._skip_blank()
            if self.pos < len(text) and text[self.pos] == ".":
                self.pos += 1
                continue
            return tuple(parts)

    def _pair(self) -> _KV:
        start = self.pos
        key = self._key()
        key_end = self._key_end
        if self._peek() != "=":
            raise _ScanError(self.pos)
        self.pos += 1
        self._skip_blank()
        value = self._value()
        return _KV(key, start, key_end, value, _line_start(self.text, start))

    def _basic_end(self, start: int) -> int:
        text = self.text
        index = start + 1
        while index < len(text):
            char = text[index]
            if char == "\\":
                index += 2
            elif char == '"':
                return index + 1
            elif char in "\r\n":
                break
            else:
                index += 1
        raise _ScanError(start)

    def _multiline_end(self, start: int, quote: str) -> int:
        text = self.text
        index = start + 3
        while index < len(text):
            if quote == '"' and text[index] == "\\":
                index += 2
            elif text.startswith(quote * 3, index):
                end = index + 3
                # up to two quotes may sit right before the closing delimiter
                while end < len(text) and text[end] == quote and end - index < 5:
                    end += 1
                return end
            else:
                index += 1
        raise _ScanError(start)

    def _value(self) -> _Value:
        text = self.text
        start = self.pos
        char = self._peek()
        if text.startswith('"""', start) or text.startswith("'''", start):
            self.pos = self._multiline_end(start, char)
            return _Value(start, self.pos, "string")
        if char == '"':
            self.pos = self._basic_end(start)
            return _Value(start, self.pos, "string")
        if char == "'":
            end = text.find("'", start + 1)
            if end == -1:
                raise _ScanError(start)
            self.pos = end + 1
            return _Value(start, self.pos, "string")
        if char == "[":
            return self._array()
        if char == "{":
            return self._inline_table()
        match = _SCALAR.match(text, start)
        if match is None:
            raise _ScanError(start)
        end = match.end()
        if _DATE.fullmatch(match.group()) and _TIME_AFTER_SPACE.match(text, end):
            more = _SCALAR.match(text, end + 1)
            assert more is not None
            end = more.end()
        self.pos = end
        return _Value(start, end, "scalar")

    def _array(self) -> _Value:
        value = _Value(self.pos, 0, "array")
        self.pos += 1
        while True:
            self._skip_space()
            if self._peek() == "]":
                break
            value.items.append(self._value())
            value.commas.append(None)
            self._skip_space()
            if self._peek() == ",":
                value.commas[-1] = self.pos
                self.pos += 1
            elif self._peek() != "]":
                raise _ScanError(self.pos)
        self.pos += 1
        value.end = self.pos
        return value

    def _inline_table(self) -> _Value:
        value = _Value(self.pos, 0, "inline")
        self.pos += 1
        while True:
            self._skip_space()
            if self._peek() == "}":
                break
            value.kvs.append(self._pair())
            self._skip_space()
            if self._peek() == ",":
                self.pos += 1
            elif self._peek() != "}":
                raise _ScanError(self.pos)
        self.pos += 1
        value.end = self.pos
        return value


def _line_start(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def _line_end(text: str, pos: int) -> int:
    """Just after the newline that ends the line holding ``pos`` (or the end of the text)."""
    end = text.find("\n", pos)
    return len(text) if end == -1 else end + 1


def _lines(text: str) -> list[str]:
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


# --------------------------------------------------------------------------------------------
# Where the sources sit, and the splices that change them


@dataclass
class _Element:
    """One source entry: a [[tool.poetry.source]] table or an inline table in a static array."""

    kvs: list[_KV]
    header: _Header | None = None
    inline: _Value | None = None

    def find(self, key: str) -> _KV | None:
        for pair in self.kvs:
            if pair.key == (key,):
                return pair
        return None


@dataclass
class _Layout:
    scan: _Scanner
    elements: list[_Element]
    tables: list[_Header]
    array: _Value | None


def _find_static_array(prefix: tuple[str, ...], pairs: list[_KV]) -> _KV | None:
    for pair in pairs:
        path = prefix + pair.key
        if path == _SOURCE_PATH:
            return pair
        if pair.value.kind == "inline" and _SOURCE_PATH[: len(path)] == path:
            found = _find_static_array(path, pair.value.kvs)
            if found is not None:
                return found
    return None


class _Editor:
    """Applies one splice at a time to a text, scanning it afresh before each splice."""

    def __init__(self, text: str, expected_sources: int) -> None:
        self.text = text
        self.expected_sources = expected_sources
        first = text.find("\n")
        self.newline = "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"

    # layout

    def _layout(self) -> _Layout:
        try:
            scan = _Scanner(self.text).scan()
        except _ScanError:
            raise PyprojectError(
                "could not locate the sources in pyproject.toml to edit them safely: "
                "edit [[tool.poetry.source]] by hand"
            ) from None
        tables = [h for h in scan.headers if h.aot and h.key == _SOURCE_PATH]
        array = None
        static = _find_static_array((), scan.root)
        for header in scan.headers:
            if static is None and not header.aot:
                static = _find_static_array(header.key, header.kvs)
        if static is not None and static.value.kind == "array":
            array = static.value
            elements = [_Element(item.kvs, inline=item) for item in array.items]
        else:
            elements = [_Element(h.kvs, header=h) for h in tables]
        if len(elements) != self.expected_sources or (
            array is not None and any(item.kind != "inline" for item in array.items)
        ):
            raise PyprojectError(
                "could not locate the sources in pyproject.toml to edit them safely: "
                "edit [[tool.poetry.source]] by hand"
            )
        return _Layout(scan, elements, tables, array)

    def _splice(self, start: int, end: int, replacement: str) -> None:
        self.text = self.text[:start] + replacement + self.text[end:]

    # style

    def _style(self, element: _Element | None) -> tuple[str, str, bool]:
        """(indent, separator around '=', literal strings?) of an existing entry."""
        if element is None or not element.kvs:
            return "", " = ", False
        first = element.kvs[0]
        text = self.text
        indent = text[first.line_start : first.start]
        if element.inline is not None or indent.strip(" \t"):
            indent = ""
        separator = text[first.key_end : first.value.start]
        literal = False
        for key in ("url", "name"):
            pair = element.find(key)
            if pair is not None and pair.value.kind == "string":
                literal = text[pair.value.start] == "'" and not text.startswith(
                    "'''", pair.value.start
                )
                break
        return indent, separator, literal

    def _table_end(self, layout: _Layout, header: _Header) -> int:
        """Where a source table's own content ends: after its last key line, or a comment that
        is not attached to the header that follows (a comment block directly above the next
        header belongs to that header)."""
        headers = layout.scan.headers
        index = headers.index(header)
        last = index + 1
        while last < len(headers) and (
            len(headers[last].key) > len(_SOURCE_PATH)
            and headers[last].key[: len(_SOURCE_PATH)] == _SOURCE_PATH
        ):
            last += 1
        following = headers[last].start if last < len(headers) else len(self.text)
        content = max(
            [headers[i].end for i in range(index, last)]
            + [pair.line_end for i in range(index, last) for pair in headers[i].kvs]
        )
        tail = _lines(self.text[content:following])
        if last < len(headers):
            while tail and tail[-1].strip().startswith("#"):
                tail.pop()
        while tail and not tail[-1].strip():
            tail.pop()
        return content + sum(len(line) for line in tail)

    # operations

    def append(self, name: str, url: str, priority: str) -> None:
        layout = self._layout()
        if layout.array is not None:
            self._append_inline(layout, layout.array, name, url, priority)
            return
        nl = self.newline
        reference = layout.elements[-1] if layout.elements else None
        indent, separator, literal = self._style(reference)
        header_text = "[[tool.poetry.source]]"
        if reference is not None and reference.header is not None:
            header_text = self.text[reference.header.start : reference.header.text_end]
        lines = [header_text] + [
            f"{indent}{key}{separator}{_string(value, literal)}"
            for key, value in (("name", name), ("url", url), ("priority", priority))
        ]
        block = nl.join(lines) + nl
        if layout.tables:
            last = layout.tables[-1]
            position = self._table_end(layout, last)
            gap = nl
            if len(layout.tables) > 1:
                previous_end = self._table_end(layout, layout.tables[-2])
                between = _lines(self.text[previous_end : last.start])
                if all(line.strip() for line in between):
                    gap = ""  # the existing source tables sit without blank lines between
            prefix = nl if position == len(self.text) and not self.text.endswith("\n") else ""
            self._splice(position, position, prefix + gap + block)
            return
        text = self.text
        prefix = nl if text and not text.endswith("\n") else ""
        body = text + prefix
        lines_so_far = _lines(body)
        if lines_so_far and lines_so_far[-1].strip():
            prefix += nl
        self._splice(len(text), len(text), prefix + block)

    def _append_inline(
        self, layout: _Layout, array: _Value, name: str, url: str, priority: str
    ) -> None:
        text = self.text
        reference = layout.elements[-1] if layout.elements else None
        _, separator, literal = self._style(reference)
        pad, between = " ", ", "
        if reference is not None and reference.inline is not None:
            inline = reference.inline
            pad = " " if text[inline.start + 1 : inline.start + 2] in (" ", "\t") else ""
            if len(reference.kvs) > 1:
                candidate = text[reference.kvs[0].value.end : reference.kvs[1].start]
                if "\n" not in candidate and "#" not in candidate:
                    between = candidate
        parts = [
            f"{key}{separator}{_string(value, literal)}"
            for key, value in (("name", name), ("url", url), ("priority", priority))
        ]
        element = "{" + pad + between.join(parts) + pad + "}"
        if not array.items:
            self._splice(array.start + 1, array.start + 1, element)
            return
        last = array.items[-1]
        comma = array.commas[-1]
        after = last.end if comma is None else comma + 1
        line_end = _line_end(text, after)
        closing = array.end - 1
        if "\n" in text[array.start : array.end] and closing >= line_end:
            line_start = _line_start(text, last.start)
            indent = text[line_start : last.start]
            if indent.strip(" \t"):
                indent = indent[: len(indent) - len(indent.lstrip(" \t"))]
            trailing = "," if comma is not None else ""
            self._splice(line_end, line_end, indent + element + trailing + self.newline)
            if comma is None:
                self._splice(last.end, last.end, ",")
            return
        if comma is None:
            self._splice(last.end, last.end, ", " + element)
        else:
            self._splice(comma + 1, comma + 1, " " + element + ",")

    def set_key(self, index: int, key: str, value: str, after: str) -> None:
        """Give ``key`` a string value in entry ``index``: in place if present, else as a new
        pair after the pair ``after`` (or after the last pair)."""
        layout = self._layout()
        element = layout.elements[index]
        pair = element.find(key)
        literal = self._style(element)[2]
        if pair is not None:
            if pair.value.kind == "string" and self.text[pair.value.start] == "'":
                literal = not self.text.startswith("'''", pair.value.start)
            rendered = _string(value, literal)
            if self.text[pair.value.start : pair.value.end] != rendered:
                self._splice(pair.value.start, pair.value.end, rendered)
            return
        anchor = element.find(after) or (element.kvs[-1] if element.kvs else None)
        self._insert_pair(element, anchor, key, _string(value, literal))

    def _insert_pair(self, element: _Element, anchor: _KV | None, key: str, rendered: str) -> None:
        text = self.text
        indent, separator, _ = self._style(element)
        if element.inline is not None:
            if anchor is None:
                position = element.inline.start + 1
                self._splice(position, position, f" {key}{separator}{rendered} ")
                return
            between = ", "
            if len(element.kvs) > 1:
                candidate = text[element.kvs[0].value.end : element.kvs[1].start]
                if "\n" not in candidate and "#" not in candidate:
                    between = candidate
            position = anchor.value.end
            self._splice(position, position, f"{between}{key}{separator}{rendered}")
            return
        if anchor is not None:
            indent = text[anchor.line_start : anchor.start]
            separator = text[anchor.key_end : anchor.value.start]
            position = anchor.line_end
        else:
            assert element.header is not None
            position = element.header.end
        line = f"{indent}{key}{separator}{rendered}"
        if position == len(text) and not text.endswith("\n"):
            self._splice(position, position, self.newline + line)
        else:
            self._splice(position, position, line + self.newline)

    def _remove_pair(self, element: _Element, pair: _KV) -> None:
        text = self.text
        if element.inline is not None:
            index = element.kvs.index(pair)
            if index > 0:
                self._splice(element.kvs[index - 1].value.end, pair.value.end, "")
            elif len(element.kvs) > 1:
                self._splice(pair.start, element.kvs[1].start, "")
            else:
                self._splice(pair.start, pair.value.end, "")
            return
        if pair.comment is not None:
            # keep the comment on its own line
            comment_end = pair.line_end
            while comment_end > pair.comment and text[comment_end - 1] in "\r\n":
                comment_end -= 1
            self._splice(pair.start, comment_end, text[pair.comment : comment_end])
            return
        start, end = pair.line_start, pair.line_end
        if end == len(text) and not text.endswith("\n") and start > 0:
            # last line of a file without a final newline: take the newline before it instead
            start -= 2 if text[start - 2 : start] == "\r\n" else 1
        self._splice(start, end, "")

    def migrate(self, index: int, new_priority: str | None) -> dict[str, str]:
        """Rewrite the legacy keys/values of entry ``index`` so that it ends with
        ``new_priority`` (or none). Returns the legacy pairs and the priority pair as written
        (key -> value text), in file order."""
        layout = self._layout()
        element = layout.elements[index]
        text = self.text
        legacy = [pair for pair in element.kvs if pair.key[0] in LEGACY_KEYS and len(pair.key) == 1]
        priority = element.find("priority")
        written = {
            pair.key[0]: text[pair.value.start : pair.value.end]
            for pair in element.kvs
            if pair in legacy or pair is priority
        }

        # which legacy pair turns into the priority pair (when there is no priority pair yet)
        convert: str | None = None
        if priority is None and new_priority is not None:
            for key in LEGACY_KEYS:
                pair = element.find(key)
                if pair is not None and text[pair.value.start : pair.value.end] == "true":
                    convert = key
                    break
            if convert is None and legacy:
                convert = legacy[0].key[0]
        # one splice at a time, from the end of the entry backwards, so earlier spans stay put
        for pair in sorted(legacy, key=lambda p: p.start, reverse=True):
            current = self._layout().elements[index]
            live = current.find(pair.key[0])
            assert live is not None
            if pair.key[0] == convert:
                assert new_priority is not None
                separator = self.text[live.key_end : live.value.start]
                literal = self._style(current)[2]
                self._splice(
                    live.start,
                    live.value.end,
                    f"priority{separator}{_string(new_priority, literal)}",
                )
            else:
                self._remove_pair(current, live)
        if priority is not None and new_priority is not None:
            self.set_key(index, "priority", new_priority, after="url")
        return written
