"""Format-preserving edits of [[tool.poetry.source]]: corpus golden files, invariants, writes.

Corpus: every ``NAME.toml`` in ``pyproject_corpus/`` has a ``NAME.expected.toml``: the exact text
after what ``poetry ado add-feed`` does (migrate legacy sources, then set the team feed). Each
file also runs with CRLF line endings, generated here so that git's line-ending handling cannot
interfere. Regenerate the expected files with ``UPDATE_GOLDEN=1`` and review the diff."""

from __future__ import annotations

import copy
import difflib
import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from poetry_ado_plugin.errors import PyprojectError
from poetry_ado_plugin.errors import SourceConflictError
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.pyproject import Migration
from poetry_ado_plugin.pyproject import PyprojectDocument
from poetry_ado_plugin.pyproject import Source
from poetry_ado_plugin.pyproject import SourceChange
from poetry_ado_plugin.pyproject import load_toml


CORPUS = Path(__file__).parent / "pyproject_corpus"
INPUTS = sorted(p.name for p in CORPUS.glob("*.toml") if not p.name.endswith(".expected.toml"))
URL = "https://pkgs.dev.azure.com/org/proj/_packaging/team-feed/pypi/simple/"
NEW_URL = "https://pkgs.dev.azure.com/org/other/_packaging/team-feed/pypi/simple/"
EOLS = {"lf": "\n", "crlf": "\r\n"}
# inputs that are not meant to be valid Poetry projects after the edit
NOT_POETRY_VALID = {"empty.toml", "tricky_strings.toml"}


def corpus_text(name: str, eol: str = "\n") -> str:
    # normalise first: a checkout with core.autocrlf may have turned LF into CRLF
    text = (CORPUS / name).read_bytes().decode("utf-8").replace("\r\n", "\n")
    return text.replace("\n", eol)


def expected_name(name: str) -> str:
    return name.removesuffix(".toml") + ".expected.toml"


def doc_from_text(tmp_path: Path, text: str | bytes) -> PyprojectDocument:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return PyprojectDocument.read(path)


def add_feed(doc: PyprojectDocument) -> tuple[list[Migration], SourceChange]:
    return doc.migrate_legacy_sources(), doc.set_source("team-feed", URL, "supplemental")


def source_list(data: dict[str, Any]) -> list[dict[str, Any]]:
    sources: list[dict[str, Any]] = data.get("tool", {}).get("poetry", {}).get("source", [])
    return sources


def with_source(data: dict[str, Any], name: str, url: str, priority: str) -> dict[str, Any]:
    """``data`` plus the source (added, or url/priority updated and legacy keys removed)."""
    result = copy.deepcopy(data)
    sources = result.setdefault("tool", {}).setdefault("poetry", {}).setdefault("source", [])
    for entry in sources:
        if entry["name"].lower() == name.lower():
            entry.pop("default", None)
            entry.pop("secondary", None)
            entry["url"] = url
            entry["priority"] = priority
            return result
    sources.append({"name": name, "url": url, "priority": priority})
    return result


def migrated(data: dict[str, Any]) -> dict[str, Any]:
    result = copy.deepcopy(data)
    for entry in source_list(result):
        default, secondary = entry.pop("default", None), entry.pop("secondary", None)
        if default is True:
            entry["priority"] = "primary"
        elif secondary is True:
            entry["priority"] = "supplemental"
        elif entry.get("priority") in ("default", "secondary"):
            entry["priority"] = {"default": "primary", "secondary": "supplemental"}[
                entry["priority"]
            ]
    return result


def only_insertions(old: str, new: str) -> bool:
    """True when ``new`` is ``old`` with text inserted and nothing removed or replaced."""
    opcodes = difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes()
    return all(tag in ("equal", "insert") for tag, *_ in opcodes)


def removed_lines(old: str, new: str) -> list[str]:
    """Lines of ``old`` that ``new`` no longer has as they were."""
    diff = difflib.ndiff(old.splitlines(), new.splitlines())
    return [line[2:] for line in diff if line.startswith("- ")]


def has_lone_lf(text: str) -> bool:
    return "\n" in text.replace("\r\n", "")


def same_data(a: object, b: object) -> bool:
    # NaN-safe comparison of unwrapped TOML data
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


# ---------------------------------------------------------------------------------------------
# Corpus


def test_corpus_is_big_enough() -> None:
    assert len(INPUTS) >= 12
    for name in INPUTS:
        assert (CORPUS / expected_name(name)).exists(), f"{name} has no expected output"


@pytest.mark.parametrize("eol", EOLS)
@pytest.mark.parametrize("name", INPUTS)
def test_corpus_add_feed_exact_bytes(tmp_path: Path, name: str, eol: str) -> None:
    # a file without any newline (empty.toml) has no style to keep: new lines get LF
    newline = EOLS[eol] if "\n" in corpus_text(name) else "\n"
    source = corpus_text(name, newline)
    doc = doc_from_text(tmp_path, source)
    add_feed(doc)
    if os.environ.get("UPDATE_GOLDEN") and eol == "lf":
        (CORPUS / expected_name(name)).write_bytes(doc.text.encode("utf-8"))
    expected = corpus_text(expected_name(name), newline)
    assert doc.text == expected
    doc.write()
    assert (tmp_path / "pyproject.toml").read_bytes() == expected.encode("utf-8")
    if newline == "\r\n":
        assert not has_lone_lf(doc.text)


@pytest.mark.parametrize("eol", EOLS)
@pytest.mark.parametrize("name", INPUTS)
def test_corpus_keeps_all_other_data(tmp_path: Path, name: str, eol: str) -> None:
    text = corpus_text(name, EOLS[eol])
    doc = doc_from_text(tmp_path, text)
    before = doc.data
    _, change = add_feed(doc)
    assert change.new_url == URL
    assert same_data(doc.data, with_source(migrated(before), "team-feed", URL, "supplemental"))
    # what the TOML parser, not our scanner, reads back
    assert same_data(load_toml(doc.text), doc.data)
    if sys.version_info >= (3, 11):
        # an independent parser agrees (it normalises CRLF inside multi-line strings, so
        # compare it with itself)
        tomllib = pytest.importorskip("tomllib")
        assert same_data(
            tomllib.loads(doc.text),
            with_source(migrated(tomllib.loads(text)), "team-feed", URL, "supplemental"),
        )


@pytest.mark.parametrize("name", INPUTS)
def test_corpus_add_only_inserts(tmp_path: Path, name: str) -> None:
    doc = doc_from_text(tmp_path, corpus_text(name))
    migrations, change = add_feed(doc)
    if change.kind == "added" and not migrations:
        assert only_insertions(corpus_text(name), doc.text)


@pytest.mark.parametrize("name", INPUTS)
def test_corpus_second_run_is_unchanged(tmp_path: Path, name: str) -> None:
    doc = doc_from_text(tmp_path, corpus_text(expected_name(name)))
    migrations, change = add_feed(doc)
    assert migrations == []
    assert change.kind == "unchanged"
    assert not doc.changed
    assert doc.diff() == ""


@pytest.mark.parametrize("name", sorted(set(INPUTS) - NOT_POETRY_VALID))
def test_corpus_result_is_a_valid_poetry_2_project(name: str) -> None:
    from poetry.factory import Factory

    data = load_toml(corpus_text(expected_name(name)))
    assert Factory.validate(data) == {"errors": [], "warnings": []}


# ---------------------------------------------------------------------------------------------
# Adding


def test_add_appends_after_last_source_even_in_the_middle(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, corpus_text("sources_middle.toml"))
    change = doc.set_source("team-feed", URL, "supplemental")
    assert change == SourceChange("added", "team-feed", None, URL, None, "supplemental")
    block = (
        f'[[tool.poetry.source]]\nname = "team-feed"\nurl = "{URL}"\npriority = "supplemental"\n'
    )
    original = corpus_text("sources_middle.toml")
    anchor = original.index("[tool.poetry.dependencies]")
    assert doc.text == original[:anchor] + block + "\n" + original[anchor:]


def test_add_at_end_with_one_blank_line(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, '[project]\nname = "x"\n')
    doc.set_source("a", "https://a/", "explicit")
    assert doc.text == (
        '[project]\nname = "x"\n\n[[tool.poetry.source]]\nname = "a"\nurl = "https://a/"\n'
        'priority = "explicit"\n'
    )


def test_add_escapes_strings(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, "")
    doc.set_source('we"ird\\', "https://x/é\t", "primary")
    assert source_list(doc.data) == [
        {"name": 'we"ird\\', "url": "https://x/é\t", "priority": "primary"}
    ]


def test_add_crlf_from_explicit_bytes(tmp_path: Path) -> None:
    raw = (
        b'[tool.poetry]\r\nname = "crlf"\r\n\r\n'
        b'[[tool.poetry.source]]\r\nname = "a"\r\nurl = "u"\r\n'
    )
    doc = doc_from_text(tmp_path, raw)
    doc.set_source("b", "https://b/", "explicit")
    doc.write()
    written = (tmp_path / "pyproject.toml").read_bytes()
    assert written == raw + (
        b'\r\n[[tool.poetry.source]]\r\nname = "b"\r\nurl = "https://b/"\r\n'
        b'priority = "explicit"\r\n'
    )
    assert b"\n" not in written.replace(b"\r\n", b"")


def test_add_to_multiline_inline_array_without_trailing_comma(tmp_path: Path) -> None:
    text = '[tool.poetry]\nsource = [\n  {name = "a", url = "u"}  # a\n]\n'
    doc = doc_from_text(tmp_path, text)
    doc.set_source("b", "v", "explicit")
    assert doc.text == (
        '[tool.poetry]\nsource = [\n  {name = "a", url = "u"},  # a\n'
        '  {name = "b", url = "v", priority = "explicit"}\n]\n'
    )


def test_add_to_empty_inline_array(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, "[tool.poetry]\nsource = []\n")
    doc.set_source("b", "v", "explicit")
    assert (
        doc.text == '[tool.poetry]\nsource = [{ name = "b", url = "v", priority = "explicit" }]\n'
    )


def test_add_mirrors_compact_literal_style(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, "[[tool.poetry.source]]\nname='a'\nurl='u'\n")
    doc.set_source("b", "v", "explicit")
    assert doc.text.endswith("\n[[tool.poetry.source]]\nname='b'\nurl='v'\npriority='explicit'\n")


def test_add_refuses_when_tool_poetry_is_an_inline_table(tmp_path: Path) -> None:
    text = 'tool = { poetry = { name = "x" } }\n'
    doc = doc_from_text(tmp_path, text)
    with pytest.raises(
        PyprojectError, match=r"; add \[\[tool\.poetry\.source\]\] with name = \"a\", .* by hand$"
    ):
        doc.set_source("a", "https://a/", "primary")
    assert doc.text == text
    assert not doc.changed


# ---------------------------------------------------------------------------------------------
# Updating


def test_update_changes_only_the_values(tmp_path: Path) -> None:
    text = corpus_text("update_existing.toml")
    doc = doc_from_text(tmp_path, text)
    change = doc.set_source("team-feed", NEW_URL, "explicit")
    old_url = "https://pkgs.dev.azure.com/org/old-project/_packaging/team-feed/pypi/simple/"
    assert change == SourceChange("updated", "team-feed", old_url, NEW_URL, "explicit", "explicit")
    assert doc.text == text.replace(old_url, NEW_URL)


def test_update_priority_only(tmp_path: Path) -> None:
    text = corpus_text("links_indexed.toml")
    doc = doc_from_text(tmp_path, text)
    change = doc.set_source("flat", "https://example.com/flat/", "supplemental")
    assert change.kind == "updated"
    assert doc.text == text.replace(
        'indexed = true\npriority = "explicit"', 'indexed = true\npriority = "supplemental"'
    )


def test_update_unchanged_when_same(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, corpus_text("links_indexed.toml"))
    change = doc.set_source("flat", "https://example.com/flat/", "explicit")
    assert change == SourceChange(
        "unchanged",
        "flat",
        "https://example.com/flat/",
        "https://example.com/flat/",
        "explicit",
        "explicit",
    )
    assert not doc.changed


def test_update_matches_names_case_insensitively_and_keeps_spelling(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, '[[tool.poetry.source]]\nname = "Team-Feed"\nurl = "old"\n')
    change = doc.set_source("team-feed", URL, "primary")
    assert change.name == "Team-Feed"
    assert doc.text == (
        f'[[tool.poetry.source]]\nname = "Team-Feed"\nurl = "{URL}"\npriority = "primary"\n'
    )


def test_update_adds_missing_url_after_name(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, corpus_text("links_indexed.toml"))
    doc.set_source("PyPI", "https://pypi.org/simple/", "primary")
    assert doc.text.endswith(
        'name = "PyPI"\nurl = "https://pypi.org/simple/"\npriority = "primary"\n'
    )


def test_update_inline_source_in_place(tmp_path: Path) -> None:
    text = corpus_text("inline_array.toml")
    doc = doc_from_text(tmp_path, text)
    doc.set_source("mirror", "https://new.example.com/simple/", "explicit")
    assert doc.text == text.replace(
        '{ name = "mirror", url = "https://mirror.example.com/simple/", priority = "primary" }',
        '{ name = "mirror", url = "https://new.example.com/simple/", priority = "explicit" }',
    )


def test_update_inline_source_adds_priority(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, corpus_text("inline_array_single_line.toml"))
    doc.set_source("mirror", "https://mirror.example.com/simple/", "primary")
    assert (
        'source = [{name = "mirror", url = "https://mirror.example.com/simple/", '
        'priority = "primary"}]\n'
    ) in doc.text


def test_update_legacy_source_replaces_legacy_line(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, corpus_text("update_legacy.toml"))
    change = doc.set_source("team-feed", URL, "explicit")
    assert change.kind == "updated"
    assert doc.text.endswith(f'url = "{URL}"\npriority = "explicit"  # set by the old helper\n')


def test_update_refuses_duplicate_names(tmp_path: Path) -> None:
    text = '[[tool.poetry.source]]\nname = "a"\n\n[[tool.poetry.source]]\nname = "A"\n'
    doc = doc_from_text(tmp_path, text)
    with pytest.raises(SourceConflictError, match="2 sources named 'a'"):
        doc.set_source("a", "u", "primary")


@pytest.mark.parametrize("priority", ["secondary", "default", "Primary", ""])
def test_set_source_refuses_bad_priority(tmp_path: Path, priority: str) -> None:
    doc = doc_from_text(tmp_path, "")
    with pytest.raises(UsageError, match="primary, supplemental, explicit"):
        doc.set_source("a", "u", priority)


# ---------------------------------------------------------------------------------------------
# Legacy keys


def test_sources_reports_legacy_keys(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, corpus_text("legacy_all.toml"))
    sources = doc.sources()
    assert [(s.name, s.priority, s.legacy_keys) for s in sources] == [
        ("sec", None, ("secondary",)),
        ("def", None, ("default",)),
        ("prio-sec", "secondary", ()),
        ("prio-def", "default", ()),
        ("false-flags", None, ("secondary", "default")),
        ("both", "explicit", ("secondary",)),
    ]
    assert all(s.needs_migration for s in sources)
    assert [s.modern_priority for s in sources] == [
        "supplemental",
        "primary",
        "supplemental",
        "primary",
        None,
        "supplemental",
    ]
    assert sources[0] == Source("sec", "https://sec.example.com/simple/", None, ("secondary",))


def test_migrate_all_kinds(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, corpus_text("legacy_all.toml"))
    migrations = doc.migrate_legacy_sources()
    assert migrations == [
        Migration("sec", "secondary = true", "supplemental"),
        Migration("def", "default = true", "primary"),
        Migration("prio-sec", 'priority = "secondary"', "supplemental"),
        Migration("prio-def", 'priority = "default"', "primary"),
        Migration("false-flags", "secondary = false, default = false", None),
        Migration("both", 'priority = "explicit", secondary = true', "supplemental"),
    ]
    assert not any(s.needs_migration for s in doc.sources())
    assert doc.migrate_legacy_sources() == []
    from poetry.factory import Factory

    assert Factory.validate(doc.data)["errors"] == []


def test_migrate_default_wins_over_secondary(tmp_path: Path) -> None:
    text = '[[tool.poetry.source]]\nname = "a"\nsecondary = true\ndefault = true\n'
    doc = doc_from_text(tmp_path, text)
    assert doc.migrate_legacy_sources() == [
        Migration("a", "secondary = true, default = true", "primary")
    ]
    assert doc.text == '[[tool.poetry.source]]\nname = "a"\npriority = "primary"\n'


def test_migrate_keeps_comment_of_removed_key(tmp_path: Path) -> None:
    text = '[[tool.poetry.source]]\nname = "a"\n  default = false  # old\nurl = "u"'
    doc = doc_from_text(tmp_path, text)
    doc.migrate_legacy_sources()
    assert doc.text == '[[tool.poetry.source]]\nname = "a"\n  # old\nurl = "u"'


def test_migrate_removes_last_line_without_final_newline(tmp_path: Path) -> None:
    text = '[[tool.poetry.source]]\r\nname = "a"\r\nsecondary = false'
    doc = doc_from_text(tmp_path, text)
    doc.migrate_legacy_sources()
    assert doc.text == '[[tool.poetry.source]]\r\nname = "a"'


def test_migrate_inline_sources(tmp_path: Path) -> None:
    text = (
        "[tool.poetry]\nsource = [\n"
        '  {default = false, secondary = true, name = "a", url = "u"},\n'
        '  {name = "b", default=true},\n'
        '  {name = "c", priority = "secondary", secondary = false},\n'
        "]\n"
    )
    doc = doc_from_text(tmp_path, text)
    assert [m.new_priority for m in doc.migrate_legacy_sources()] == [
        "supplemental",
        "primary",
        "supplemental",
    ]
    assert doc.text == (
        "[tool.poetry]\nsource = [\n"
        '  {priority = "supplemental", name = "a", url = "u"},\n'
        '  {name = "b", priority="primary"},\n'
        '  {name = "c", priority = "supplemental"},\n'
        "]\n"
    )


def test_migrate_nothing_to_do(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, corpus_text("sources_commented.toml"))
    assert doc.migrate_legacy_sources() == []
    assert not doc.changed


# ---------------------------------------------------------------------------------------------
# Reading


def test_read_missing_file(tmp_path: Path) -> None:
    expected = (
        f"no pyproject.toml in {tmp_path}: "
        "run the command in your project's directory or pass -C/--directory"
    )
    with pytest.raises(PyprojectError) as by_file:
        PyprojectDocument.read(tmp_path / "pyproject.toml")
    with pytest.raises(PyprojectError) as by_dir:
        PyprojectDocument.read(tmp_path)
    assert str(by_file.value) == str(by_dir.value) == expected


def test_read_directory_argument(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    doc = PyprojectDocument.read(tmp_path)
    assert doc.path == tmp_path / "pyproject.toml"
    assert doc.data == {"project": {"name": "x"}}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('[tool.poetry]\nname = "x"\nversion = \n', "(at line 3, column 11)"),
        ("a = 1\na = 2\n", "(at line 2, column 6)"),
        ('[[tool.poetry.source]]\nname = "a\n', "line 2"),
        ("[a]\nb.c = 1\n[a.b]\n", "twice (at line 3"),
    ],
)
def test_read_invalid_toml(tmp_path: Path, text: str, where: str) -> None:
    with pytest.raises(PyprojectError) as error:
        doc_from_text(tmp_path, text)
    message = str(error.value)
    assert "is not valid TOML" in message
    assert where in message
    assert message.endswith("fix the syntax and run again")
    assert "\n" not in message


def test_read_not_utf8(tmp_path: Path) -> None:
    with pytest.raises(PyprojectError, match="not UTF-8"):
        doc_from_text(tmp_path, b'[project]\nname = "caf\xe9"\n')


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_read_unreadable(tmp_path: Path) -> None:
    # a symlink loop: unreadable even for root (permission bits would not stop root)
    (tmp_path / "pyproject.toml").symlink_to(tmp_path / "loop.toml")
    (tmp_path / "loop.toml").symlink_to(tmp_path / "pyproject.toml")
    with pytest.raises(PyprojectError, match="cannot read"):
        PyprojectDocument.read(tmp_path / "pyproject.toml")


def test_read_does_not_need_a_poetry_project(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, corpus_text("pep621_only.toml"))
    assert doc.sources() == []
    assert doc.data["project"]["name"] == "pep621-only"
    legacy = doc_from_text(tmp_path, corpus_text("legacy_all.toml"))
    assert len(legacy.sources()) == 6


def test_sources_shape_errors(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, '[tool.poetry.source]\nname = "a"\n')
    with pytest.raises(PyprojectError, match="must be an array of tables"):
        doc.sources()
    with pytest.raises(PyprojectError, match="must be an array of tables"):
        doc.set_source("a", "u", "primary")
    doc = doc_from_text(tmp_path, '[[tool.poetry.source]]\nurl = "u"\n')
    with pytest.raises(PyprojectError, match=r"source #1 .* has no name"):
        doc.sources()


def test_data_is_a_copy(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, '[project]\nname = "x"\n')
    doc.data["project"]["name"] = "changed"
    assert doc.data == {"project": {"name": "x"}}


def test_byte_order_mark_is_kept(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, b'\xef\xbb\xbf[project]\nname = "x"\n')
    assert doc.text.startswith("[project]")
    doc.set_source("a", "u", "primary")
    doc.write()
    assert (tmp_path / "pyproject.toml").read_bytes().startswith(b"\xef\xbb\xbf[project]\nname")


# ---------------------------------------------------------------------------------------------
# Diff


def test_diff(tmp_path: Path) -> None:
    doc = doc_from_text(tmp_path, '[project]\r\nname = "x"')
    assert doc.diff() == ""
    doc.set_source("a", "u", "primary")
    assert doc.diff() == (
        "--- a/pyproject.toml\n+++ b/pyproject.toml\n@@ -1,2 +1,7 @@\n [project]\n"
        '-name = "x"\n\\ No newline at end of file\n+name = "x"\n+\n'
        '+[[tool.poetry.source]]\n+name = "a"\n+url = "u"\n+priority = "primary"\n'
    )


# ---------------------------------------------------------------------------------------------
# Writing


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o755])
def test_write_is_atomic_and_keeps_mode(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n')
    path.chmod(mode)
    doc = PyprojectDocument.read(path)
    doc.set_source("a", "u", "primary")
    doc.write()
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_text() == doc.text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]
    assert not doc.changed
    assert doc.diff() == ""


def test_restore_undoes_a_write(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_bytes(b'[project]\r\nname = "x"\r\n')
    path.chmod(0o640)
    doc = PyprojectDocument.read(path)
    original = doc.original_text
    doc.set_source("a", "u", "primary")
    doc.write()
    assert doc.original_text == doc.text != original
    doc.restore(original)
    assert path.read_bytes() == b'[project]\r\nname = "x"\r\n'
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert doc.sources() == []
    assert not doc.changed


def test_write_nothing_when_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(corpus_text("links_indexed.toml"))
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = path.stat()
    doc = PyprojectDocument.read(path)
    doc.set_source("flat", "https://example.com/flat/", "explicit")
    doc.migrate_legacy_sources()
    doc.write()
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_write_failure_leaves_file_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n')
    doc = PyprojectDocument.read(path)
    doc.set_source("a", "u", "primary")

    def broken_fsync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(PyprojectError, match="Input/output error; the file was not changed"):
        doc.write()
    assert path.read_text() == '[project]\nname = "x"\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]
    assert doc.changed


def test_write_refuses_when_changed_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n')
    doc = PyprojectDocument.read(path)
    doc.set_source("a", "u", "primary")
    path.write_text('[project]\nname = "y"\n')
    with pytest.raises(PyprojectError, match="changed while we were writing it"):
        doc.write()
    assert path.read_text() == '[project]\nname = "y"\n'


def test_write_refuses_read_only_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n')
    path.chmod(0o444)
    doc = PyprojectDocument.read(path)
    doc.set_source("a", "u", "primary")
    # root may write anyway; ask as an ordinary user would be answered
    monkeypatch.setattr(os, "access", lambda p, mode: mode != os.W_OK)
    with pytest.raises(PyprojectError, match="is read-only"):
        doc.write()
    assert path.read_text() == '[project]\nname = "x"\n'


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_write_refuses_read_only_file_whoever_runs_it(tmp_path: Path) -> None:
    # No os.access stand-in: as root, os.access says yes, and the mode bits must still win.
    path = tmp_path / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n')
    path.chmod(0o444)
    doc = PyprojectDocument.read(path)
    doc.set_source("a", "u", "primary")
    with pytest.raises(PyprojectError, match="is read-only"):
        doc.write()
    assert path.read_text() == '[project]\nname = "x"\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pyproject.toml"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_write_follows_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.toml"
    real.write_text('[project]\nname = "x"\n')
    link = tmp_path / "pyproject.toml"
    link.symlink_to(real)
    doc = PyprojectDocument.read(tmp_path)
    doc.set_source("a", "u", "primary")
    doc.write()
    assert link.is_symlink()
    assert real.read_text() == doc.text


# ---------------------------------------------------------------------------------------------
# Property: for generated documents, set_source changes exactly the one source


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=6)
_COMMENT = _TEXT.map(lambda s: "# " + s)
_KEYS = ["a", "b", "c_d", "e-f", '"quoted key"', "'lit.key'", "x.y"]
_TABLES = ["tool.poetry", "project", "build-system", "tool.ruff", "tool.poetry.group.dev"]
_NAMES = ["alpha", "beta", "team-feed", "gamma"]
_ANY_PRIORITY = ["primary", "supplemental", "explicit", "secondary", "default"]
_LEGACY_WORDS = ("secondary", "default")


def _basic(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


_SCALARS = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.booleans().map(lambda b: "true" if b else "false"),
    _TEXT.map(_basic),
    _TEXT.filter(lambda s: "'" not in s).map(lambda s: f"'{s}'"),
    st.just("1979-05-27 07:32:00Z"),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3).map(lambda xs: "[" + ", ".join(xs) + "]"),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: "[\n  " + ",\n  ".join(xs) + ",\n]"),
        st.dictionaries(st.sampled_from(["k", "l"]), inner, max_size=2).map(
            lambda d: "{ " + ", ".join(f"{k} = {v}" for k, v in d.items()) + " }"
        ),
    ),
    max_leaves=4,
)


@st.composite
def _lines_of(draw: st.DrawFn, pairs: list[tuple[str, str]]) -> list[str]:
    indent = draw(st.sampled_from(["", "  ", "\t"]))
    equals = draw(st.sampled_from([" = ", "=", "  =  "]))
    lines = []
    for key, value in pairs:
        if draw(st.booleans()):
            lines.append(indent + draw(_COMMENT))
        comment = draw(st.one_of(st.just(""), _COMMENT.map(lambda c: "  " + c)))
        lines.append(f"{indent}{key}{equals}{value}{comment}")
    lines.extend([""] * draw(st.integers(0, 2)))
    return lines


@st.composite
def _documents(draw: st.DrawFn) -> tuple[str, str]:
    """(text, newline) of a small valid pyproject-like document."""
    blocks: list[list[str]] = []
    tables = draw(st.lists(st.sampled_from(_TABLES), unique=True, max_size=4))
    names = draw(st.lists(st.sampled_from(_NAMES), unique=True, max_size=3))
    sources = []
    for name in names:
        pairs = [("name", _basic(name)), ("url", _basic(f"https://{name}.example/simple/"))]
        if draw(st.booleans()):
            pairs.append(("priority", _basic(draw(st.sampled_from(_ANY_PRIORITY)))))
        for key in draw(st.lists(st.sampled_from(["secondary", "default"]), unique=True)):
            pairs.append((key, draw(st.sampled_from(["true", "false"]))))
        if draw(st.booleans()):
            pairs.append(("links" if draw(st.booleans()) else "indexed", "true"))
        sources.append(draw(st.permutations(pairs)))
    inline = bool(sources) and draw(st.booleans())
    if inline and "tool.poetry" not in tables:
        tables.append("tool.poetry")
    for table in tables:
        pairs = [
            (key, draw(_VALUES))
            for key in draw(st.lists(st.sampled_from(_KEYS), unique=True, max_size=3))
        ]
        if inline and table == "tool.poetry":
            items = [
                "{ " + ", ".join(f"{key} = {value}" for key, value in pairs_) + " }"
                for pairs_ in sources
            ]
            if draw(st.booleans()):
                pairs.append(("source", "[" + ", ".join(items) + "]"))
            else:
                pairs.append(("source", "[\n    " + ",\n    ".join(items) + ",\n]"))
        blocks.append([f"[{table}]", *draw(_lines_of(pairs))])
    if not inline:
        for pairs in sources:
            blocks.append(["[[tool.poetry.source]]", *draw(_lines_of(pairs))])
    blocks = draw(st.permutations(blocks))
    root = [
        (key, draw(_VALUES)) for key in draw(st.lists(st.sampled_from(["r", "s"]), unique=True))
    ]
    lines = draw(_lines_of(root)) if root else []
    for block in blocks:
        lines.extend(block)
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    text = "\n".join(lines)
    if draw(st.booleans()):
        text += "\n"
    # generated strings hold no raw newline, so this changes line endings only
    return text.replace("\n", newline), newline


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    document=_documents(),
    name=st.sampled_from(["team-feed", "Alpha", "delta"]),
    priority=st.sampled_from(["primary", "supplemental", "explicit"]),
)
def test_property_set_source_changes_exactly_one_source(
    document: tuple[str, str], name: str, priority: str
) -> None:
    text, newline = document
    doc = PyprojectDocument(Path("pyproject.toml"), text.encode("utf-8"))
    before = doc.data
    change = doc.set_source(name, URL, priority)
    assert same_data(doc.data, with_source(before, name, URL, priority))
    assert same_data(load_toml(doc.text), doc.data)
    if change.kind == "added":
        assert only_insertions(text, doc.text)
    else:
        words = ("url", "priority", *_LEGACY_WORDS)
        assert all(any(w in line for w in words) for line in removed_lines(text, doc.text))
    if newline == "\r\n" and newline in text:
        assert not has_lone_lf(doc.text)
    assert doc.set_source(name, URL, priority).kind == "unchanged"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_documents())
def test_property_migration_changes_only_legacy_keys(document: tuple[str, str]) -> None:
    text, newline = document
    doc = PyprojectDocument(Path("pyproject.toml"), text.encode("utf-8"))
    before = doc.data
    legacy = [s.name for s in doc.sources() if s.needs_migration]
    migrations = doc.migrate_legacy_sources()
    assert [m.source_name for m in migrations] == legacy
    assert same_data(doc.data, migrated(before))
    assert [m.new_priority for m in migrations] == [
        next(e.get("priority") for e in source_list(doc.data) if e["name"] == name)
        for name in legacy
    ]
    words = ("priority", *_LEGACY_WORDS)
    assert all(any(w in line for w in words) for line in removed_lines(text, doc.text))
    if newline == "\r\n" and newline in text:
        assert not has_lone_lf(doc.text)
    assert not any(s.needs_migration for s in doc.sources())
    assert doc.migrate_legacy_sources() == []
