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
from poetry_ado_plugin.pyproject._editor import LEGACY_KEYS
from poetry_ado_plugin.pyproject._editor import SOURCE_PATH
from poetry_ado_plugin.pyproject._editor import Editor
from poetry_ado_plugin.pyproject._editor import basic_string
from poetry_ado_plugin.pyproject._scanner import text_lines


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


_LEGACY_PRIORITY = {"default": "primary", "secondary": "supplemental"}
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
            text_lines(self._original),
            text_lines(self._text),
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
        editor = Editor(self._text, len(entries))
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
        editor = Editor(self._text, len(entries))
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
                f"add [[tool.poetry.source]] with name = {basic_string(name)}, "
                f"url = {basic_string(url)}, priority = {basic_string(priority)} by hand",
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
        by_hand = f"set url = {basic_string(url)}"
        if priority is not None:
            editor.set_key(index, "priority", priority, after="url")
            target["priority"] = priority
            by_hand += f" and priority = {basic_string(priority)}"
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
    for part in SOURCE_PATH:
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
    for part in SOURCE_PATH[:-1]:
        node = node.setdefault(part, {})
    node.setdefault(SOURCE_PATH[-1], []).append(entry)


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


# What the plugin reads from pyproject.toml besides the sources.

PREFIX_TABLE = "[tool.poetry-ado] prefix"


def project_name(pyproject_data: dict[str, Any]) -> str | None:
    """``[project].name``, else ``[tool.poetry].name``."""
    for table in (pyproject_data.get("project"), _tool(pyproject_data).get("poetry")):
        if isinstance(table, dict) and isinstance(table.get("name"), str) and table["name"]:
            name: str = table["name"]
            return name
    return None


def configured_prefix(pyproject_data: dict[str, Any]) -> str | None:
    """``[tool.poetry-ado] prefix``; UsageError when it is there but not a string."""
    table = _tool(pyproject_data).get("poetry-ado")
    if not isinstance(table, dict) or "prefix" not in table:
        return None
    value = table["prefix"]
    if not isinstance(value, str):
        raise UsageError(
            f'{PREFIX_TABLE} in pyproject.toml must be a string, e.g. prefix = "acme-"'
        )
    return value


def _tool(pyproject_data: dict[str, Any]) -> dict[str, Any]:
    tool = pyproject_data.get("tool")
    return tool if isinstance(tool, dict) else {}
