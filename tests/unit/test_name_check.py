from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from poetry_ado_plugin.audit import PrivateDependency
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.name_check import SCHEMA
from poetry_ado_plugin.name_check import Check
from poetry_ado_plugin.name_check import CheckRequest
from poetry_ado_plugin.name_check import Finding
from poetry_ado_plugin.name_check import Report
from poetry_ado_plugin.name_check import Verdict
from poetry_ado_plugin.name_check import render_json
from poetry_ado_plugin.name_check import run_checks
from poetry_ado_plugin.names import Prefix
from poetry_ado_plugin.pyproject import configured_prefix
from poetry_ado_plugin.pyproject import project_name
from tests.public_index_server import PublicIndexServer
from tests.public_index_server import closed_port_url


if TYPE_CHECKING:
    from pathlib import Path


KNOWN = ("requests", "Foo.Bar", "kpv-existing", "kpv_other", "f00bar", "kpv-c0re")
FEED = "https://pkgs.dev.azure.com/contoso/Fabrikam/_packaging/kpv/pypi/simple/"


pytestmark = pytest.mark.public_index(KNOWN)


def verdicts(report: Report, name: str) -> dict[str, str]:
    [found] = [n for n in report.names if n.name == name]
    return {finding.check: finding.verdict.value for finding in found.findings}


def reason(report: Report, name: str, check: str) -> str:
    [found] = [n for n in report.names if n.name == name]
    [finding] = [f for f in found.findings if f.check == check]
    return finding.reason


def dependency(
    name: str, *, pinned: bool = True, priority: str | None = "explicit"
) -> PrivateDependency:
    return PrivateDependency(
        name=name,
        normalized=name.lower().replace("_", "-"),
        source="kpv",
        source_url=FEED,
        source_priority=priority,
        pinned=pinned,
        found_in=("pyproject.toml",) if pinned else ("poetry.lock",),
    )


def test_every_name_verdict(public_index: PublicIndexServer, tmp_path: Path) -> None:
    request = CheckRequest(
        names=("kpv_tools", "Foo.Bar", "json", "bad name", "kpv-fo0-bar", "FOOBAR"),
        prefix=Prefix.parse("kpv-", origin="--prefix"),
        index_url=public_index.url,
        similar=True,
        cache_dir=tmp_path,
    )
    report = run_checks(request)

    assert verdicts(report, "kpv_tools") == {
        "valid": "ok",
        "prefix": "ok",
        "stdlib": "ok",
        "public": "ok",
        "similar": "ok",
    }
    assert reason(report, "kpv_tools", "valid") == "valid; normal form kpv-tools"
    assert verdicts(report, "Foo.Bar") == {
        "valid": "ok",
        "prefix": "problem",
        "stdlib": "ok",
        "public": "problem",
        "similar": "warning",
    }
    assert "dependency confusion" in reason(report, "Foo.Bar", "public")
    assert reason(report, "Foo.Bar", "prefix") == (
        "does not start with the prefix kpv- (e.g. kpv-foo-bar)"
    )
    assert reason(report, "Foo.Bar", "similar").startswith("too similar to f00bar on 127.0.0.1:")
    assert verdicts(report, "json")["stdlib"] == "problem"
    assert verdicts(report, "bad name") == {
        "valid": "problem",
        "prefix": "skipped",
        "stdlib": "skipped",
        "public": "skipped",
        "similar": "skipped",
    }
    # "FOOBAR" is not "foo-bar" in normal form, but it is the same to PyPI's similarity rule.
    assert verdicts(report, "FOOBAR")["public"] == "ok"
    assert verdicts(report, "FOOBAR")["similar"] == "warning"
    assert reason(report, "FOOBAR", "similar").startswith("too similar to f00bar, foo-bar on")

    assert report.prefix is not None
    assert report.prefix.public_matches == 3
    [prefix_finding] = report.prefix.findings
    assert prefix_finding.verdict is Verdict.WARNING
    assert prefix_finding.related == ("kpv-c0re", "kpv-existing", "kpv-other")
    assert report.exit_code == 1
    # the invalid name was never looked up
    assert public_index.count("/simple/bad name/") == 0


def test_no_prefix_is_said_and_not_a_problem(public_index: PublicIndexServer) -> None:
    report = run_checks(CheckRequest(names=("kpv-tools",), index_url=public_index.url))
    assert verdicts(report, "kpv-tools")["prefix"] == "skipped"
    assert reason(report, "kpv-tools", "prefix") == (
        "no prefix configured (set [tool.poetry-ado] prefix or pass --prefix)"
    )
    assert report.prefix is None
    assert report.exit_code == 0
    assert report.unchecked_summary() is None


def test_prefix_public_check_needs_similar(public_index: PublicIndexServer) -> None:
    report = run_checks(
        CheckRequest(
            names=("kpv-tools",),
            prefix=Prefix.parse("kpv-", origin="x"),
            index_url=public_index.url,
        )
    )
    assert report.prefix is not None
    assert [f.verdict for f in report.prefix.findings] == [Verdict.SKIPPED]
    assert public_index.count("/simple/") == 0
    assert report.exit_code == 0


def test_warnings_alone_exit_zero(public_index: PublicIndexServer, tmp_path: Path) -> None:
    report = run_checks(
        CheckRequest(
            names=("f0o-bar2",), index_url=public_index.url, similar=True, cache_dir=tmp_path
        )
    )
    assert report.exit_code == 0
    report = run_checks(
        CheckRequest(
            names=("fo0bar",), index_url=public_index.url, similar=True, cache_dir=tmp_path
        )
    )
    assert verdicts(report, "fo0bar")["similar"] == "warning"
    assert report.exit_code == 0


def test_unreachable_index_exits_2_with_one_line_summary(tmp_path: Path) -> None:
    url = closed_port_url()
    report = run_checks(
        CheckRequest(names=("kpv-tools",), index_url=url, similar=True, cache_dir=tmp_path)
    )
    assert verdicts(report, "kpv-tools")["public"] == "could-not-check"
    assert verdicts(report, "kpv-tools")["similar"] == "could-not-check"
    assert report.exit_code == 2
    summary = report.unchecked_summary()
    assert summary is not None
    assert "\n" not in summary
    assert summary.startswith(f"2 checks could not be done against {url}: could not connect to")


def test_server_error_exits_2(public_index: PublicIndexServer) -> None:
    public_index.fail_all = True
    report = run_checks(CheckRequest(names=("kpv-tools",), index_url=public_index.url))
    assert verdicts(report, "kpv-tools")["public"] == "could-not-check"
    assert "answered HTTP 500" in reason(report, "kpv-tools", "public")
    assert report.exit_code == 2


def test_a_problem_wins_over_could_not_check() -> None:
    report = run_checks(CheckRequest(names=("json",), index_url=closed_port_url()))
    assert verdicts(report, "json")["stdlib"] == "problem"
    assert verdicts(report, "json")["public"] == "could-not-check"
    assert report.exit_code == 1


def test_dependency_findings(public_index: PublicIndexServer) -> None:
    dependencies = (
        dependency("kpv-core"),
        dependency("kpv-existing"),
        dependency("kpv-unpinned", pinned=False, priority="supplemental"),
        dependency("kpv-primary", pinned=False, priority="primary"),
        dependency("kpv-explicit-only-locked", pinned=False, priority="explicit"),
        dependency("kpv-orphan", pinned=False, priority=None),
    )
    report = run_checks(
        CheckRequest(names=("kpv-app",), index_url=public_index.url, dependencies=dependencies)
    )
    assert report.dependencies is not None
    found = {d.dependency.name: {f.check: f for f in d.findings} for d in report.dependencies}
    assert found["kpv-core"][Check.PUBLIC].verdict is Verdict.OK
    assert found["kpv-core"][Check.PIN].verdict is Verdict.OK
    assert found["kpv-core"][Check.PIN].reason == 'pinned: source = "kpv" (explicit)'
    assert found["kpv-existing"][Check.PUBLIC].verdict is Verdict.PROBLEM
    unpinned = found["kpv-unpinned"][Check.PIN]
    assert unpinned.verdict is Verdict.WARNING
    assert 'set priority = "explicit" on source kpv and source = "kpv"' in unpinned.reason
    assert found["kpv-primary"][Check.PIN].verdict is Verdict.WARNING
    assert found["kpv-explicit-only-locked"][Check.PIN].verdict is Verdict.WARNING
    assert "not a source in pyproject.toml" in found["kpv-orphan"][Check.PIN].reason
    assert report.exit_code == 1
    # one lookup per distinct name, the project name included
    assert public_index.count() == 7


def locked(name: str, version: str, *digests: str) -> PrivateDependency:
    """A dependency poetry.lock takes from the feed, with the files' digests it records."""
    return PrivateDependency(
        name=name,
        normalized=name.lower(),
        source="kpv",
        source_url=FEED,
        source_priority="supplemental",
        pinned=False,
        found_in=("poetry.lock",),
        locked_version=version,
        locked_sha256=frozenset(digests),
    )


def test_public_packages_through_the_feeds_upstream_are_not_private(
    public_index: PublicIndexServer,
) -> None:
    requests_wheel = public_index.add_package("requests", "2.32.3")
    public_index.add_package("requests", "2.31.0")
    shadow = public_index.add_package("kpv-shadow", "1.0")
    dependencies = (
        locked("requests", "2.32.3", requests_wheel.sha256),
        locked("kpv-shadow", "1.0", "0" * 64),  # the feed's own file, another digest
        locked("kpv-shadow2", "2.0", shadow.sha256),  # no such public project
        locked("requests-ish", "2.32.3", requests_wheel.sha256),
    )
    public_index.add("requests-ish")  # a public name without that version
    report = run_checks(
        CheckRequest(names=("kpv-app",), index_url=public_index.url, dependencies=dependencies)
    )
    assert report.dependencies is not None
    found = {d.dependency.name: d for d in report.dependencies}

    upstream = found["requests"]
    assert upstream.verdict is Verdict.UPSTREAM
    [public, pin] = upstream.findings
    assert public.verdict is Verdict.UPSTREAM
    assert "came through the feed's upstream source" in public.reason
    assert "from kpv" in public.reason
    assert pin.verdict is Verdict.SKIPPED

    shadowing = found["kpv-shadow"].findings[0]
    assert shadowing.verdict is Verdict.PROBLEM
    assert shadowing.reason.startswith("shadows a public name")
    assert found["requests-ish"].findings[0].verdict is Verdict.PROBLEM
    assert "a version that is not on" in found["requests-ish"].findings[0].reason
    # not on the public index: private, the pin check applies as before
    assert found["kpv-shadow2"].findings[0].verdict is Verdict.OK
    assert found["kpv-shadow2"].findings[1].verdict is Verdict.WARNING

    assert report.exit_code == 1
    assert report.counts()["upstream"] == 1
    document = json.loads(render_json(report))
    by_name = {d["name"]: d for d in document["dependencies"]}
    assert by_name["requests"]["verdict"] == "upstream"
    assert by_name["requests"]["checks"][0]["verdict"] == "upstream"


def test_only_upstream_packages_exit_zero(public_index: PublicIndexServer) -> None:
    wheel = public_index.add_package("numpy", "2.1.0")
    sdist = public_index.add_package("numpy", "2.1.0", sdist=True)
    report = run_checks(
        CheckRequest(
            names=("kpv-app",),
            index_url=public_index.url,
            dependencies=(locked("numpy", "2.1", wheel.sha256, sdist.sha256),),
        )
    )
    assert report.exit_code == 0


def test_no_private_dependencies(public_index: PublicIndexServer) -> None:
    report = run_checks(
        CheckRequest(names=("kpv-app",), index_url=public_index.url, dependencies=())
    )
    assert report.dependencies == ()
    assert report.exit_code == 0


def test_json_report(public_index: PublicIndexServer, tmp_path: Path) -> None:
    report = run_checks(
        CheckRequest(
            names=("Foo.Bar",),
            prefix=Prefix.parse("KPV_", origin="x"),
            prefix_origin="pyproject.toml",
            index_url=public_index.url,
            similar=True,
            dependencies=(dependency("kpv-core"),),
            cache_dir=tmp_path,
        )
    )
    document = json.loads(render_json(report))
    assert document["schema"] == SCHEMA == 2
    assert list(document) == [
        "schema",
        "index_url",
        "exit_code",
        "summary",
        "prefix",
        "names",
        "dependencies",
        "project_list",
    ]
    assert document["exit_code"] == 1
    assert document["summary"] == {
        "ok": 4,
        "upstream": 0,
        "warning": 2,
        "problem": 2,
        "could-not-check": 0,
        "skipped": 0,
    }
    assert document["prefix"] == {
        "prefix": "KPV_",
        "normalized": "kpv-",
        "origin": "pyproject.toml",
        "public_matches": 3,
        "verdict": "warning",
        "checks": [
            {
                "check": "prefix-public",
                "verdict": "warning",
                "reason": document["prefix"]["checks"][0]["reason"],
                "related": ["kpv-c0re", "kpv-existing", "kpv-other"],
            }
        ],
    }
    [name] = document["names"]
    assert (name["name"], name["normalized"], name["verdict"]) == ("Foo.Bar", "foo-bar", "problem")
    assert [c["check"] for c in name["checks"]] == [
        "valid",
        "prefix",
        "stdlib",
        "public",
        "similar",
    ]
    assert set(name["checks"][0]) == {"check", "verdict", "reason", "related"}
    [dep] = document["dependencies"]
    assert dep == {
        "name": "kpv-core",
        "normalized": "kpv-core",
        "source": "kpv",
        "source_url": FEED,
        "source_priority": "explicit",
        "pinned": True,
        "found_in": ["pyproject.toml"],
        "groups": [],
        "verdict": "ok",
        "checks": dep["checks"],
    }
    assert [(c["check"], c["verdict"]) for c in dep["checks"]] == [("public", "ok"), ("pin", "ok")]
    assert document["project_list"]["status"] == "downloaded"
    assert document["project_list"]["projects"] == 6
    assert document["project_list"]["age_seconds"] == 0


def test_json_nulls_without_optional_parts(public_index: PublicIndexServer) -> None:
    document = json.loads(render_json(run_checks(CheckRequest(("a",), index_url=public_index.url))))
    assert document["prefix"] is None
    assert document["dependencies"] is None
    assert document["project_list"] is None


def test_worst_verdict_order() -> None:
    report = Report(
        index_url="x",
        names=(),
        prefix=None,
        dependencies=None,
    )
    assert report.exit_code == 0
    from poetry_ado_plugin.name_check import worst

    findings = [Finding("a", v, "") for v in (Verdict.OK, Verdict.UNCHECKED, Verdict.WARNING)]
    assert worst(findings) is Verdict.UNCHECKED
    assert worst([*findings, Finding("b", Verdict.PROBLEM, "")]) is Verdict.PROBLEM
    assert worst([]) is Verdict.SKIPPED


def test_project_name_and_prefix_from_pyproject() -> None:
    assert project_name({"project": {"name": "kpv-app"}}) == "kpv-app"
    assert project_name({"tool": {"poetry": {"name": "legacy-app"}}}) == "legacy-app"
    assert project_name({"project": {"version": "1"}}) is None
    assert configured_prefix({"tool": {"poetry-ado": {"prefix": "kpv-"}}}) == "kpv-"
    assert configured_prefix({"tool": {"poetry-ado": {}}}) is None
    with pytest.raises(UsageError, match=r"\[tool.poetry-ado\] prefix .* must be a string"):
        configured_prefix({"tool": {"poetry-ado": {"prefix": 3}}})


def test_every_verdict_has_a_style_in_the_text_table() -> None:
    from poetry_ado_plugin.commands.check_name import STYLES

    assert set(STYLES) == {verdict.value for verdict in Verdict}


def test_the_help_names_the_default_index() -> None:
    # Written out in the option, so that listing the command does not import public_index.
    from poetry_ado_plugin.commands.check_name import CheckNameCommand
    from poetry_ado_plugin.commands.publish import PublishCommand
    from poetry_ado_plugin.public_index import DEFAULT_INDEX_URL

    for command in (CheckNameCommand, PublishCommand):
        [index_url] = [o for o in command.options if o.name == "index-url"]
        assert index_url.description.endswith(f"Default: {DEFAULT_INDEX_URL}")
