"""Where the sources sit in the text, and the splices that change them; how new values are
written (TOML strings). Private to ``poetry_ado_plugin.pyproject``."""

from __future__ import annotations

from dataclasses import dataclass

from poetry_ado_plugin.errors import PyprojectError
from poetry_ado_plugin.pyproject._scanner import KV
from poetry_ado_plugin.pyproject._scanner import Header
from poetry_ado_plugin.pyproject._scanner import ScanError
from poetry_ado_plugin.pyproject._scanner import Scanner
from poetry_ado_plugin.pyproject._scanner import Value
from poetry_ado_plugin.pyproject._scanner import end_of_line
from poetry_ado_plugin.pyproject._scanner import start_of_line
from poetry_ado_plugin.pyproject._scanner import text_lines


LEGACY_KEYS = ("default", "secondary")
"""Source keys Poetry 2 removed; a pyproject.toml with them fails to load."""

SOURCE_PATH = ("tool", "poetry", "source")


def basic_string(value: str) -> str:
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


def string(value: str, literal: bool) -> str:
    if literal and "'" not in value and all(c == "\t" or 0x20 <= ord(c) != 0x7F for c in value):
        return f"'{value}'"
    return basic_string(value)


@dataclass
class _Element:
    """One source entry: a [[tool.poetry.source]] table or an inline table in a static array."""

    kvs: list[KV]
    header: Header | None = None
    inline: Value | None = None

    def find(self, key: str) -> KV | None:
        for pair in self.kvs:
            if pair.key == (key,):
                return pair
        return None


@dataclass
class _Layout:
    scan: Scanner
    elements: list[_Element]
    tables: list[Header]
    array: Value | None


def _find_static_array(prefix: tuple[str, ...], pairs: list[KV]) -> KV | None:
    for pair in pairs:
        path = prefix + pair.key
        if path == SOURCE_PATH:
            return pair
        if pair.value.kind == "inline" and SOURCE_PATH[: len(path)] == path:
            found = _find_static_array(path, pair.value.kvs)
            if found is not None:
                return found
    return None


class Editor:
    """Applies one splice at a time to a text, scanning it afresh before each splice."""

    def __init__(self, text: str, expected_sources: int) -> None:
        self.text = text
        self.expected_sources = expected_sources
        first = text.find("\n")
        self.newline = "\r\n" if first > 0 and text[first - 1] == "\r" else "\n"

    # layout

    def _layout(self) -> _Layout:
        try:
            scan = Scanner(self.text).scan()
        except ScanError:
            raise PyprojectError(
                "could not locate the sources in pyproject.toml to edit them safely: "
                "edit [[tool.poetry.source]] by hand"
            ) from None
        tables = [h for h in scan.headers if h.aot and h.key == SOURCE_PATH]
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

    def _table_end(self, layout: _Layout, header: Header) -> int:
        """Where a source table's own content ends: after its last key line, or a comment that
        is not attached to the header that follows (a comment block directly above the next
        header belongs to that header)."""
        headers = layout.scan.headers
        index = headers.index(header)
        last = index + 1
        while last < len(headers) and (
            len(headers[last].key) > len(SOURCE_PATH)
            and headers[last].key[: len(SOURCE_PATH)] == SOURCE_PATH
        ):
            last += 1
        following = headers[last].start if last < len(headers) else len(self.text)
        content = max(
            [headers[i].end for i in range(index, last)]
            + [pair.line_end for i in range(index, last) for pair in headers[i].kvs]
        )
        tail = text_lines(self.text[content:following])
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
            f"{indent}{key}{separator}{string(value, literal)}"
            for key, value in (("name", name), ("url", url), ("priority", priority))
        ]
        block = nl.join(lines) + nl
        if layout.tables:
            last = layout.tables[-1]
            position = self._table_end(layout, last)
            gap = nl
            if len(layout.tables) > 1:
                previous_end = self._table_end(layout, layout.tables[-2])
                between = text_lines(self.text[previous_end : last.start])
                if all(line.strip() for line in between):
                    gap = ""  # the existing source tables sit without blank lines between
            prefix = nl if position == len(self.text) and not self.text.endswith("\n") else ""
            self._splice(position, position, prefix + gap + block)
            return
        text = self.text
        prefix = nl if text and not text.endswith("\n") else ""
        body = text + prefix
        lines_so_far = text_lines(body)
        if lines_so_far and lines_so_far[-1].strip():
            prefix += nl
        self._splice(len(text), len(text), prefix + block)

    def _append_inline(
        self, layout: _Layout, array: Value, name: str, url: str, priority: str
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
            f"{key}{separator}{string(value, literal)}"
            for key, value in (("name", name), ("url", url), ("priority", priority))
        ]
        element = "{" + pad + between.join(parts) + pad + "}"
        if not array.items:
            self._splice(array.start + 1, array.start + 1, element)
            return
        last = array.items[-1]
        comma = array.commas[-1]
        after = last.end if comma is None else comma + 1
        line_end = end_of_line(text, after)
        closing = array.end - 1
        if "\n" in text[array.start : array.end] and closing >= line_end:
            line_start = start_of_line(text, last.start)
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
            rendered = string(value, literal)
            if self.text[pair.value.start : pair.value.end] != rendered:
                self._splice(pair.value.start, pair.value.end, rendered)
            return
        anchor = element.find(after) or (element.kvs[-1] if element.kvs else None)
        self._insert_pair(element, anchor, key, string(value, literal))

    def _insert_pair(self, element: _Element, anchor: KV | None, key: str, rendered: str) -> None:
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

    def _remove_pair(self, element: _Element, pair: KV) -> None:
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
                    f"priority{separator}{string(new_priority, literal)}",
                )
            else:
                self._remove_pair(current, live)
        if priority is not None and new_priority is not None:
            self.set_key(index, "priority", new_priority, after="url")
        return written
