"""``check-name``'s core: run every check on every name (and on the private dependencies),
collect one verdict and one line of reason per check, and render the result as JSON.

Verdicts: ``ok``, ``upstream`` (a dependency locked from a feed that is the public package,
served through the feed's upstream source: not private, and fine), ``warning``, ``problem``,
``could-not-check`` (the index gave no usable answer; never read as "free"), ``skipped`` (the
check does not apply). Exit code: 1 when any
check found a problem, else 2 when any could not be checked, else 0. A problem wins over
could-not-check because it is certain and needs fixing whatever the unchecked parts say."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from poetry_ado_plugin.audit import PrivateDependency
from poetry_ado_plugin.http import host_of
from poetry_ado_plugin.http import redact_credentials
from poetry_ado_plugin.names import Prefix
from poetry_ado_plugin.names import is_stdlib_name
from poetry_ado_plugin.names import is_valid_name
from poetry_ado_plugin.names import normalize
from poetry_ado_plugin.public_index import DEFAULT_INDEX_URL
from poetry_ado_plugin.public_index import PROJECT_LIST_MAX_AGE
from poetry_ado_plugin.public_index import Lookup
from poetry_ado_plugin.public_index import Presence
from poetry_ado_plugin.public_index import ProgressCallback
from poetry_ado_plugin.public_index import ProjectListCache
from poetry_ado_plugin.public_index import ProjectListResult
from poetry_ado_plugin.public_index import PublicIndex
from poetry_ado_plugin.public_index import fetch_project_list


SCHEMA = 2
# How many similar or prefix-sharing projects a reason names (JSON ``related`` holds more).
NAMED_IN_REASON = 3
MAX_RELATED = 20


class Verdict(Enum):
    OK = "ok"
    UPSTREAM = "upstream"
    WARNING = "warning"
    PROBLEM = "problem"
    UNCHECKED = "could-not-check"
    SKIPPED = "skipped"


_SEVERITY = {
    Verdict.SKIPPED: 0,
    Verdict.OK: 1,
    Verdict.UPSTREAM: 2,
    Verdict.WARNING: 3,
    Verdict.UNCHECKED: 4,
    Verdict.PROBLEM: 5,
}


class Check:
    """Check identifiers, stable across releases (they appear in the JSON report)."""

    VALID = "valid"
    PREFIX = "prefix"
    STDLIB = "stdlib"
    PUBLIC = "public"
    SIMILAR = "similar"
    PREFIX_PUBLIC = "prefix-public"
    PIN = "pin"
    UPSTREAMING = "upstreaming"


@dataclass(frozen=True)
class Finding:
    check: str
    verdict: Verdict
    reason: str
    related: tuple[str, ...] = ()


def worst(findings: Iterable[Finding]) -> Verdict:
    verdicts = [finding.verdict for finding in findings]
    return max(verdicts, key=_SEVERITY.__getitem__) if verdicts else Verdict.SKIPPED


@dataclass(frozen=True)
class NameReport:
    name: str
    normalized: str | None
    findings: tuple[Finding, ...]

    @property
    def verdict(self) -> Verdict:
        return worst(self.findings)


@dataclass(frozen=True)
class PrefixReport:
    prefix: Prefix
    origin: str
    findings: tuple[Finding, ...]
    public_matches: int | None = None

    @property
    def verdict(self) -> Verdict:
        return worst(self.findings)


@dataclass(frozen=True)
class DependencyReport:
    dependency: PrivateDependency
    findings: tuple[Finding, ...]

    @property
    def verdict(self) -> Verdict:
        return worst(self.findings)


@dataclass(frozen=True)
class Report:
    index_url: str
    names: tuple[NameReport, ...]
    prefix: PrefixReport | None = None
    dependencies: tuple[DependencyReport, ...] | None = None
    project_list: ProjectListResult | None = None

    def findings(self) -> Iterator[Finding]:
        for name in self.names:
            yield from name.findings
        if self.prefix is not None:
            yield from self.prefix.findings
        for dependency in self.dependencies or ():
            yield from dependency.findings

    def counts(self) -> dict[str, int]:
        counts = {verdict.value: 0 for verdict in Verdict}
        for finding in self.findings():
            counts[finding.verdict.value] += 1
        return counts

    @property
    def exit_code(self) -> int:
        verdicts = {finding.verdict for finding in self.findings()}
        if Verdict.PROBLEM in verdicts:
            return 1
        if Verdict.UNCHECKED in verdicts:
            return 2
        return 0

    def unchecked_summary(self) -> str | None:
        """One line saying what could not be checked and why, or None."""
        unchecked = [f for f in self.findings() if f.verdict is Verdict.UNCHECKED]
        if not unchecked:
            return None
        reasons = list(dict.fromkeys(_cause(f.reason) for f in unchecked))
        shown = "; ".join(reasons[:2]) + ("; …" if len(reasons) > 2 else "")
        checks = "check" if len(unchecked) == 1 else "checks"
        return (
            f"{len(unchecked)} {checks} could not be done against {self.index_url}: {shown}. "
            "Nothing was assumed free; run again when the index answers"
        )


def _cause(reason: str) -> str:
    # Reasons read "could not check <host>: <cause>"; the summary names the index once.
    return (
        reason.split(": ", 1)[1] if reason.startswith("could not ") and ": " in reason else reason
    )


@dataclass(frozen=True)
class UpstreamingRead:
    """A private dependency's "versions from external upstreams" setting on its feed, or why it
    could not be read (no credential, or the token may not read it)."""

    setting: str | None
    reason: str | None = None


@dataclass(frozen=True)
class CheckRequest:
    names: tuple[str, ...]
    prefix: Prefix | None = None
    prefix_origin: str = "--prefix"
    index_url: str = DEFAULT_INDEX_URL
    similar: bool = False
    dependencies: tuple[PrivateDependency, ...] | None = None
    cache_dir: Path | None = None
    """Where the project list is cached; None keeps no cache (``--no-cache``)."""
    max_age: float = PROJECT_LIST_MAX_AGE
    upstreaming: Mapping[str, UpstreamingRead] | None = None
    """Per dependency (normal name), its feed's upstream setting: the ``upstreaming`` check.
    None leaves the check out."""


def run_checks(
    request: CheckRequest,
    *,
    index: PublicIndex | None = None,
    progress: ProgressCallback | None = None,
    now: Callable[[], float] = time.time,
) -> Report:
    owned = index is None
    index = index or PublicIndex(request.index_url)
    try:
        return _run(request, index, progress, now)
    finally:
        if owned:
            index.close()


def _run(
    request: CheckRequest,
    index: PublicIndex,
    progress: ProgressCallback | None,
    now: Callable[[], float],
) -> Report:
    host = host_of(index.url)
    valid = [name for name in request.names if is_valid_name(name)]
    dependencies = request.dependencies or ()
    # A dependency locked from a feed may be the public package through the feed's upstream:
    # its locked files are then among the public page's files, so that page is read too.
    compared = [d.normalized for d in dependencies if d.locked_version and d.locked_sha256]
    lookups = index.lookup_all([*valid, *(d.normalized for d in dependencies)], with_files=compared)

    project_list = None
    if request.similar and (valid or request.prefix is not None):
        cache = ProjectListCache(request.cache_dir, index.url) if request.cache_dir else None
        project_list = fetch_project_list(
            index, cache, max_age=request.max_age, progress=progress, now=now
        )

    names = tuple(_check_name(name, request, lookups, project_list, host) for name in request.names)
    prefix = None
    if request.prefix is not None:
        prefix = _check_prefix(request.prefix, request.prefix_origin, project_list, host)
    audited = None
    if request.dependencies is not None:
        audited = tuple(_audit(d, lookups[d.normalized], host) for d in dependencies)
        if request.upstreaming is not None:
            audited = tuple(_with_upstreaming(r, request.upstreaming) for r in audited)
    return Report(
        index_url=index.display_url,
        names=names,
        prefix=prefix,
        dependencies=audited,
        project_list=project_list,
    )


def build_request(
    *,
    names: Iterable[str],
    prefix: str | None,
    index_url: str | None,
    similar: bool,
    audit: bool,
    pyproject: Path | None,
    project_dir: Path,
    cache_dir: Path | None,
) -> CheckRequest:
    """check-name's request from its arguments: the names (default: the project's), the
    prefix (``--prefix``, else ``[tool.poetry-ado] prefix``), and with ``audit`` the private
    dependencies of ``pyproject`` and their feeds' upstream settings. pyproject.toml is read
    only when one of them needs it; ``audit`` needs it to exist (``project_dir`` is where it was
    looked for)."""
    from poetry_ado_plugin.audit import find_private_dependencies
    from poetry_ado_plugin.audit import read_lock
    from poetry_ado_plugin.errors import PyprojectError
    from poetry_ado_plugin.errors import UsageError
    from poetry_ado_plugin.public_index import index_root
    from poetry_ado_plugin.pyproject import PyprojectDocument
    from poetry_ado_plugin.pyproject import configured_prefix
    from poetry_ado_plugin.pyproject import project_name

    # A malformed --index-url stops the command before anything is read or sent.
    root = index_root(DEFAULT_INDEX_URL if index_url is None else index_url)
    if audit and pyproject is None:
        raise PyprojectError.missing(project_dir)
    chosen = list(names)
    document = None
    if (not chosen or prefix is None or audit) and pyproject is not None:
        document = PyprojectDocument.read(pyproject)
    data = document.data if document is not None else {}

    if not chosen:
        found = project_name(data) if document is not None else None
        if found is None:
            where = "in pyproject.toml" if document is not None else "(no pyproject.toml found)"
            raise UsageError(
                f"no NAME given and no project name {where}: pass the names to check, "
                "e.g. poetry ado check-name acme-tools"
            )
        chosen = [found]

    parsed = origin = None
    if prefix is not None:
        parsed, origin = Prefix.parse(prefix, origin="--prefix"), "--prefix"
    elif (configured := configured_prefix(data)) is not None:
        origin = "pyproject.toml"
        parsed = Prefix.parse(configured, origin="[tool.poetry-ado] prefix in pyproject.toml")

    dependencies = upstreaming = None
    if audit and document is not None:
        lock = read_lock(document.path)
        dependencies = tuple(find_private_dependencies(data, document.sources(), lock))
        upstreaming = read_upstreaming(dependencies)

    return CheckRequest(
        names=tuple(chosen),
        prefix=parsed,
        prefix_origin=origin or "--prefix",
        index_url=root,
        similar=similar,
        dependencies=dependencies,
        cache_dir=cache_dir,
        upstreaming=upstreaming,
    )


def read_upstreaming(dependencies: tuple[PrivateDependency, ...]) -> dict[str, UpstreamingRead]:
    """Each private dependency's upstream setting, read with the credential stored for its
    source (as ``poetry ado publish`` reads it); without one, nothing is sent."""
    from poetry.config.config import Config

    from poetry_ado_plugin.devops_api import DevOpsClient
    from poetry_ado_plugin.errors import UsageError
    from poetry_ado_plugin.feed import Feed
    from poetry_ado_plugin.releases import read_dependency_settings
    from poetry_ado_plugin.sources import AzureSource

    config = Config.create()

    def open_client(dependency: PrivateDependency) -> DevOpsClient:
        url = dependency.source_url
        feed = Feed.parse_or_none(url) if url is not None else None
        if url is None or feed is None:
            raise UsageError(f"source {dependency.source} is not in pyproject.toml")
        if config.get(f"repositories.{dependency.source}.url") is None:
            # In memory only, as Poetry's Factory does for a project's sources: the
            # credential of a name is looked up among the configured repositories.
            config.merge({"repositories": {dependency.source: {"url": url}}})
        return DevOpsClient.for_source(config, AzureSource(dependency.source, url, feed))

    return read_dependency_settings(dependencies, open_client)


@dataclass(frozen=True)
class NameCheck:
    """What publish needs of check-name's basic checks on one name."""

    index_url: str
    problems: tuple[str, ...] = ()
    unchecked: tuple[str, ...] = ()


def check_project_name(
    name: str,
    *,
    prefix: str | None,
    prefix_origin: str = "[tool.poetry-ado] prefix in pyproject.toml",
    index_url: str | None = None,
    index: PublicIndex | None = None,
) -> NameCheck:
    """check-name's basic checks on ``name``: valid, prefix, standard library, public index."""
    from poetry_ado_plugin.public_index import index_root

    request = CheckRequest(
        names=(name,),
        prefix=Prefix.parse(prefix, origin=prefix_origin) if prefix is not None else None,
        prefix_origin=prefix_origin,
        index_url=index_root(index_url or DEFAULT_INDEX_URL),
        similar=False,
        cache_dir=None,
    )
    report = run_checks(request, index=index)
    findings = list(report.findings())
    return NameCheck(
        index_url=report.index_url,
        problems=tuple(f.reason for f in findings if f.verdict is Verdict.PROBLEM),
        unchecked=tuple(f.reason for f in findings if f.verdict is Verdict.UNCHECKED),
    )


# --------------------------------------------------------------------------------------------
# One name


def _check_name(
    name: str,
    request: CheckRequest,
    lookups: dict[str, Lookup],
    project_list: ProjectListResult | None,
    host: str,
) -> NameReport:
    if not is_valid_name(name):
        skipped = "skipped: not a valid name"
        checks = [Check.PREFIX, Check.STDLIB, Check.PUBLIC]
        if request.similar:
            checks.append(Check.SIMILAR)
        return NameReport(
            name,
            None,
            (
                Finding(Check.VALID, Verdict.PROBLEM, _invalid_reason(name)),
                *(Finding(check, Verdict.SKIPPED, skipped) for check in checks),
            ),
        )
    normal = normalize(name)
    findings = [
        Finding(
            Check.VALID,
            Verdict.OK,
            "valid; already in normal form" if name == normal else f"valid; normal form {normal}",
        ),
        _prefix_finding(name, request.prefix),
        _stdlib_finding(normal),
        _public_finding(lookups[normal], host),
    ]
    if request.similar:
        findings.append(_similar_finding(normal, project_list, host))
    return NameReport(name, normal, tuple(findings))


def _invalid_reason(name: str) -> str:
    rule = "use letters, digits, '.', '_' and '-', starting and ending with a letter or digit"
    if not name:
        return f"not a valid name: it is empty; {rule}"
    bad = sorted(
        {char for char in name if not (char.isascii() and (char.isalnum() or char in "._-"))}
    )
    if bad:
        shown = ", ".join(repr(char) for char in bad[:5])
        return f"not a valid name: {shown} not allowed; {rule}"
    return f"not a valid name: {rule}"


def _prefix_finding(name: str, prefix: Prefix | None) -> Finding:
    if prefix is None:
        return Finding(
            Check.PREFIX,
            Verdict.SKIPPED,
            "no prefix configured (set [tool.poetry-ado] prefix or pass --prefix)",
        )
    if prefix.matches(name):
        return Finding(Check.PREFIX, Verdict.OK, f"starts with the prefix {prefix.normalized}")
    return Finding(
        Check.PREFIX,
        Verdict.PROBLEM,
        f"does not start with the prefix {prefix.normalized} (e.g. {prefix.example(name)})",
    )


def _stdlib_finding(normal: str) -> Finding:
    if is_stdlib_name(normal):
        return Finding(
            Check.STDLIB,
            Verdict.PROBLEM,
            f"{normal} is a standard-library module name: PyPI refuses it, and a package "
            "with it can shadow the module",
        )
    return Finding(Check.STDLIB, Verdict.OK, "not a standard-library module name")


def _public_finding(
    lookup: Lookup, host: str, dependency: PrivateDependency | None = None
) -> Finding:
    if lookup.presence is Presence.MISSING:
        return Finding(Check.PUBLIC, Verdict.OK, f"not on {host}")
    if lookup.presence is Presence.UNKNOWN:
        return Finding(Check.PUBLIC, Verdict.UNCHECKED, f"could not check {host}: {lookup.reason}")
    if dependency is not None and dependency.locked_version and dependency.locked_sha256:
        return _upstream_finding(lookup, host, dependency)
    if dependency is None:
        reason = (
            f"{lookup.name} exists on {host}: an install that can see both indexes may take "
            "the public package instead of yours (dependency confusion); choose another name"
        )
    else:
        reason = (
            f"exists on {host}: anything that resolves it without the pin to "
            f"{dependency.source} (pip --extra-index-url, another project) can install the "
            "public package instead (dependency confusion)"
        )
    return Finding(Check.PUBLIC, Verdict.PROBLEM, reason)


def _similar_finding(normal: str, project_list: ProjectListResult | None, host: str) -> Finding:
    if project_list is None or project_list.projects is None:
        reason = project_list.reason if project_list is not None else "no project list"
        return Finding(
            Check.SIMILAR, Verdict.UNCHECKED, f"could not check {host}'s project list: {reason}"
        )
    similar = project_list.projects.similar_to(normal)
    if not similar:
        return Finding(Check.SIMILAR, Verdict.OK, f"no project on {host} is too similar")
    return Finding(
        Check.SIMILAR,
        Verdict.WARNING,
        f"too similar to {_some(similar)} on {host} (PyPI would refuse it, and people can "
        "confuse the two)",
        tuple(similar[:MAX_RELATED]),
    )


def _some(names: list[str]) -> str:
    shown = ", ".join(names[:NAMED_IN_REASON])
    return shown + (
        f" and {len(names) - NAMED_IN_REASON} more" if len(names) > NAMED_IN_REASON else ""
    )


# --------------------------------------------------------------------------------------------
# The prefix, once


def _check_prefix(
    prefix: Prefix, origin: str, project_list: ProjectListResult | None, host: str
) -> PrefixReport:
    if project_list is None:
        return PrefixReport(
            prefix,
            origin,
            (Finding(Check.PREFIX_PUBLIC, Verdict.SKIPPED, "needs --similar (the project list)"),),
        )
    if project_list.projects is None:
        return PrefixReport(
            prefix,
            origin,
            (
                Finding(
                    Check.PREFIX_PUBLIC,
                    Verdict.UNCHECKED,
                    f"could not check {host}'s project list: {project_list.reason}",
                ),
            ),
        )
    matches = project_list.projects.starting_with(prefix.normalized)
    if not matches:
        finding = Finding(
            Check.PREFIX_PUBLIC, Verdict.OK, f"no project on {host} starts with {prefix.normalized}"
        )
    else:
        count = len(matches)
        projects = "project" if count == 1 else "projects"
        finding = Finding(
            Check.PREFIX_PUBLIC,
            Verdict.WARNING,
            f"{count:,} {projects} on {host} already start with {prefix.normalized}: "
            f"{_some(matches)}; the prefix does not mark your packages as private",
            tuple(matches[:MAX_RELATED]),
        )
    return PrefixReport(prefix, origin, (finding,), len(matches))


# --------------------------------------------------------------------------------------------
# Private dependencies


def _audit(dependency: PrivateDependency, lookup: Lookup, host: str) -> DependencyReport:
    public = _public_finding(lookup, host, dependency)
    if public.verdict is Verdict.UPSTREAM:
        pin = Finding(Check.PIN, Verdict.SKIPPED, "skipped: a public package needs no pin")
    else:
        pin = _pin_finding(dependency)
    return DependencyReport(dependency, (public, pin))


def _with_upstreaming(
    report: DependencyReport, reads: Mapping[str, UpstreamingRead]
) -> DependencyReport:
    finding = _upstreaming_finding(report, reads.get(report.dependency.normalized))
    return DependencyReport(report.dependency, (*report.findings, finding))


def _upstreaming_finding(report: DependencyReport, read: UpstreamingRead | None) -> Finding:
    """The feed's own guard (docs/azure-artifacts.md, "Upstream sources"): with ``auto`` the
    feed stops offering PyPI's versions of a name once it has one of its own; with
    ``allowExternalVersions`` a public package of the same name can still come through it."""
    dependency = report.dependency
    source = dependency.source
    if any(f.verdict is Verdict.UPSTREAM for f in report.findings):
        return Finding(
            Check.UPSTREAMING, Verdict.SKIPPED, "skipped: a public package comes from upstream"
        )
    if read is None or read.setting is None:
        why = read.reason if read is not None and read.reason else "not read"
        return Finding(
            Check.UPSTREAMING,
            Verdict.SKIPPED,
            f"skipped: the upstream setting of {dependency.name} on {source} was not read ({why})",
        )
    if read.setting == "allowExternalVersions":
        return Finding(
            Check.UPSTREAMING,
            Verdict.PROBLEM,
            f"the feed of source {source} allows external versions of {dependency.name}, so a "
            f"public package of that name can be installed through it (dependency confusion); "
            f"run poetry ado protect {dependency.name} --feed {source}",
        )
    return Finding(
        Check.UPSTREAMING,
        Verdict.OK,
        f"the feed of source {source} keeps PyPI's versions of it out (versions from external "
        f"upstreams: {read.setting})",
    )


def _upstream_finding(lookup: Lookup, host: str, dependency: PrivateDependency) -> Finding:
    """A dependency poetry.lock takes from a feed, whose name is public: the public package
    through the feed's upstream when the locked files are the public files of that version;
    otherwise a private package shadowing a public name."""
    version = dependency.locked_version or ""
    public = lookup.sha256_of_version(version)
    if dependency.locked_sha256 <= public:
        return Finding(
            Check.PUBLIC,
            Verdict.UPSTREAM,
            f"the public package: poetry.lock's {dependency.name} {version} from "
            f"{dependency.source} has the same files as {host}'s, so it came through the "
            "feed's upstream source",
        )
    what = "other files than" if public else "a version that is not on"
    return Finding(
        Check.PUBLIC,
        Verdict.PROBLEM,
        f"shadows a public name: poetry.lock's {dependency.name} {version} from "
        f"{dependency.source} has {what} {host}'s {lookup.name}, so a resolver that sees both "
        "can take the public package instead (dependency confusion); rename yours (with your "
        "prefix), or pin it with source = and an explicit source",
    )


def _pin_finding(dependency: PrivateDependency) -> Finding:
    source = dependency.source
    fix = f'set priority = "explicit" on source {source} and source = "{source}" on the dependency'
    if dependency.pinned:
        return Finding(
            Check.PIN, Verdict.OK, f'pinned: source = "{source}" ({dependency.source_priority})'
        )
    if dependency.source_priority is None:
        return Finding(
            Check.PIN,
            Verdict.WARNING,
            f"poetry.lock takes it from {source}, which is not a source in pyproject.toml: "
            f"add the source, {fix}, then run poetry lock",
        )
    if dependency.exposed:
        return Finding(
            Check.PIN,
            Verdict.WARNING,
            f"not pinned: source {source} is {dependency.source_priority}, so every other "
            f"source (PyPI too) can serve this name; {fix}",
        )
    return Finding(
        Check.PIN,
        Verdict.WARNING,
        f"poetry.lock takes it from explicit source {source}, but nothing pins it there: the "
        f'next poetry lock looks elsewhere; add source = "{source}" to the dependency',
    )


# --------------------------------------------------------------------------------------------
# JSON


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as JSON-ready data; the layout is ``schema`` 1, documented in the README."""
    return {
        "schema": SCHEMA,
        "index_url": report.index_url,
        "exit_code": report.exit_code,
        "summary": report.counts(),
        "prefix": _prefix_dict(report.prefix),
        "names": [
            {
                "name": name.name,
                "normalized": name.normalized,
                "verdict": name.verdict.value,
                "checks": [_finding_dict(f) for f in name.findings],
            }
            for name in report.names
        ],
        "dependencies": None
        if report.dependencies is None
        else [_dependency_dict(d) for d in report.dependencies],
        "project_list": _project_list_dict(report.project_list),
    }


def render_json(report: Report) -> str:
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False)


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "check": finding.check,
        "verdict": finding.verdict.value,
        "reason": finding.reason,
        "related": list(finding.related),
    }


def _prefix_dict(prefix: PrefixReport | None) -> dict[str, Any] | None:
    if prefix is None:
        return None
    return {
        "prefix": prefix.prefix.text,
        "normalized": prefix.prefix.normalized,
        "origin": prefix.origin,
        "public_matches": prefix.public_matches,
        "verdict": prefix.verdict.value,
        "checks": [_finding_dict(f) for f in prefix.findings],
    }


def _dependency_dict(report: DependencyReport) -> dict[str, Any]:
    d = report.dependency
    return {
        "name": d.name,
        "normalized": d.normalized,
        "source": d.source,
        "source_url": redact_credentials(d.source_url) if d.source_url else None,
        "source_priority": d.source_priority,
        "pinned": d.pinned,
        "found_in": list(d.found_in),
        "groups": list(d.groups),
        "verdict": report.verdict.value,
        "checks": [_finding_dict(f) for f in report.findings],
    }


def _project_list_dict(result: ProjectListResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "status": result.status.value,
        "projects": result.projects.count if result.projects is not None else None,
        "age_seconds": int(result.age) if result.age is not None else None,
        "message": result.message,
    }
