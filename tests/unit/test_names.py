from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name

from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.names import Prefix
from poetry_ado_plugin.names import is_stdlib_name
from poetry_ado_plugin.names import is_valid_name
from poetry_ado_plugin.names import normalize
from poetry_ado_plugin.names import similar_names_pattern
from poetry_ado_plugin.names import stdlib_names
from poetry_ado_plugin.names import ultranormalize


valid_names = st.from_regex(r"\A[A-Za-z0-9]([A-Za-z0-9._-]{0,20}[A-Za-z0-9])?\Z")


@pytest.mark.parametrize(
    ("name", "normal"),
    [
        ("Foo.Bar", "foo-bar"),
        ("foo__bar", "foo-bar"),
        ("FOO-bar", "foo-bar"),
        ("a-_.b", "a-b"),
        ("A", "a"),
        ("kpv_Tools.core", "kpv-tools-core"),
    ],
)
def test_normal_form(name: str, normal: str) -> None:
    assert is_valid_name(name)
    assert normalize(name) == normal


@pytest.mark.parametrize(
    "name", ["", "-foo", "foo-", "_foo", "foo.", "foo bar", "föo", "foo\n", "foo/bar", "foo+"]
)
def test_invalid_names(name: str) -> None:
    assert not is_valid_name(name)


@given(valid_names)
def test_normalize_matches_packaging_and_is_idempotent(name: str) -> None:
    assert normalize(name) == canonicalize_name(name)
    assert normalize(normalize(name)) == normalize(name)
    assert is_valid_name(normalize(name))


@pytest.mark.parametrize(
    ("name", "ultra"),
    [
        ("Foo.Bar", "f00bar"),
        ("l-i-L-I", "1111"),
        ("oO0", "000"),
        ("hello_world", "he110w0r1d"),
    ],
)
def test_ultranormal_form(name: str, ultra: str) -> None:
    assert ultranormalize(name) == ultra


@given(valid_names, valid_names)
def test_similar_pattern_agrees_with_ultranormal_form(name: str, other: str) -> None:
    listed = f"\n{normalize(other)}\n"
    found = similar_names_pattern(name).findall(listed)
    assert bool(found) == (ultranormalize(name) == ultranormalize(other))


_LOOKALIKES = {"1": "1liLI", "l": "1liLI", "i": "1liLI", "0": "0oO", "o": "0oO"}


@given(valid_names, st.data())
def test_similar_pattern_finds_every_lookalike(name: str, data: st.DataObject) -> None:
    chars = [data.draw(st.sampled_from(_LOOKALIKES.get(c.lower(), c))) for c in name]
    separators = [data.draw(st.sampled_from(["", "", "-", "_", "."])) for _ in chars[1:]]
    other = chars[0] + "".join(s + c for s, c in zip(separators, chars[1:], strict=True))
    if not is_valid_name(other):
        return
    assert similar_names_pattern(name).findall(f"\n{normalize(other)}\n") == [normalize(other)]


def test_similar_pattern_finds_lookalikes_in_a_list() -> None:
    listed = "\n" + "\n".join(["foo-bar", "f0obar", "foobar", "foo-baz", "ffoobar"]) + "\n"
    assert similar_names_pattern("F0O_bar").findall(listed) == ["foo-bar", "f0obar", "foobar"]


@pytest.mark.parametrize(
    "name",
    [
        "json",
        "os.path",
        "xml-etree",
        "email.mime",
        # removed from Python 3 or since 3.12/3.13; PyPI still refuses them
        "asynchat",
        "asyncore",
        "imp",
        "distutils",
        "smtpd",
        "telnetlib",
        "urllib2",
        "ConfigParser",
        "Queue",
        "SocketServer",
        "cPickle",
        "__future__",
        "_thread",
    ],
)
def test_stdlib_names(name: str) -> None:
    assert is_stdlib_name(name)


@pytest.mark.parametrize("name", ["requests", "kpv-tools", "jsonx", "os-paths"])
def test_not_stdlib_names(name: str) -> None:
    assert not is_stdlib_name(name)


def test_running_pythons_modules_are_covered() -> None:
    names = stdlib_names()
    assert all(normalize(module.strip("-_.")) in names for module in sys.stdlib_module_names)
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) for name in names)


@pytest.mark.parametrize(
    ("prefix", "name", "matches"),
    [
        ("kpv-", "kpv_tools", True),
        ("kpv-", "KPV.Tools", True),
        ("kpv-", "kpv-tools", True),
        ("kpv-", "kpvtools", False),
        ("kpv-", "kpv", False),
        ("kpv_", "kpv-tools", True),
        ("KPV.", "kpv_tools", True),
        ("kpv", "kpvtools", True),
        ("kpv", "kpv-tools", True),
        ("kpv", "kpv", True),
        ("kpv", "kp-v", False),
        ("acme-data-", "acme_data.io", True),
        ("acme-data-", "acme-database", False),
    ],
)
def test_prefix_matching(prefix: str, name: str, matches: bool) -> None:
    assert Prefix.parse(prefix, origin="test").matches(name) is matches


def test_prefix_normal_form_and_example() -> None:
    assert Prefix.parse(" Kpv__ ", origin="test").normalized == "kpv-"
    assert Prefix.parse("kpv-", origin="test").example("Tools") == "kpv-tools"
    assert Prefix.parse("kpv", origin="test").example("tools") == "kpv-tools"


@pytest.mark.parametrize("prefix", ["", "-kpv", "kp v", "kpv!", "_"])
def test_invalid_prefix(prefix: str) -> None:
    with pytest.raises(UsageError, match=r"invalid prefix .* \(--prefix\)"):
        Prefix.parse(prefix, origin="--prefix")
