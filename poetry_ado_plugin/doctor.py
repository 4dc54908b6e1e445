"""``poetry ado doctor``: why install or publish will fail, before it does, and the fix.

Cheap local checks first (Poetry and the plugin, the pyproject source, the publish repository,
the credential and where Poetry takes it from, its expiry, the on-prem Metadata-Version fit),
then the network checks (read access, identity, the download path, the feed's shape, the lock's
health), run concurrently over one pooled connection pool, each bounded in time. ``offline``
skips the network checks.

Every finding is a verdict, what was checked, and the one command or config line that fixes
it. No secret is ever part of a finding: credentials are named by where they are stored and by
their username."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any

from poetry_ado_plugin.errors import AdoError
from poetry_ado_plugin.errors import UsageError


if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator
    from collections.abc import Mapping
    from concurrent.futures import Future
    from pathlib import Path

    import requests
    from poetry.config.config import Config

    from poetry_ado_plugin.audit import PrivateDependency
    from poetry_ado_plugin.devops_api import DevOpsClient
    from poetry_ado_plugin.devops_api import FeedInfo
    from poetry_ado_plugin.devops_api import FeedPermission
    from poetry_ado_plugin.devops_api import Identity
    from poetry_ado_plugin.pyproject import Source
    from poetry_ado_plugin.simple_index import IndexLink
    from poetry_ado_plugin.status import SourceStatus


SCHEMA = 1

OK = "ok"
WARNING = "warning"
PROBLEM = "problem"
UNCHECKED = "unchecked"
SKIPPED = "skipped"
VERDICTS = (OK, WARNING, PROBLEM, UNCHECKED, SKIPPED)

SUPPORTED_POETRY = ">=2.0,<3"
PLUGIN = "poetry-ado-plugin"
EXPIRY_WARNING_SECONDS = 3 * 24 * 3600
# Keyring backends that cannot store a password: `poetry config http-basic` fails with them.
READ_ONLY_KEYRINGS = ("artifacts-keyring", "artifacts-keyring-nofuss")
# Hosts that downloads redirect to; a credential must never reach them.
BLOB_HOST_SUFFIXES = (".blob.core.windows.net", ".vsblob.vsassets.io")
# At most this many packages of poetry.lock are looked up per source.
MAX_LOCKED = 100
_PASSWORD_VARIABLE = re.compile(r"^POETRY_HTTP_BASIC_(?P<name>.+)_PASSWORD$")


@dataclass(frozen=True)
class Finding:
    check: str
    """A stable id, e.g. ``credential.expiry``."""
    verdict: str
    summary: str
    """What was checked and what was found, one line."""
    fix: str | None = None
    """The one command or config line that fixes it."""


@dataclass
class SourceReport:
    name: str
    index_url: str
    upload_url: str
    priority: str | None
    """None outside a project (a repository from Poetry's config)."""
    hosted: bool
    findings: list[Finding] = field(default_factory=list)


@dataclass
class Report:
    pyproject: Path | None
    offline: bool
    general: list[Finding]
    sources: list[SourceReport]

    def findings(self) -> Iterator[Finding]:
        yield from self.general
        for source in self.sources:
            yield from source.findings

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(VERDICTS, 0)
        for finding in self.findings():
            counts[finding.verdict] += 1
        return counts

    @property
    def exit_code(self) -> int:
        """0: no problem (warnings allowed); 1: a problem; 2: something could not be checked."""
        verdicts = {finding.verdict for finding in self.findings()}
        if PROBLEM in verdicts:
            return 1
        if UNCHECKED in verdicts:
            return 2
        return 0


@dataclass(frozen=True)
class DoctorRequest:
    pyproject: Path | None
    config: Config
    names: tuple[str, ...] = ()
    offline: bool = False
    environ: Mapping[str, str] | None = None
    home: Path | None = None
    now: float | None = None


# --------------------------------------------------------------------------------------------
# Running it


@dataclass
class _Source:
    """What the checks of one source share."""

    status: SourceStatus
    entry: Source | None
    report: SourceReport
    locked: list[PrivateDependency]
    direct: set[str] = field(default_factory=set)
    """The normal names of the dependencies declared in pyproject.toml."""
    credential: tuple[str, str] | None = None
    authenticator: Any = None


def run_doctor(request: DoctorRequest) -> Report:
    from pathlib import Path

    from poetry_ado_plugin import status as status_module

    environ = os.environ if request.environ is None else request.environ
    now = time.time() if request.now is None else request.now
    home = request.home or Path.home()
    state = status_module.gather(request.pyproject, request.config)
    entries, pyproject_data, lock_data = _read_project(request.pyproject)
    chosen = _select(state.sources, request.names, request.pyproject)

    general = [
        _poetry_version(),
        _plugin_environment(pyproject_data),
        *_password_variables(environ, entries, request.config),
        *_keyring_backend(request.config),
    ]
    if request.pyproject is not None:
        general += _legacy_sources(entries, {s.source.name for s in state.sources})

    sources = []
    for item in chosen:
        entry = next((e for e in entries if e.name.casefold() == item.source.name.casefold()), None)
        locked = _locked_from(item.source.name, entries, pyproject_data, lock_data)
        report = SourceReport(
            name=item.source.name,
            index_url=item.source.feed.index_url,
            upload_url=item.source.feed.upload_url,
            priority=item.source.priority if item.from_project else None,
            hosted=item.source.feed.is_hosted,
        )
        sources.append(_Source(item, entry, report, locked, _direct(pyproject_data)))

    for source in sources:
        source.report.findings += _local_checks(source, request, environ, home, now)
    _read_credentials(sources, request.config)
    for source in sources:
        source.report.findings += _credential_checks(source, now)
    if not request.offline:
        _network_checks(sources, request.config)
    return Report(request.pyproject, request.offline, general, [s.report for s in sources])


def _read_project(
    pyproject: Path | None,
) -> tuple[list[Source], dict[str, Any], dict[str, Any] | None]:
    if pyproject is None:
        return [], {}, None
    from poetry_ado_plugin.audit import read_lock
    from poetry_ado_plugin.pyproject import PyprojectDocument

    document = PyprojectDocument.read(pyproject)
    return list(document.sources()), dict(document.data), read_lock(pyproject)


def _select(
    found: tuple[SourceStatus, ...], names: tuple[str, ...], pyproject: Path | None
) -> list[SourceStatus]:
    if not names:
        return list(found)
    by_name = {s.source.name.casefold(): s for s in found}
    chosen = []
    for name in names:
        item = by_name.get(name.casefold())
        if item is None:
            where = "pyproject.toml" if pyproject is not None else "Poetry's config"
            known = ", ".join(sorted(s.source.name for s in found)) or "none"
            raise UsageError(
                f"'{name}' is not an Azure Artifacts feed source in {where} (the Azure sources: "
                f"{known}): name one of them, or add it with `poetry ado add-feed <feed URL>`"
            )
        if item not in chosen:
            chosen.append(item)
    return chosen


def _direct(pyproject_data: Mapping[str, Any]) -> set[str]:
    from poetry_ado_plugin.audit import declared_dependencies
    from poetry_ado_plugin.names import normalize

    return {normalize(name) for name, _group, _value in declared_dependencies(pyproject_data)}


def _locked_from(
    name: str,
    entries: list[Source],
    pyproject_data: dict[str, Any],
    lock_data: dict[str, Any] | None,
) -> list[PrivateDependency]:
    if lock_data is None:
        return []
    from poetry_ado_plugin.audit import find_private_dependencies

    found = find_private_dependencies(pyproject_data, entries, lock_data)
    return [
        d
        for d in found
        if d.source.casefold() == name.casefold()
        and d.locked_version
        and "poetry.lock" in d.found_in
    ]


# --------------------------------------------------------------------------------------------
# General checks


def _poetry_version() -> Finding:
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version
    from poetry.__version__ import __version__

    if Version(__version__) in SpecifierSet(SUPPORTED_POETRY):
        return Finding("poetry.version", OK, f"Poetry {__version__} ({SUPPORTED_POETRY} supported)")
    return Finding(
        "poetry.version",
        PROBLEM,
        f"Poetry {__version__} is outside the supported range {SUPPORTED_POETRY}",
        "poetry self update 2.5.1",
    )


def _plugin_environment(pyproject_data: Mapping[str, Any]) -> Finding:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version

    try:
        installed = version(PLUGIN)
    except PackageNotFoundError:
        installed = "(no metadata)"
    if _declares_plugin(pyproject_data):
        return Finding(
            "plugin.environment",
            WARNING,
            f"{PLUGIN} {installed} runs in Poetry's environment, but pyproject.toml also "
            "lists it as a dependency of the project, where Poetry never loads it",
            f"remove it from the dependencies and add [tool.poetry.requires-plugins] "
            f'{PLUGIN} = ">=0"',
        )
    return Finding("plugin.environment", OK, f"{PLUGIN} {installed} runs in Poetry's environment")


def _declares_plugin(data: Mapping[str, Any]) -> bool:
    from packaging.utils import canonicalize_name

    from poetry_ado_plugin.audit import declared_dependencies

    wanted = canonicalize_name(PLUGIN)
    names = [name for name, _group, _value in declared_dependencies(data)]
    project = data.get("project")
    for requirement in project.get("dependencies") or [] if isinstance(project, dict) else []:
        if isinstance(requirement, str):
            names.append(re.split(r"[\s\[<>=!~;(@]", requirement.strip(), maxsplit=1)[0])
    return any(canonicalize_name(name) == wanted for name in names if name)


def _password_variables(
    environ: Mapping[str, str], entries: list[Source], config: Config
) -> list[Finding]:
    """A POETRY_HTTP_BASIC_*_PASSWORD whose name matches no source or repository."""
    from poetry_ado_plugin.poetry_config import poetry_variable

    names = [e.name for e in entries]
    repositories = config.get("repositories") or {}
    names += [str(name) for name in repositories if isinstance(name, str)]
    expected = {poetry_variable("http-basic", name, "password"): name for name in names}
    findings = []
    for variable in sorted(environ):
        if not _PASSWORD_VARIABLE.match(variable) or variable in expected or not environ[variable]:
            continue
        import difflib

        close = difflib.get_close_matches(variable, list(expected), n=1)
        hint = f"rename it {close[0]}" if close else "name it after the source"
        known = ", ".join(sorted(set(names))) or "none"
        findings.append(
            Finding(
                "credential.variable",
                WARNING,
                f"{variable} is set but names no source or repository (known: {known}): Poetry "
                "never reads it",
                f"{hint} (POETRY_HTTP_BASIC_<NAME>_PASSWORD, NAME upper-cased, '-' as '_')",
            )
        )
    return findings


def _keyring_backend(config: Config) -> list[Finding]:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version

    if not config.get("keyring.enabled"):
        return []
    findings = []
    for name in READ_ONLY_KEYRINGS:
        try:
            version(name)
        except PackageNotFoundError:
            continue
        findings.append(
            Finding(
                "keyring.backend",
                WARNING,
                f"{name} is installed in Poetry's environment: it cannot store passwords, so "
                "`poetry config http-basic` fails (poetry ado login falls back to auth.toml)",
                "poetry config keyring.enabled false",
            )
        )
    return findings


def _legacy_sources(entries: list[Source], azure: set[str]) -> list[Finding]:
    """Legacy keys in any source break every Poetry 2 command."""
    findings = []
    for entry in entries:
        if not entry.needs_migration:
            continue
        written = ", ".join(entry.legacy_keys) or f'priority = "{entry.priority}"'
        fix = (
            f"poetry ado add-feed {entry.url} --name {entry.name}"
            if entry.name in azure and entry.url
            else f'replace it with priority = "{entry.modern_priority or "primary"}"'
        )
        findings.append(
            Finding(
                "source.legacy",
                PROBLEM,
                f"source {entry.name} uses {written}, removed in Poetry 2.0: every Poetry "
                "command fails to load pyproject.toml",
                fix,
            )
        )
    return findings


# --------------------------------------------------------------------------------------------
# Local checks of one source


def _local_checks(
    source: _Source, request: DoctorRequest, environ: Mapping[str, str], home: Path, now: float
) -> list[Finding]:
    findings: list[Finding] = []
    item = source.status
    if item.from_project:
        findings += _source_name(item.source.name)
        findings.append(_source_url(source))
        findings += _priority(source)
    findings.append(_repository(item, environ))
    findings.append(_credential_place(item))
    findings += _netrc(item, environ, home)
    findings += _on_prem_fit(source, request.pyproject)
    return findings


def _source_name(name: str) -> list[Finding]:
    if "." in name:
        return [
            Finding(
                "source.name",
                WARNING,
                f"source name {name} has a dot: POETRY_HTTP_BASIC_<NAME>_* cannot be set for it "
                "from most shells (Poetry does not turn dots into '_')",
                "rename the source without dots, e.g. with poetry ado add-feed <feed URL> --name "
                + re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-"),
            )
        ]
    if name != name.lower() or name[:1].isdigit():
        return [
            Finding(
                "source.name",
                WARNING,
                f"source name {name} has upper case or starts with a digit: Poetry's variables "
                "upper-case names, so such names are easy to mistype in "
                "POETRY_HTTP_BASIC_<NAME>_* and POETRY_REPOSITORIES_<NAME>_URL",
                "use a lower-case name starting with a letter (poetry ado add-feed --name)",
            )
        ]
    return [Finding("source.name", OK, f"source name {name} can be spelled in Poetry's variables")]


def _source_url(source: _Source) -> Finding:
    from poetry_ado_plugin.feed import parse_feed_url

    item = source.status
    url = item.source.url
    canonical = item.source.feed.index_url
    fix = f"poetry ado add-feed {canonical} --name {item.source.name}"
    try:
        parsed = parse_feed_url(url)
    except AdoError:
        parsed = None
    if parsed is not None and parsed.has_credentials:
        return Finding(
            "source.url",
            PROBLEM,
            f"the URL of source {item.source.name} holds a credential, in pyproject.toml for "
            "everyone to read",
            fix + " (then poetry ado login " + item.source.name + ")",
        )
    if "/pypi/upload" in url.casefold():
        return Finding(
            "source.url",
            PROBLEM,
            f"source {item.source.name} is the feed's upload URL: installs read /pypi/simple/",
            fix,
        )
    if url.rstrip("/") + "/" != canonical:
        return Finding(
            "source.url",
            WARNING,
            f"source {item.source.name} is {url}, not the feed's canonical index URL {canonical}",
            fix,
        )
    return Finding("source.url", OK, f"source URL is the feed's index URL {canonical}")


def _priority(source: _Source) -> list[Finding]:
    item = source.status
    name, priority = item.source.name, item.source.priority
    findings = []
    if priority == "explicit":
        hidden = [d for d in source.locked if not d.pinned]
        if hidden:
            shown = ", ".join(f"{d.name} {d.locked_version}" for d in hidden[:5])
            more = f" and {len(hidden) - 5} more" if len(hidden) > 5 else ""
            findings.append(
                Finding(
                    "source.priority",
                    WARNING,
                    f"source {name} is explicit, and poetry.lock takes {shown}{more} from it "
                    "without a pin: Poetry looks in an explicit source only for dependencies "
                    "pinned to it, so the next poetry lock will not find them",
                    f'pin each, e.g. {hidden[0].name} = {{ version = "*", source = "{name}" }}',
                )
            )
        else:
            findings.append(
                Finding(
                    "source.priority",
                    OK,
                    f'source {name} is explicit: only dependencies with source = "{name}" '
                    "come from it",
                )
            )
        return findings
    exposed = [d for d in source.locked if d.exposed and d.normalized in source.direct]
    meaning = (
        "it replaces PyPI (no implicit PyPI source)"
        if priority == "primary"
        else "it is asked besides PyPI"
    )
    if exposed:
        shown = ", ".join(d.name for d in exposed[:5])
        findings.append(
            Finding(
                "source.priority",
                WARNING,
                f"source {name} is {priority} ({meaning}) and {shown} come from it without "
                "source = ...: if they are private, a public package of the same name can win "
                "(poetry ado check-name --dependencies tells)",
                f"poetry add {exposed[0].name} --source {name}",
            )
        )
    else:
        findings.append(
            Finding(
                "source.priority",
                OK,
                f"source {name} is {priority} ({meaning}); no dependency of it is left unpinned",
            )
        )
    return findings


def _repository(item: SourceStatus, environ: Mapping[str, str]) -> Finding:
    from poetry_ado_plugin import status
    from poetry_ado_plugin.http import redact_credentials
    from poetry_ado_plugin.poetry_config import poetry_variable

    name, upload = item.source.name, item.source.feed.upload_url
    variable = poetry_variable("repositories", name, "url")
    fix = f"poetry config repositories.{name} {upload}"
    if item.repository == status.REPOSITORY_SET:
        return Finding(
            "repository.url",
            OK,
            f"repositories.{name}.url is the upload URL ({item.repository_where})",
        )
    if item.repository == status.REPOSITORY_MISSING:
        return Finding(
            "repository.url",
            WARNING,
            f"repositories.{name}.url is not set: plain poetry publish -r {name} posts to the "
            "source's /simple/ URL (405) unless this plugin is loaded",
            fix,
        )
    shown = redact_credentials(item.repository_url or "")
    if item.repository_where == variable:
        return Finding(
            "repository.url",
            PROBLEM,
            f"{variable} overrides repositories.{name}.url with {shown}, not the upload URL "
            f"{upload}",
            f"unset {variable}, or set it to {upload}",
        )
    return Finding(
        "repository.url",
        PROBLEM,
        f"repositories.{name}.url is {shown} (in {item.repository_where}), not the feed's upload "
        f"URL {upload}: poetry publish -r {name} posts there",
        fix,
    )


def _credential_place(item: SourceStatus) -> Finding:
    name = item.source.name
    place = item.credential
    login = f"poetry ado login {name}"
    if not place.found:
        return Finding(
            "credential.place",
            PROBLEM,
            f"no credential for {name} in the environment, auth.toml or the keyring",
            login,
        )
    if not place.username:
        return Finding(
            "credential.place",
            PROBLEM,
            f"the credential for {name} in {place.where} has no username: Poetry 2 ignores a "
            "password without one",
            f"{login} (or set POETRY_HTTP_BASIC_<NAME>_USERNAME to any non-empty name)",
        )
    return Finding(
        "credential.place",
        OK,
        f"Poetry takes the credential for {name} from {place.where}, username {place.username}",
    )


def _netrc(item: SourceStatus, environ: Mapping[str, str], home: Path) -> list[Finding]:
    """A .netrc entry for the feed host (or ``default``) is sent whenever Poetry itself has no
    credential for a URL, and requests adds it again after every redirect."""
    import netrc
    from pathlib import Path
    from urllib.parse import urlsplit

    path = Path(environ["NETRC"]) if environ.get("NETRC") else home / ".netrc"
    if not path.is_file():
        return []
    host = (urlsplit(item.source.feed.index_url).hostname or "").casefold()
    try:
        hosts = {machine.casefold() for machine in netrc.netrc(str(path)).hosts}
    except (netrc.NetrcParseError, OSError, UnicodeDecodeError):
        # Its text may hold a password: say where it is broken, never what it says.
        return [
            Finding(
                "credential.netrc",
                WARNING,
                f"{path} cannot be parsed: requests skips it, but pip and curl may not",
                f"fix or remove {path}",
            )
        ]
    blob = sorted(h for h in hosts if h.endswith(BLOB_HOST_SUFFIXES))
    matching = sorted(h for h in hosts if h == host or h == "default")
    if not matching and not blob:
        return [Finding("credential.netrc", OK, f"{path} has no entry for {host}")]
    what = ", ".join(matching + blob)
    return [
        Finding(
            "credential.netrc",
            WARNING,
            f"{path} has an entry for {what}: it is sent whenever Poetry has no credential for "
            "a URL, and again after redirects (a blob host refuses it)",
            f"remove the machine {(matching + blob)[0]} entry from {path}",
        )
    ]


def _on_prem_fit(source: _Source, pyproject: Path | None) -> list[Finding]:
    """Azure DevOps Server takes Metadata-Version 2.1 at most; poetry-core writes newer."""
    from poetry_ado_plugin.publishing.metadata_compat import COMPAT_METADATA_VERSION
    from poetry_ado_plugin.publishing.metadata_compat import SERVER_METADATA_VERSIONS

    if source.report.hosted or pyproject is None:
        return []
    written = _metadata_version_written()
    if written is None or written in SERVER_METADATA_VERSIONS:
        return [
            Finding(
                "publish.metadata_version",
                OK,
                f"builds write Metadata-Version {written or 'unknown'}, which Azure DevOps Server "
                "takes",
            )
        ]
    return [
        Finding(
            "publish.metadata_version",
            WARNING,
            f"{source.report.name} is on Azure DevOps Server, which takes Metadata-Version "
            f"{COMPAT_METADATA_VERSION} at most, and this Poetry's builds write {written}: plain "
            "poetry publish gets HTTP 400",
            "poetry ado publish --metadata-version-compat",
        )
    ]


def _metadata_version_written() -> str | None:
    try:
        from poetry.core.masonry.metadata import Metadata
    except ImportError:
        return None
    value = getattr(Metadata, "metadata_version", None)
    return str(value) if value else None


# --------------------------------------------------------------------------------------------
# The credential


def _authenticator(config: Config, source: _Source) -> Any:
    """Poetry's Authenticator as a source's repository builds it: the configured repositories
    and the source itself."""
    from poetry.utils.authenticator import Authenticator

    authenticator = Authenticator(config)
    if source.status.from_project:
        authenticator.add_repository(source.status.source.name, source.status.source.url)
    return authenticator


def _read_credentials(sources: list[_Source], config: Config) -> None:
    """Read each credential as Poetry would (environment, auth.toml, keyring), concurrently and
    each within the keyring timeout."""
    from concurrent.futures import ThreadPoolExecutor

    if not sources:
        return
    with ThreadPoolExecutor(max_workers=len(sources)) as pool:
        outcomes = list(pool.map(lambda s: _read_credential(s, config), sources))
    for source, finding in zip(sources, outcomes, strict=True):
        if finding is not None:
            source.report.findings.append(finding)


def _read_credential(source: _Source, config: Config) -> Finding | None:
    from poetry_ado_plugin import redact
    from poetry_ado_plugin.credential_store import bounded_keyring_call

    name = source.status.source.name
    url = source.status.source.feed.index_url

    def read() -> tuple[Any, str | None, str | None]:
        authenticator = _authenticator(config, source)
        credential = authenticator.get_credentials_for_url(url)
        return authenticator, credential.username, credential.password

    uses_keyring = bool(config.get("keyring.enabled"))
    try:
        authenticator, username, password = bounded_keyring_call(
            read,
            fix=(
                "unlock it, or store the token in auth.toml: `poetry config keyring.enabled "
                f"false`, then `poetry ado login {name}`"
            ),
        )
    except AdoError as error:
        return Finding(
            "credential.keyring", PROBLEM, _before_colon(str(error)), _after_colon(str(error))
        )
    except Exception as error:
        return Finding(
            "credential.keyring",
            PROBLEM,
            f"reading the credential for {name} failed ({type(error).__name__})",
            "poetry config keyring.enabled false, then poetry ado login " + name,
        )
    source.authenticator = authenticator
    redact.register_secret(password)
    if password:
        source.credential = (username or "", password)
    if uses_keyring:
        return Finding("credential.keyring", OK, "the keyring answered in time")
    return None


def _before_colon(text: str) -> str:
    return text.split(": ", 1)[0]


def _after_colon(text: str) -> str | None:
    parts = text.split(": ", 1)
    return parts[1] if len(parts) == 2 else None


def _credential_checks(source: _Source, now: float) -> list[Finding]:
    from poetry_ado_plugin.azure_cli import format_expiry
    from poetry_ado_plugin.credentials import token_expiry

    name = source.status.source.name
    expires_on = source.status.credential.expires_on
    if expires_on is None and source.credential is not None:
        expires_on = token_expiry(source.credential[1])
    fix = f"poetry ado login {name}" + (" --azure-cli" if source.status.refresh else "")
    if expires_on is None:
        if source.credential is None:
            return []
        return [
            Finding(
                "credential.expiry",
                OK,
                "no expiry recorded or readable (a PAT's expiry is only on its Azure DevOps page)",
            )
        ]
    when = format_expiry(expires_on)
    if expires_on <= now:
        return [Finding("credential.expiry", PROBLEM, f"the token for {name} expired {when}", fix)]
    if expires_on - now < EXPIRY_WARNING_SECONDS:
        return [Finding("credential.expiry", WARNING, f"the token for {name} expires {when}", fix)]
    return [Finding("credential.expiry", OK, f"the token for {name} expires {when}")]


# --------------------------------------------------------------------------------------------
# Network checks


@dataclass
class _Page:
    dependency: PrivateDependency
    status: int
    links: tuple[IndexLink, ...] = ()
    error: str | None = None
    missing: bool = False


def _network_checks(sources: list[_Source], config: Config) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from poetry_ado_plugin.http import deadlines
    from poetry_ado_plugin.http import make_session

    reachable = [s for s in sources if s.credential is not None]
    for source in sources:
        if source.credential is None:
            source.report.findings.append(
                Finding(
                    "network",
                    SKIPPED,
                    "network checks skipped: no credential to send",
                    f"poetry ado login {source.report.name}",
                )
            )
    if not reachable:
        return
    limits = deadlines()
    budget = limits.total + limits.connect + 1.0
    workers = min(32, 8 * len(reachable) + sum(len(s.locked[:MAX_LOCKED]) for s in reachable))
    session = make_session(retries=1, pool_size=workers)
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poetry-ado-doctor")
    started = time.monotonic()

    def wait(future: Future[Any]) -> Any:
        remaining = max(0.1, budget - (time.monotonic() - started))
        return future.result(timeout=remaining)

    try:
        plans = [_SourceChecks(source, session, pool, wait) for source in reachable]
        for plan in plans:
            plan.start()
        for plan in plans:
            plan.finish()
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        session.close()


class _SourceChecks:
    """The network checks of one source: submitted at once, collected in order."""

    def __init__(
        self,
        source: _Source,
        session: requests.Session,
        pool: Any,
        wait: Callable[[Future[Any]], Any],
    ) -> None:
        self.source = source
        self.session = session
        self.pool = pool
        self.wait = wait
        self.feed = source.status.source.feed
        self.name = source.status.source.name
        assert source.credential is not None
        self.username, self.token = source.credential
        self.futures: dict[str, Future[Any]] = {}
        self.pages: list[tuple[PrivateDependency, Future[_Page]]] = []

    def submit(self, key: str, function: Callable[..., Any], *args: Any) -> None:
        self.futures[key] = self.pool.submit(function, *args)

    def start(self) -> None:
        self.submit("read", self._read)
        self.submit("identity", self._rest, lambda c: c.connection_data())
        self.submit("feed", self._rest, lambda c: c.get_feed())
        self.submit("permissions", self._rest, lambda c: c.permissions())
        self.submit("retention", self._rest, lambda c: c.retention_policy())
        for dependency in self.source.locked[:MAX_LOCKED]:
            self.pages.append((dependency, self.pool.submit(self._page, dependency)))

    def finish(self) -> None:
        findings = self.source.report.findings
        findings.append(self._outcome("read", self._read_finding))
        identity = self._result("identity")
        findings.append(self._identity_finding(identity))
        pages = [self._page_result(dependency, future) for dependency, future in self.pages]
        download = self._start_download(pages)
        retention = self._result("retention")
        views = self._start_views(retention)
        findings += self._feed_findings(identity)
        findings.append(self._retention_finding(retention, views))
        findings.append(self._download_finding(download))
        findings += self._lock_findings(pages)

    # -- the checks, run in the pool ---------------------------------------------------------

    def _read(self) -> None:
        from poetry_ado_plugin.verify import verify_token

        verify_token(self.feed, self.username, self.token, session=self.session)

    def _client(self) -> DevOpsClient:
        from poetry_ado_plugin.devops_api import DevOpsClient

        return DevOpsClient(
            self.feed, self.username, self.token, source=self.name, session=_sibling(self.session)
        )

    def _rest(self, call: Callable[[DevOpsClient], Any]) -> Any:
        with self._client() as client:
            return call(client)

    def _page(self, dependency: PrivateDependency) -> _Page:
        import requests

        from poetry_ado_plugin import answers
        from poetry_ado_plugin.http import SUPPRESS_SIGN_IN
        from poetry_ado_plugin.http import describe_connection_error
        from poetry_ado_plugin.simple_index import project_page_links

        url = f"{self.feed.index_url}{dependency.normalized}/"
        try:
            response = self.session.get(
                url, auth=(self.username, self.token), headers=SUPPRESS_SIGN_IN
            )
        except requests.RequestException as error:
            return _Page(dependency, 0, error=describe_connection_error(error, url))
        answer = answers.read_answer(response)
        if answer.ok:
            return _Page(dependency, response.status_code, project_page_links(response.text, url))
        if answer.kind == answers.PACKAGE_NOT_FOUND:
            return _Page(dependency, response.status_code, missing=True)
        said = f": {answer.server_message}" if answer.server_message else ""
        return _Page(dependency, response.status_code, error=f"HTTP {response.status_code}{said}")

    def _download(self, link: IndexLink) -> tuple[IndexLink, str | None, int, str | None]:
        """A ranged GET of one byte of ``link``, with the credential Poetry picks for its URL,
        following redirects as Poetry does (requests drops the credential across hosts).
        Returns (link, the repository whose credential went, status, error)."""
        import requests

        from poetry_ado_plugin import redact
        from poetry_ado_plugin.credential_store import bounded_keyring_call
        from poetry_ado_plugin.http import SUPPRESS_SIGN_IN
        from poetry_ado_plugin.http import describe_connection_error
        from poetry_ado_plugin.http import discard_body

        authenticator = self.source.authenticator

        def pick() -> tuple[str | None, str | None, str | None]:
            lookup = getattr(authenticator, "get_repository_config_for_url", None) or getattr(
                authenticator, "_get_repository_config_for_url", None
            )
            repository = lookup(link.url) if lookup is not None else None
            credential = authenticator.get_credentials_for_url(link.url)
            return (
                getattr(repository, "name", None),
                credential.username,
                credential.password,
            )

        chosen, username, password = bounded_keyring_call(pick, fix="unlock the keyring")
        redact.register_secret(password)
        auth = (username or "", password or "") if (username or password) else None
        try:
            response = self.session.get(
                link.url,
                auth=auth,
                headers={**SUPPRESS_SIGN_IN, "Range": "bytes=0-0"},
                allow_redirects=True,
                stream=True,
            )
        except requests.RequestException as error:
            return link, chosen, 0, describe_connection_error(error, link.url)
        with response:
            discard_body(response)
            return link, chosen if auth else None, response.status_code, None

    # -- starting dependent checks -----------------------------------------------------------

    def _start_download(self, pages: list[_Page]) -> Future[Any] | None:
        for page in pages:
            if not page.links:
                continue
            dependency = page.dependency
            locked = dependency.locked_sha256
            wanted = [x for x in page.links if x.sha256 and x.sha256 in locked]
            link = (wanted or list(page.links))[0]
            return self.pool.submit(self._download, link)  # type: ignore[no-any-return]
        return None

    def _start_views(self, retention: Any) -> list[Future[Any]]:
        from poetry_ado_plugin.devops_api import RetentionPolicy

        if not isinstance(retention, RetentionPolicy) or not retention.limited:
            return []
        return [
            self.pool.submit(self._rest, lambda c, n=d.name: c.package(n))
            for d in self.source.locked[:MAX_LOCKED]
        ]

    # -- turning answers into findings -------------------------------------------------------

    def _result(self, key: str) -> Any:
        """The value, or the exception (a timeout included)."""
        try:
            return self.wait(self.futures[key])
        except Exception as error:
            return error

    def _outcome(self, key: str, word: Callable[[Any], Finding]) -> Finding:
        return word(self._result(key))

    def _read_finding(self, outcome: Any) -> Finding:
        from poetry_ado_plugin.errors import NoFeedAccessError
        from poetry_ado_plugin.errors import TokenRejectedError

        login = f"poetry ado login {self.name}"
        if outcome is None:
            return Finding(
                "network.read", OK, f"{self.feed.index_url} accepts the credential (a project page)"
            )
        if isinstance(outcome, TokenRejectedError):
            return Finding("network.read", PROBLEM, _before_colon(str(outcome)), login)
        if isinstance(outcome, NoFeedAccessError):
            return Finding(
                "network.read",
                PROBLEM,
                _before_colon(str(outcome)),
                "ask a feed owner for the Feed Reader role (feed settings > Permissions)",
            )
        if isinstance(outcome, AdoError) and "not found" in str(outcome):
            return Finding(
                "network.read",
                PROBLEM,
                _before_colon(str(outcome)),
                f"poetry ado add-feed <feed URL> --name {self.name}",
            )
        return Finding("network.read", UNCHECKED, _describe(outcome), "check the network or VPN")

    def _identity_finding(self, identity: Any) -> Finding:
        from poetry_ado_plugin.devops_api import Identity

        if isinstance(identity, Identity) and identity.display_name:
            return Finding("network.identity", OK, f"the token belongs to {identity.display_name}")
        return Finding(
            "network.identity",
            SKIPPED,
            "connectionData did not name the identity (a token scoped to packaging may not read "
            f"it): {_describe(identity)}",
        )

    def _feed_findings(self, identity: Any) -> list[Finding]:
        from poetry_ado_plugin.devops_api import FeedInfo

        info = self._result("feed")
        if not isinstance(info, FeedInfo):
            return [
                Finding(
                    "feed.upstream",
                    SKIPPED,
                    f"the feed's settings could not be read: {_describe(info)}",
                )
            ]
        findings = [_upstream_finding(info)]
        findings.append(self._role_finding(info, identity, self._result("permissions")))
        return findings

    def _role_finding(self, info: FeedInfo, identity: Any, permissions: Any) -> Finding:
        from poetry_ado_plugin.devops_api import Identity

        if not isinstance(identity, Identity) or not isinstance(permissions, tuple):
            why = permissions if not isinstance(permissions, tuple) else identity
            return Finding(
                "feed.role", SKIPPED, f"the caller's feed role could not be read: {_describe(why)}"
            )
        role = _role_of(identity, permissions)
        if role is None:
            return Finding(
                "feed.role",
                SKIPPED,
                f"{identity.display_name} is not listed in the feed's permissions by name "
                "(a group may grant the role)",
            )
        pulls = role in ("collaborator", "contributor", "administrator", "owner")
        if info.upstream_enabled and info.upstream_sources and not pulls:
            return Finding(
                "feed.role",
                WARNING,
                f"{identity.display_name} is a feed {role}: installing a public version that "
                "nobody has saved to the feed yet fails (HTTP 403 'AddUpstreamPackage')",
                "ask a feed owner for the Feed and Upstream Reader (Collaborator) role",
            )
        return Finding("feed.role", OK, f"{identity.display_name} is a feed {role}")

    def _retention_finding(self, retention: Any, views: list[Future[Any]]) -> Finding:
        from poetry_ado_plugin.devops_api import FeedPackage
        from poetry_ado_plugin.devops_api import RetentionPolicy

        if not isinstance(retention, RetentionPolicy):
            return Finding(
                "feed.retention",
                SKIPPED,
                f"the retention policy could not be read: {_describe(retention)}",
            )
        if not retention.limited:
            return Finding("feed.retention", OK, "no retention limit: no version is deleted by it")
        exposed = []
        for dependency, future in zip(self.source.locked, views, strict=False):
            try:
                package = self.wait(future)
            except Exception:  # a package that cannot be read is no finding of retention
                package = None
            if not isinstance(package, FeedPackage) or dependency.locked_version is None:
                continue
            entry = package.find(dependency.locked_version)
            if entry is None or entry.is_deleted or entry.upstream_source_id:
                continue
            if not [v for v in entry.views if v.casefold() != "local"]:
                exposed.append(f"{dependency.name} {dependency.locked_version}")
        limit = f"retention keeps {retention.count_limit} versions per package"
        if exposed:
            shown = ", ".join(exposed[:5]) + (
                f" and {len(exposed) - 5} more" if len(exposed) > 5 else ""
            )
            return Finding(
                "feed.retention",
                WARNING,
                f"{limit}, and {shown} (locked) are in no view, so retention may delete them",
                "promote them to a view (feed > package > Promote, or poetry ado promote VERSION "
                "--view Release in the package's project)",
            )
        return Finding("feed.retention", OK, f"{limit}; every locked version is in a view")

    def _download_finding(self, future: Future[Any] | None) -> Finding:
        if future is None:
            return Finding(
                "network.download",
                SKIPPED,
                "no package in poetry.lock comes from this source: no file to download",
            )
        try:
            link, chosen, status, error = self.wait(future)
        except Exception as failure:
            return Finding("network.download", UNCHECKED, _describe(failure))
        if error is not None:
            return Finding("network.download", UNCHECKED, f"{link.filename}: {error}")
        if status in (200, 206):
            return Finding(
                "network.download",
                OK,
                f"{link.filename} downloads (a 1-byte ranged GET, redirects followed as Poetry "
                "does)",
            )
        sent = (
            f"Poetry sends the credential of {chosen}"
            if chosen and chosen.casefold() != self.name.casefold()
            else (
                "Poetry sends the credential of " + self.name
                if chosen
                else "Poetry sends no credential"
            )
        )
        fix = f"poetry ado login {self.name}"
        if chosen and chosen.casefold() != self.name.casefold():
            fix = (
                f"give {chosen} and {self.name} one token that may read both feeds, or list "
                f"{self.name} first in Poetry's repositories"
            )
        if status == 400:
            return Finding(
                "network.download",
                PROBLEM,
                f"{link.filename}: the blob host refused the download (HTTP 400): a credential "
                "followed the redirect (a .netrc entry for it?)",
                "remove the blob host's entry from ~/.netrc",
            )
        return Finding(
            "network.download",
            PROBLEM,
            f"the index works, but downloading {link.filename} gets HTTP {status}: {sent} for "
            "its URL",
            fix,
        )

    def _lock_findings(self, pages: list[_Page]) -> list[Finding]:
        if not pages:
            return [
                Finding("lock.health", SKIPPED, "poetry.lock takes no package from this source")
            ]
        problems: list[Finding] = []
        unchecked: list[str] = []
        for page in pages:
            dependency = page.dependency
            label = f"{dependency.name} {dependency.locked_version}"
            fix = f"poetry update {dependency.name}"
            if page.error is not None:
                unchecked.append(f"{label} ({page.error})")
                continue
            version = dependency.locked_version or ""
            files = [link for link in page.links if _file_version(link.filename, version)]
            if page.missing or not files:
                problems.append(
                    Finding(
                        "lock.health",
                        PROBLEM,
                        f"{label} (in poetry.lock) is no longer on the feed: deleted, or removed "
                        "by retention; installs of this lock fail",
                        fix,
                    )
                )
                continue
            listed = {link.sha256 for link in files if link.sha256}
            if dependency.locked_sha256 and listed and not (dependency.locked_sha256 & listed):
                problems.append(
                    Finding(
                        "lock.health",
                        PROBLEM,
                        f"{label}: the feed's files have other sha256 digests than poetry.lock "
                        "records",
                        fix,
                    )
                )
        findings = problems
        if unchecked:
            findings.append(
                Finding(
                    "lock.health",
                    UNCHECKED,
                    "could not read the feed's page of " + ", ".join(unchecked[:3]),
                )
            )
        if not findings:
            count = len(pages)
            findings.append(
                Finding(
                    "lock.health",
                    OK,
                    f"{count} locked package{'s' if count != 1 else ''} still listed with the "
                    "locked sha256",
                )
            )
        return findings

    def _page_result(self, dependency: PrivateDependency, future: Future[_Page]) -> _Page:
        try:
            page: _Page = self.wait(future)
        except Exception as error:
            return _Page(dependency, 0, error=_describe(error))
        return page


def _upstream_finding(info: FeedInfo) -> Finding:
    if not info.upstream_enabled or not info.upstream_sources:
        return Finding(
            "feed.upstream",
            OK,
            f"feed {info.name} has no upstream source: public packages do not come through it",
        )
    names = ", ".join(f"{s.name} ({s.source_type or s.protocol})" for s in info.upstream_sources)
    pypi = any(
        s.protocol.casefold() == "pypi" and s.source_type.casefold() == "public"
        for s in info.upstream_sources
    )
    if pypi:
        return Finding(
            "feed.upstream",
            OK,
            f"upstream sources: {names}; PyPI is among them (its versions show through the feed "
            "hours after release: Azure caches upstream metadata)",
        )
    return Finding("feed.upstream", OK, f"upstream sources: {names}; PyPI is not among them")


def _role_of(identity: Identity, permissions: tuple[FeedPermission, ...]) -> str | None:
    """The caller's highest role: entries naming its id, else (no id given) its name."""
    order = ("reader", "collaborator", "contributor", "administrator", "owner")
    entries = [p for p in permissions if identity.id and p.identity_id == identity.id]
    if not entries:
        entries = [
            p
            for p in permissions
            if not p.identity_id
            and identity.display_name
            and p.display_name == identity.display_name
        ]
    roles = [p.role for p in entries]
    known = [r for r in roles if r in order]
    return max(known, key=order.index) if known else (roles[0] if roles else None)


def _file_version(filename: str, version: str) -> bool:
    from poetry_ado_plugin.simple_index import filename_name_version
    from poetry_ado_plugin.simple_index import same_version

    parsed = filename_name_version(filename)
    return parsed is not None and same_version(parsed[1], version)


def _sibling(session: requests.Session) -> requests.Session:
    """A session of its own (auth and headers) over the same connection pools."""
    sibling = type(session)()
    sibling.headers.update(session.headers)
    for prefix, adapter in session.adapters.items():
        sibling.mount(prefix, adapter)
    return sibling


def _describe(outcome: Any) -> str:
    from concurrent.futures import TimeoutError as FutureTimeout

    if isinstance(outcome, FutureTimeout):
        return "no answer in time"
    if isinstance(outcome, AdoError):
        return " ".join(str(outcome).split())
    if isinstance(outcome, BaseException):
        return type(outcome).__name__
    return "no answer"


# --------------------------------------------------------------------------------------------
# The JSON report


def to_dict(report: Report) -> dict[str, Any]:
    """The JSON report, ``schema`` 1 (documented in the README)."""
    return {
        "schema": SCHEMA,
        "pyproject": str(report.pyproject) if report.pyproject is not None else None,
        "offline": report.offline,
        "exit_code": report.exit_code,
        "counts": report.counts(),
        "checks": [_finding_dict(f) for f in report.general],
        "sources": [
            {
                "name": s.name,
                "priority": s.priority,
                "index_url": s.index_url,
                "upload_url": s.upload_url,
                "hosted": s.hosted,
                "checks": [_finding_dict(f) for f in s.findings],
            }
            for s in report.sources
        ],
    }


def _finding_dict(finding: Finding) -> dict[str, Any]:
    return {
        "check": finding.check,
        "verdict": finding.verdict,
        "summary": finding.summary,
        "fix": finding.fix,
    }
