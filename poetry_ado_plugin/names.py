"""Package-name rules: PEP 508 validity, PEP 503 normal form, the prefix policy, and the two
extra rules PyPI applies to a new project (standard-library names, "too similar" names).

Pure functions; the only I/O is reading the packaged standard-library list, once."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from packaging.utils import canonicalize_name

from poetry_ado_plugin.errors import UsageError


# PEP 508 (and warehouse's PROJECT_NAME_RE). \Z, not $: "foo\n" is not a name.
_VALID_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])\Z", re.IGNORECASE)
# A prefix may end in a separator ("kpv-"), so it is checked with its own pattern.
_VALID_PREFIX = re.compile(r"^[A-Z0-9][A-Z0-9._-]*\Z", re.IGNORECASE)
# warehouse's ultranormalize_name(): drop separators, l/L/i/I -> 1, o/O -> 0, then lower-case.
_ULTRA = str.maketrans(
    {".": None, "_": None, "-": None, "l": "1", "L": "1", "i": "1", "I": "1", "o": "0", "O": "0"}
)

STDLIB_NAMES_RESOURCE = "pypi_stdlib_names.txt"


def is_valid_name(name: str) -> bool:
    return _VALID_NAME.match(name) is not None


def normalize(name: str) -> str:
    """PEP 503 normal form."""
    return canonicalize_name(name)


def ultranormalize(name: str) -> str:
    """The form PyPI compares to refuse a name as "too similar" to an existing project."""
    return name.translate(_ULTRA).lower()


def similar_names_pattern(name: str) -> re.Pattern[str]:
    """A multi-line pattern matching every PEP 503-normalised name, one per line, that has the
    same ultranormal form as ``name``.

    Scanning the cached project list (hundreds of thousands of lines) with one compiled pattern
    takes milliseconds, where ultranormalising every line would take most of a second."""
    classes = {"1": "[1il]", "0": "[0o]"}
    # A normal name has single "-" separators and none at the ends.
    body = "-?".join(classes.get(char, re.escape(char)) for char in ultranormalize(name))
    return re.compile(f"^{body}$", re.MULTILINE)


@cache
def stdlib_names() -> frozenset[str]:
    """Normal forms of every name PyPI refuses as a standard-library module, plus the running
    Python's own module names (which covers versions newer than the packaged list)."""
    text = files("poetry_ado_plugin").joinpath(STDLIB_NAMES_RESOURCE).read_text(encoding="utf-8")
    names = {line for line in text.splitlines() if line and not line.startswith("#")}
    # warehouse strips leading and trailing separators first: "_thread" blocks "thread".
    names.update(normalize(module.strip("-_.")) for module in sys.stdlib_module_names)
    names.discard("")
    return frozenset(names)


def is_stdlib_name(name: str) -> bool:
    return normalize(name.strip("-_.")) in stdlib_names()


@dataclass(frozen=True)
class Prefix:
    """A naming prefix such as ``kpv-``, compared in PEP 503 normal form.

    A prefix that ends in a separator needs a separator in the name (``kpv-`` matches
    ``kpv_tools`` and ``KPV.tools`` but not ``kpvtools``). Without one it is a plain start
    of the normal form (``kpv`` matches ``kpvtools``, ``kpv-tools`` and ``kpv`` itself)."""

    text: str
    normalized: str

    @classmethod
    def parse(cls, text: str, *, origin: str) -> Prefix:
        stripped = text.strip()
        if not _VALID_PREFIX.match(stripped):
            raise UsageError(
                f"invalid prefix {text!r} ({origin}): use letters, digits, '.', '_' or '-', "
                "starting with a letter or digit, e.g. 'acme-'"
            )
        return cls(text=stripped, normalized=normalize(stripped))

    @property
    def needs_separator(self) -> bool:
        return self.normalized.endswith("-")

    def matches(self, name: str) -> bool:
        return normalize(name).startswith(self.normalized)

    def example(self, name: str) -> str:
        """``name`` with this prefix, to show what a matching name looks like."""
        joiner = "" if self.needs_separator else "-"
        return f"{self.normalized}{joiner}{normalize(name)}"
