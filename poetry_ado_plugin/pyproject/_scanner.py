"""The span scanner of pyproject.toml: where every table header and key/value pair sits in the
text, so that an edit can splice exactly there. Private to ``poetry_ado_plugin.pyproject``.

It assumes valid TOML (the parser has accepted the text already); it also copes with TOML 1.1
additions (newlines, comments and a trailing comma inside inline tables), should the parser
accept them one day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from dataclasses import field
from typing import Literal


class ScanError(Exception):
    pass


@dataclass
class Value:
    start: int
    end: int
    kind: Literal["string", "array", "inline", "scalar"]
    items: list[Value] = field(default_factory=list)
    commas: list[int | None] = field(default_factory=list)
    kvs: list[KV] = field(default_factory=list)


@dataclass
class KV:
    key: tuple[str, ...]
    start: int
    key_end: int
    value: Value
    line_start: int
    line_end: int = 0
    """Top-level pairs: just after the newline that ends the pair's last line."""
    comment: int | None = None
    """Top-level pairs: where a comment after the value starts."""


@dataclass
class Header:
    key: tuple[str, ...]
    aot: bool
    start: int
    text_end: int
    end: int
    kvs: list[KV] = field(default_factory=list)


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


class Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.root: list[KV] = []
        self.headers: list[Header] = []

    def scan(self) -> Scanner:
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
                start = start_of_line(text, self.pos)
                aot = text.startswith("[[", self.pos)
                self.pos += 2 if aot else 1
                key = self._key()
                close = "]]" if aot else "]"
                if not text.startswith(close, self.pos):
                    raise ScanError(self.pos)
                self.pos += len(close)
                header = Header(key, aot, start, self.pos, 0)
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
            raise ScanError(self.pos)
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
            raise ScanError(self.pos)

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
                    raise ScanError(self.pos)
                parts.append(text[self.pos + 1 : end])
                self.pos = end + 1
            else:
                match = _BARE_KEY.match(text, self.pos)
                if match is None:
                    raise ScanError(self.pos)
                parts.append(match.group())
                self.pos = match.end()
            self._key_end = self.pos
            self._skip_blank()
            if self.pos < len(text) and text[self.pos] == ".":
                self.pos += 1
                continue
            return tuple(parts)

    def _pair(self) -> KV:
        start = self.pos
        key = self._key()
        key_end = self._key_end
        if self._peek() != "=":
            raise ScanError(self.pos)
        self.pos += 1
        self._skip_blank()
        value = self._value()
        return KV(key, start, key_end, value, start_of_line(self.text, start))

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
        raise ScanError(start)

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
        raise ScanError(start)

    def _value(self) -> Value:
        text = self.text
        start = self.pos
        char = self._peek()
        if text.startswith('"""', start) or text.startswith("'''", start):
            self.pos = self._multiline_end(start, char)
            return Value(start, self.pos, "string")
        if char == '"':
            self.pos = self._basic_end(start)
            return Value(start, self.pos, "string")
        if char == "'":
            end = text.find("'", start + 1)
            if end == -1:
                raise ScanError(start)
            self.pos = end + 1
            return Value(start, self.pos, "string")
        if char == "[":
            return self._array()
        if char == "{":
            return self._inline_table()
        match = _SCALAR.match(text, start)
        if match is None:
            raise ScanError(start)
        end = match.end()
        if _DATE.fullmatch(match.group()) and _TIME_AFTER_SPACE.match(text, end):
            more = _SCALAR.match(text, end + 1)
            assert more is not None
            end = more.end()
        self.pos = end
        return Value(start, end, "scalar")

    def _array(self) -> Value:
        value = Value(self.pos, 0, "array")
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
                raise ScanError(self.pos)
        self.pos += 1
        value.end = self.pos
        return value

    def _inline_table(self) -> Value:
        value = Value(self.pos, 0, "inline")
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
                raise ScanError(self.pos)
        self.pos += 1
        value.end = self.pos
        return value


def start_of_line(text: str, pos: int) -> int:
    return text.rfind("\n", 0, pos) + 1


def end_of_line(text: str, pos: int) -> int:
    """Just after the newline that ends the line holding ``pos`` (or the end of the text)."""
    end = text.find("\n", pos)
    return len(text) if end == -1 else end + 1


def text_lines(text: str) -> list[str]:
    parts = text.split("\n")
    lines = [part + "\n" for part in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines
