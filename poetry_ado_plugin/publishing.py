"""Guarded publishing to an Azure Artifacts feed: the checks before an upload, the upload itself
through Poetry's own Publisher and Uploader with retries, and one readable line per failure.

The steps, each a function a command calls in order (none writes to a console):

1. ``select_source`` / ``upload_target``: which feed, and the exact upload URL. Views are read
   only, so the upload always goes to the feed itself.
2. ``check_project_name``: check-name's basic checks (valid, prefix, standard library, on the
   public index). A lookup that could not be done is a warning, never a stop: publishing to a
   private feed must not depend on the public index being reachable.
3. ``select_dist_files``: only the project's current version leaves dist/. Files of other
   versions are ignored and named; a file whose name says this version but whose metadata says
   otherwise stops the run. (Poetry 2.3+ uploads the *newest* version found in dist/, not the
   project's; 2.0-2.2 match by file name only.)
4. ``read_feed_project`` + ``plan_uploads``: read the feed's own index page for the project. A
   file that is already there stops the run (Azure never replaces a version, not even after it
   is deleted) unless ``--skip-existing`` skips it.
5. ``GuardedUploader``: Poetry's Uploader, so the progress output is ``poetry publish``'s, plus:
   connection errors, timeouts and 5xx answers are retried with backoff and reported; a 4xx is
   never retried; a 409 is success only when the feed's index lists that exact file (same
   sha256 when the index gives one) and an earlier attempt of it could have stored it.
6. ``explain``: every failure becomes one line naming the fix; an HTML body is never shown.

Exit codes of ``poetry ado publish``: 0 when everything was uploaded or skipped, 1 otherwise."""

from __future__ import annotations

import email.parser
import hashlib
import os
import re
import tarfile
import time
import zipfile
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal
from typing import NamedTuple
from typing import Protocol
from urllib.parse import unquote
from urllib.parse import urlsplit

from poetry.publishing.uploader import Uploader
from poetry.publishing.uploader import UploadError

from poetry_ado_plugin.errors import FeedResponseError
from poetry_ado_plugin.errors import FeedUrlError
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.feed import Feed
from poetry_ado_plugin.feed import is_feed_url
from poetry_ado_plugin.feed import parse_feed_url
from poetry_ado_plugin.http import DEFAULT_TIMEOUT
from poetry_ado_plugin.http import SUPPRESS_SIGN_IN
from poetry_ado_plugin.http import FeedAnswer
from poetry_ado_plugin.http import decode_answer
from poetry_ado_plugin.http import describe_connection_error
from poetry_ado_plugin.http import host_of
from poetry_ado_plugin.http import redact_credentials


if TYPE_CHECKING:
    import requests
    from cleo.io.io import IO
    from poetry.config.config import Config
    from poetry.poetry import Poetry

    from poetry_ado_plugin.public_index import PublicIndex


__all__ = [
    "DistFile",
    "DistSelection",
    "FeedFile",
    "FeedProject",
    "FeedSource",
    "GuardedUploader",
    "NameCheck",
    "RetryPolicy",
    "SourceRef",
    "UploadPlan",
    "UploadTarget",
    "VersionExistsError",
    "check_project_name",
    "explain",
    "feed_credentials",
    "plan_uploads",
    "project_sources",
    "read_feed_project",
    "select_dist_files",
    "select_source",
    "summary_line",
    "upload_target",
    "use_upload_url",
]


IMMUTABLE = (
    "Azure Artifacts never lets a package version be published again, not even after it was "
    "deleted: give the project a new version (e.g. poetry version patch), build and publish that"
)
RETRIES_VARIABLE = "POETRY_ADO_PUBLISH_RETRIES"
BACKOFF_VARIABLE = "POETRY_ADO_PUBLISH_BACKOFF"
MAX_RETRIES = 10


class VersionExistsError(FeedResponseError):
    """The feed already has (or once had) this version's files."""


class DistFileError(UsageError):
    """A file in dist/ that cannot be published as the project's current version."""


# --------------------------------------------------------------------------------------------
# 1. Which feed, and where to upload


class FeedSource(NamedTuple):
    """A ``[[tool.poetry.source]]`` entry whose URL is an Azure Artifacts feed."""

    name: str
    url: str
    feed: Feed

    @property
    def index_url(self) -> str:
        """The feed's own index (never a view's): what the feed holds, promoted or not."""
        return self.feed.without_view().index_url


class SourceEntry(Protocol):
    """A source as this module needs it: ``pyproject.Source`` or a ``SourceRef``."""

    @property
    def name(self) -> str: ...

    @property
    def url(self) -> str | None: ...


class SourceRef(NamedTuple):
    name: str
    url: str | None


def project_sources(tool_poetry: Mapping[str, Any]) -> list[SourceRef]:
    """The ``[[tool.poetry.source]]`` entries of Poetry's parsed ``[tool.poetry]`` table
    (``poetry.local_config``): the file is not read or parsed a second time."""
    entries = tool_poetry.get("source") or []
    return [
        SourceRef(str(entry["name"]), str(entry["url"]) if entry.get("url") else None)
        for entry in entries
        if isinstance(entry, Mapping) and entry.get("name")
    ]


def add_feed_command(source: FeedSource) -> str:
    """The add-feed command that (re)configures ``source`` and its publish repository."""
    return f"poetry ado add-feed {redact_credentials(source.url)} --name {source.name}"


def azure_sources(sources: Iterable[SourceEntry]) -> list[FeedSource]:
    found = []
    for source in sources:
        if source.url and is_feed_url(source.url):
            found.append(FeedSource(source.name, source.url, parse_feed_url(source.url).feed))
    return found


def select_source(sources: Iterable[SourceEntry], name: str | None) -> FeedSource:
    """The Azure feed source called ``name``, or the project's only one when ``name`` is None."""
    listed = list(sources)
    feeds = azure_sources(listed)
    if name is not None:
        for source in listed:
            if source.name.casefold() == name.casefold():
                match = next((f for f in feeds if f.name == source.name), None)
                if match is None:
                    raise UsageError(
                        f"source {source.name} is not an Azure Artifacts feed "
                        f"({redact_credentials(source.url or 'no URL')}): name an Azure feed "
                        "source, or add one with poetry ado add-feed"
                    )
                return match
        known = ", ".join(f.name for f in feeds) or "none"
        raise UsageError(
            f"pyproject.toml has no source named {name!r} (Azure feed sources: {known}): "
            "check the name, or add the feed with poetry ado add-feed"
        )
    if not feeds:
        raise UsageError(
            "pyproject.toml has no Azure Artifacts feed source: add one with "
            "poetry ado add-feed, then run poetry ado publish again"
        )
    if len(feeds) > 1:
        names = ", ".join(f.name for f in feeds)
        raise UsageError(
            f"pyproject.toml has {len(feeds)} Azure feed sources ({names}): name the one to "
            f"publish to, e.g. poetry ado publish {feeds[0].name}"
        )
    return feeds[0]


class UploadTarget(NamedTuple):
    url: str
    warning: str | None = None


def upload_target(source: FeedSource, configured: str | None) -> UploadTarget:
    """The upload URL: ``repositories.<name>.url`` when it is this feed's upload URL.

    ``configured`` is what Poetry's config says, which is the source's own URL when the setting
    is unset (Poetry's Factory fills it in). When it is unset, or is the same feed's install
    (``/simple/``) or view URL, the feed's own
    upload URL is used, with a warning that ``poetry publish -r <name>`` would fail and that
    ``poetry ado add-feed`` fixes it. A URL of another feed, or no feed, is an error: which of
    the two the user meant cannot be guessed."""
    expected = source.feed.upload_url
    setting = f"repositories.{source.name}.url"
    fix = f"run {add_feed_command(source)}"
    if configured is None or not configured.strip():
        return UploadTarget(
            expected,
            f"{setting} is not set, so poetry publish -r {source.name} cannot publish; "
            f"publishing to {expected} ({fix} to set it)",
        )
    shown = redact_credentials(configured)
    try:
        parsed = parse_feed_url(configured)
    except FeedUrlError:
        raise UsageError(
            f"{setting} is {shown}, which is not an Azure Artifacts feed URL: {fix} to set it "
            f"to {expected}"
        ) from None
    if not parsed.feed.without_view().is_same_feed(source.feed.without_view()):
        raise UsageError(
            f"{setting} ({shown}) is another feed than source {source.name} "
            f"({redact_credentials(source.url)}): {fix} to make them agree"
        )
    if configured.strip() == expected and not parsed.has_credentials:
        return UploadTarget(configured.strip())
    if configured.strip() == source.url.strip():
        # Poetry fills an unset repository with the same-named source's URL (Factory).
        return UploadTarget(
            expected,
            f"{setting} is not set to the feed's upload URL, so poetry publish -r "
            f"{source.name} posts to the source's install URL and gets 405; publishing to "
            f"{expected} ({fix} to set it)",
        )
    return UploadTarget(
        expected,
        f"{setting} is {shown}, not the feed's upload URL (poetry publish -r {source.name} "
        f"fails there, with 405 for a /simple/ URL); publishing to {expected} instead ({fix} "
        "to fix the setting)",
    )


def use_upload_url(config: Config, repository: str, url: str) -> None:
    """Make Poetry's Publisher post to ``url`` for ``repository``, in memory only."""
    key = f"repositories.{repository}.url"
    if config.get(key) != url:
        config.merge({"repositories": {repository: {"url": url}}})
    if config.get(key) != url:
        # POETRY_REPOSITORIES_<NAME>_URL wins over anything in memory.
        raise UsageError(
            f"{key} is set in the environment to {redact_credentials(str(config.get(key)))}, "
            f"not the feed's upload URL {url}: unset or correct "
            f"POETRY_REPOSITORIES_{repository.upper().replace('-', '_')}_URL"
        )


def feed_credentials(config: Config, repository: str) -> tuple[str, str]:
    """The username and token Poetry's Publisher would send for ``repository``."""
    from poetry.utils.authenticator import Authenticator

    authenticator = Authenticator(config)
    token = authenticator.get_pypi_token(repository)
    if token:
        return "__token__", token
    credential = authenticator.get_http_auth(repository)
    if credential is None or not credential.password or not credential.username:
        raise FeedResponseError(
            f"no credential for {repository} (Poetry needs a username and a token): run "
            f"poetry ado login {repository}"
        )
    return credential.username, credential.password


def feed_tls(config: Config, repository: str) -> tuple[bool | str, str | None]:
    """(verify, client certificate) for requests, from ``certificates.<name>.*``."""
    from poetry.utils.authenticator import Authenticator

    certs = Authenticator(config).get_certs_for_repository(repository)
    verify: bool | str = str(certs.cert) if certs.cert else certs.verify
    return verify, str(certs.client_cert) if certs.client_cert else None


# --------------------------------------------------------------------------------------------
# 2. The name


class NameCheck(NamedTuple):
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
    from poetry_ado_plugin.name_check import CheckRequest
    from poetry_ado_plugin.name_check import Verdict
    from poetry_ado_plugin.name_check import run_checks
    from poetry_ado_plugin.names import Prefix
    from poetry_ado_plugin.public_index import DEFAULT_INDEX_URL
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
# 3. The files in dist/


class DistFile:
    """A wheel or sdist in dist/ whose metadata names the project at its version."""

    __slots__ = ("_sha256", "name", "path", "version")

    def __init__(self, path: Path, name: str, version: str) -> None:
        self.path = path
        self.name = name
        self.version = version
        self._sha256: str | None = None

    def __repr__(self) -> str:
        return f"DistFile({self.path.name!r})"

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            digest = hashlib.sha256()
            with self.path.open("rb") as stream:
                for chunk in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(chunk)
            self._sha256 = digest.hexdigest()
        return self._sha256


class IgnoredFile(NamedTuple):
    path: Path
    reason: str


class DistSelection(NamedTuple):
    files: tuple[DistFile, ...]
    ignored: tuple[IgnoredFile, ...] = ()


def filename_name_version(filename: str) -> tuple[str, str] | None:
    """(name, version) from a wheel or sdist file name, or None for anything else."""
    if filename.endswith(".whl"):
        parts = filename[: -len(".whl")].split("-")
        return (parts[0], parts[1]) if len(parts) in (5, 6) else None
    for suffix in (".tar.gz", ".zip"):
        if filename.endswith(suffix):
            name, sep, version = filename[: -len(suffix)].rpartition("-")
            return (name, version) if sep and name and version else None
    return None


def same_version(a: str, b: str) -> bool:
    """PEP 440 equality ("1.0" is "1.0.0"); plain text for versions that are not PEP 440."""
    from packaging.version import InvalidVersion
    from packaging.version import Version

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_metadata(path: Path) -> tuple[str, str]:
    """(Name, Version) from a wheel's METADATA or an sdist's PKG-INFO.

    Raises DistFileError when the archive cannot be read or has no such file."""
    text: str | None = None
    try:
        if path.name.endswith(".whl"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    parts = member.split("/")
                    if (
                        len(parts) == 2
                        and parts[0].endswith(".dist-info")
                        and parts[1] == "METADATA"
                    ):
                        text = archive.read(member).decode("utf-8")
                        break
        else:
            with tarfile.open(path, "r:*") as archive:
                for info in archive:
                    parts = info.name.split("/")
                    if len(parts) == 2 and parts[1] == "PKG-INFO" and info.isfile():
                        extracted = archive.extractfile(info)
                        text = extracted.read().decode("utf-8") if extracted else None
                        break
    except (OSError, EOFError, UnicodeDecodeError, zipfile.BadZipFile, tarfile.TarError) as error:
        raise DistFileError(
            f"cannot read {path.name} ({type(error).__name__}): delete it and rebuild with "
            "poetry build"
        ) from None
    what = "METADATA" if path.name.endswith(".whl") else "PKG-INFO"
    if text is None:
        raise DistFileError(
            f"{path.name} has no {what}, so it is not a valid distribution: delete it and "
            "rebuild with poetry build"
        )
    headers = email.parser.HeaderParser().parsestr(text)
    name, version = headers.get("Name"), headers.get("Version")
    if not name or not version:
        raise DistFileError(
            f"the {what} of {path.name} names no project or version: delete it and rebuild "
            "with poetry build"
        )
    return str(name).strip(), str(version).strip()


def select_dist_files(dist_dir: Path, name: str, version: str) -> DistSelection:
    """The wheels and sdists in ``dist_dir`` of project ``name`` at ``version``.

    Files of the project at other versions are ignored (and listed); files of other projects are
    not looked at. A file whose name says ``version`` but whose metadata disagrees stops the
    run, as does finding nothing to publish."""
    project = _normal(name)
    files: list[DistFile] = []
    ignored: list[IgnoredFile] = []
    others: list[str] = []
    candidates = sorted(dist_dir.iterdir()) if dist_dir.is_dir() else []
    for path in candidates:
        if not path.is_file() or not path.name.endswith((".whl", ".tar.gz")):
            continue
        parsed = filename_name_version(path.name)
        if parsed is None or _normal(parsed[0]) != project:
            continue
        file_version = parsed[1]
        if not same_version(file_version, version):
            ignored.append(
                IgnoredFile(path, f"it is version {file_version}; the project is {version}")
            )
            others.append(file_version)
            continue
        meta_name, meta_version = read_metadata(path)
        if _normal(meta_name) != project or not same_version(meta_version, version):
            what = "METADATA" if path.name.endswith(".whl") else "PKG-INFO"
            raise DistFileError(
                f"{path.name} says it is {meta_name} {meta_version} in its {what}, but the "
                f"project is {name} {version}: delete the file and rebuild with poetry build "
                "(or --build)"
            )
        files.append(DistFile(path, meta_name, meta_version))
    if not files:
        found = f" (found only other versions: {', '.join(sorted(set(others)))})" if others else ""
        raise DistFileError(
            f"no files of {name} {version} in {dist_dir}{found}: run poetry build first, or "
            "pass --build"
        )
    # sdist first, as Poetry 2.3+ uploads them
    files.sort(key=lambda f: (f.filename.endswith(".whl"), f.filename))
    return DistSelection(tuple(files), tuple(ignored))


# --------------------------------------------------------------------------------------------
# 4. What the feed already has


class FeedFile(NamedTuple):
    filename: str
    sha256: str | None = None

    @property
    def version(self) -> str | None:
        parsed = filename_name_version(self.filename)
        return parsed[1] if parsed else None


class FeedProject(NamedTuple):
    """The files the feed's index lists for one project (none when it has no such project)."""

    url: str
    files: tuple[FeedFile, ...] = ()

    def find(self, filename: str) -> FeedFile | None:
        folded = filename.casefold()
        return next((f for f in self.files if f.filename.casefold() == folded), None)

    def files_of_version(self, version: str) -> list[FeedFile]:
        return [f for f in self.files if f.version is not None and same_version(f.version, version)]


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def parse_project_page(html: str) -> tuple[FeedFile, ...]:
    """The files of a PEP 503 project page, with the sha256 from each link's fragment."""
    parser = _LinkParser()
    parser.feed(html)
    parser.close()
    files = []
    for href, text in parser.links:
        parts = urlsplit(href)
        filename = text or unquote(parts.path.rsplit("/", 1)[-1])
        if not filename:
            continue
        match = re.search(r"(?:^|&)sha256=([0-9a-fA-F]{64})", parts.fragment)
        files.append(FeedFile(filename, match.group(1).lower() if match else None))
    return tuple(files)


_FEED_MISSING = re.compile(r"feed\b.*\b(doesn't|does not) exist", re.IGNORECASE)


def read_feed_project(
    session: requests.Session,
    source: FeedSource,
    project: str,
    *,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
) -> FeedProject:
    """What the feed's own index lists for ``project``. The session carries the credential."""
    import requests

    url = f"{source.index_url}{_normal(project)}/"
    try:
        response = session.get(
            url,
            headers={**SUPPRESS_SIGN_IN, "Accept": "text/html"},
            timeout=timeout,
            allow_redirects=True,
        )
    except requests.RequestException as error:
        raise FeedResponseError(
            f"could not read {source.feed.name}'s index: {describe_connection_error(error, url)}; "
            "check the network and the source URL, then try again"
        ) from None
    signed_out = (
        any("_signin" in r.headers.get("Location", "") for r in [*response.history, response])
        or "_signin" in response.url
    )
    answer = decode_answer(response)
    if answer.kind == "ok" and not signed_out:
        return FeedProject(url, parse_project_page(response.text))
    if signed_out:
        answer = FeedAnswer(status=answer.status, kind="unauthorized", server_message=None)
    if answer.kind == "not_found" and not _FEED_MISSING.search(answer.server_message or ""):
        return FeedProject(url)  # the feed has no such project yet
    raise FeedResponseError(explain(answer, source=source, action="read", url=url))


class Skipped(NamedTuple):
    file: DistFile
    note: str


class UploadPlan(NamedTuple):
    upload: tuple[DistFile, ...]
    skipped: tuple[Skipped, ...] = ()
    other_files: tuple[str, ...] = ()
    """Files of this version the feed has that are not in dist/ (others' platform wheels)."""


def plan_uploads(
    selection: DistSelection,
    feed_project: FeedProject,
    *,
    skip_existing: bool,
    source: FeedSource,
) -> UploadPlan:
    upload: list[DistFile] = []
    skipped: list[Skipped] = []
    existing: list[DistFile] = []
    for dist in selection.files:
        listed = feed_project.find(dist.filename)
        if listed is None:
            upload.append(dist)
            continue
        existing.append(dist)
        note = "already on the feed"
        if listed.sha256 is not None and listed.sha256 != dist.sha256:
            note += " with different content (your build differs from the published file)"
        skipped.append(Skipped(dist, note))
    if existing and not skip_existing:
        first = existing[0]
        files = ", ".join(d.filename for d in existing)
        raise VersionExistsError(
            f"{first.name} {first.version} is already on feed {source.feed.name} ({files}): "
            f"{IMMUTABLE}; or pass --skip-existing to skip files that are already there"
        )
    version = selection.files[0].version
    mine = {d.filename.casefold() for d in selection.files}
    others = tuple(
        f.filename
        for f in feed_project.files_of_version(version)
        if f.filename.casefold() not in mine
    )
    return UploadPlan(tuple(upload), tuple(skipped), others)


# --------------------------------------------------------------------------------------------
# 6. Failures, in one line


def explain(
    answer: FeedAnswer,
    *,
    source: FeedSource,
    action: Literal["read", "upload"],
    url: str,
    filename: str | None = None,
) -> str:
    """One line: what the answer means and what to do. Never the raw body."""
    status = answer.status
    feed = source.feed.name
    said = f": {answer.server_message}" if answer.server_message else ""
    what = filename or f"{feed}'s index"
    where = redact_credentials(url)
    if answer.kind == "unauthorized":
        return (
            f"{feed} did not accept the token for {source.name} (HTTP {status}): it is wrong or "
            f"has expired; run poetry ado login {source.name}"
        )
    if answer.kind == "forbidden":
        doing = "publish to" if action == "upload" else "read"
        return (
            f"the token for {source.name} may not {doing} feed {feed} (HTTP 403{said}): "
            "publishing needs the Contributor role on the feed (feed settings > Permissions) and "
            "a token with the Packaging Read & write scope"
        )
    if answer.kind == "not_found":
        return (
            f"feed {feed} not found (HTTP 404{said}): check the URL of source {source.name} in "
            f"pyproject.toml ({redact_credentials(source.url)})"
        )
    if answer.kind == "method_not_allowed":
        if "/pypi/simple" in url:
            return (
                f"{where} does not take uploads (HTTP 405): the repository URL points at "
                f"/simple/ (the install URL) instead of /upload/; run {add_feed_command(source)}"
            )
        return (
            f"{where} does not take uploads (HTTP 405{said}): check that it is the feed's "
            f"upload URL, or run {add_feed_command(source)}"
        )
    if status == 429:
        return f"{host_of(url)} is rate-limiting requests (HTTP 429{said}): wait and run again"
    if answer.kind == "conflict":
        return f"the feed refused {what} (HTTP 409{said}): {IMMUTABLE}"
    if answer.kind == "bad_request":
        return f"the feed rejected {what} (HTTP 400){said or ': no reason given'}"
    if answer.kind == "server_error":
        return f"{host_of(url)} failed with HTTP {status}{said}: try again later"
    if 300 <= status < 400:
        return (
            f"{where} answered with a redirect (HTTP {status}), which uploads cannot follow: "
            f"the URL must be the feed's exact URL; run {add_feed_command(source)}"
        )
    return f"{where} answered HTTP {status}{said}"


# --------------------------------------------------------------------------------------------
# 5. The upload


class RetryPolicy(NamedTuple):
    """``retries`` further attempts after the first, waiting ``backoff`` * 2**n seconds."""

    retries: int = 3
    backoff: float = 1.0
    max_delay: float = 60.0

    @property
    def attempts(self) -> int:
        return 1 + self.retries

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds before retry number ``retry`` (1-based); a server's Retry-After is honoured
        up to ``max_delay``."""
        delay = self.backoff * float(2 ** (retry - 1))
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.max_delay)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> RetryPolicy:
        environ = dict(os.environ) if environ is None else environ
        policy = cls()
        raw = environ.get(RETRIES_VARIABLE, "").strip()
        if raw:
            if not raw.isdigit() or int(raw) > MAX_RETRIES:
                raise UsageError(
                    f"{RETRIES_VARIABLE} must be a whole number from 0 to {MAX_RETRIES}, "
                    f"not {raw!r}"
                )
            policy = cls(int(raw), policy.backoff)
        raw = environ.get(BACKOFF_VARIABLE, "").strip()
        if raw:
            try:
                backoff = float(raw)
            except ValueError:
                backoff = -1.0
            if not 0 <= backoff <= 60:
                raise UsageError(
                    f"{BACKOFF_VARIABLE} must be a number of seconds from 0 to 60, not {raw!r}"
                )
            policy = cls(policy.retries, backoff)
        return policy


class FileResult(NamedTuple):
    file: DistFile
    outcome: Literal["uploaded", "already-stored", "skipped"]
    attempts: int
    note: str | None = None


def describe_upload_error(error: Exception, url: str) -> str:
    """Why an upload got no answer, for the retry line: a timeout, a dropped connection, or a
    connection that could not be made."""
    import requests
    from urllib3.exceptions import ProtocolError

    host = host_of(url)
    if isinstance(error, requests.exceptions.Timeout):
        return f"a timeout ({host} did not answer in time)"
    seen: list[BaseException] = []
    pending: list[object] = [error]
    while pending:
        item = pending.pop()
        if not isinstance(item, BaseException) or item in seen:
            continue
        seen.append(item)
        pending.extend([*item.args, item.__cause__, item.__context__])
    if any(isinstance(e, (ProtocolError, ConnectionResetError, BrokenPipeError)) for e in seen):
        return f"a dropped connection to {host}"
    return f"a connection error ({describe_connection_error(error, url)})"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    return float(value) if value.isdigit() else None


class GuardedUploader(Uploader):
    """Poetry's Uploader with a fixed file list, retries and Azure-aware failure handling.

    Overrides ``files``/``version`` (the checked files, the project's version) and ``_upload``
    (one retry loop per file around Poetry's own ``_upload_file``, so the progress output is
    ``poetry publish``'s). Both exist with these signatures from Poetry 2.0 to 2.5. Poetry's
    ``skip_existing`` is never used: it takes any 409 for "already there", which is also the
    answer for a version that was deleted and can never be published again."""

    def __init__(
        self,
        poetry: Poetry,
        io: IO,
        *,
        plan: UploadPlan,
        version: str,
        source: FeedSource,
        lookup: Callable[[], FeedProject],
        policy: RetryPolicy | None = None,
        skip_existing: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        session_factory: Callable[[], requests.Session] | None = None,
    ) -> None:
        super().__init__(poetry, io, plan.upload[0].path.parent if plan.upload else None)
        self._plan = plan
        self._guarded_version = version
        self._source = source
        self._lookup = lookup
        self._policy = policy or RetryPolicy()
        self._skip_existing = skip_existing
        self._sleep = sleep
        self._session_factory = session_factory
        self._last_response: requests.Response | None = None
        self.results: list[FileResult] = []

    # -- what Poetry's Publisher asks ---------------------------------------------------------

    @property
    def files(self) -> list[Path]:
        return [dist.path for dist in self._plan.upload]

    @property
    def version(self) -> str:
        return self._guarded_version

    def make_session(self) -> requests.Session:
        if self._session_factory is not None:
            session = self._session_factory()
            auth = self.get_auth()
            if auth is not None:
                session.auth = auth
        else:
            session = super().make_session()
        # A plain 401 instead of a 203 sign-in page, which Poetry would take for success.
        session.headers.update(SUPPRESS_SIGN_IN)
        session.hooks["response"].append(self._remember)
        return session

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last_response = response

    # -- the loop -----------------------------------------------------------------------------

    def _upload(
        self,
        session: requests.Session,
        url: str,
        dry_run: bool = False,
        skip_existing: bool = False,
    ) -> None:
        for dist in self._plan.upload:
            self.results.append(self._upload_with_retries(session, url, dist, dry_run))

    def _upload_with_retries(
        self, session: requests.Session, url: str, dist: DistFile, dry_run: bool
    ) -> FileResult:
        import requests

        attempts = self._policy.attempts
        uncertain = False  # an earlier attempt may have stored the file without telling us
        for attempt in range(1, attempts + 1):
            self._last_response = None
            try:
                super()._upload_file(session, url, dist.path, dry_run, False)
            except UploadError as error:
                cause, failure = error.__cause__, str(error)
                if not self._io.error_output.is_decorated():
                    # Poetry's plain progress line has no end: what follows starts on its own.
                    self._io.write_error("\n")
            else:
                response = self._last_response
                if response is not None and decode_answer(response).kind == "unauthorized":
                    raise FeedResponseError(self._explain(response, url, dist)) from None
                return FileResult(dist, "uploaded", attempt)

            retry_after = None
            if isinstance(cause, requests.RequestException):
                # HTTPError carries the answer; without one the connection failed, possibly
                # after the server had the file (the response hook may even have fired).
                response = cause.response
            else:
                # A redirect (Poetry raises without a cause), or Poetry's own complaint.
                response = self._last_response
                if response is None:
                    raise FeedResponseError(f"could not upload {dist.filename}: {failure}")
            if response is None:
                assert cause is not None
                reason = describe_upload_error(cause, url)
            elif response.status_code == 409:
                return self._conflict(response, url, dist, attempt, uncertain)
            elif response.status_code >= 500:
                reason = f"{response.status_code} {response.reason or 'server error'}".strip()
                retry_after = _retry_after(response)
            else:
                raise FeedResponseError(self._explain(response, url, dist)) from None

            if attempt == attempts:
                tries = "attempt" if attempts == 1 else f"{attempts} attempts"
                raise FeedResponseError(
                    f"could not upload {dist.filename} to {self._source.feed.name} after {tries}"
                    f" (last: {reason}): try again later; files already uploaded stay on the "
                    "feed, so rerun with --skip-existing"
                )
            uncertain = True
            delay = self._policy.delay(attempt, retry_after)
            self._io.write_line(
                f"<warning>Retrying upload of {dist.filename} (attempt {attempt + 1} of "
                f"{attempts}) after {reason}</warning>"
            )
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _conflict(
        self,
        response: requests.Response,
        url: str,
        dist: DistFile,
        attempt: int,
        uncertain: bool,
    ) -> FileResult:
        """A 409: fine only if the feed now lists this exact file and we may have put it there
        (or --skip-existing asked to skip files that are there); otherwise the version is taken
        or was deleted, which no retry can fix."""
        listed = self._lookup().find(dist.filename)
        identical = listed is not None and listed.sha256 in (None, dist.sha256)
        if listed is not None and uncertain and identical:
            self._io.write_line(
                f"<info>{dist.filename} is on the feed: an earlier attempt stored it</info>"
            )
            return FileResult(dist, "already-stored", attempt)
        if listed is not None and self._skip_existing:
            note = "appeared on the feed since the check"
            if not identical:
                note += " with different content"
            self._io.write_line(f"<warning>Skipping {dist.filename}: {note}</warning>")
            return FileResult(dist, "skipped", attempt, note)
        message = self._explain(response, url, dist)
        if listed is None:
            message = (
                f"the feed refused {dist.filename} (HTTP 409) although its index does not list "
                f"it: {dist.name} {dist.version} was published before and deleted. {IMMUTABLE}"
            )
        raise VersionExistsError(message)

    def _explain(self, response: requests.Response, url: str, dist: DistFile) -> str:
        return explain(
            decode_answer(response),
            source=self._source,
            action="upload",
            url=url,
            filename=dist.filename,
        )


def summary_line(name: str, version: str, feed: str, *, uploaded: int, skipped: int) -> str:
    parts = []
    if uploaded:
        parts.append(f"{uploaded} uploaded")
    if skipped:
        parts.append(f"{skipped} skipped as already there")
    return f"Published {name} {version} to {feed}: {', '.join(parts) or 'nothing to do'}."
