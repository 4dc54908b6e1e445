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

import hashlib
import tarfile
import time
import zipfile
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal
from typing import NamedTuple
from typing import Protocol

from poetry.publishing.uploader import Uploader
from poetry.publishing.uploader import UploadError

from poetry_ado_plugin import answers
from poetry_ado_plugin.answers import IMMUTABLE
from poetry_ado_plugin.answers import FeedAnswer
from poetry_ado_plugin.answers import read_answer
from poetry_ado_plugin.errors import FeedResponseError
from poetry_ado_plugin.errors import FeedUrlError
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.feed import parse_feed_url
from poetry_ado_plugin.http import DEFAULT_TIMEOUT
from poetry_ado_plugin.http import SUPPRESS_SIGN_IN
from poetry_ado_plugin.http import RetryAfterRefused
from poetry_ado_plugin.http import describe_connection_error
from poetry_ado_plugin.http import host_of
from poetry_ado_plugin.http import make_session
from poetry_ado_plugin.http import redact_credentials
from poetry_ado_plugin.simple_index import IndexFile
from poetry_ado_plugin.simple_index import filename_name_version
from poetry_ado_plugin.simple_index import parse_project_page
from poetry_ado_plugin.simple_index import same_version
from poetry_ado_plugin.sources import AzureSource
from poetry_ado_plugin.sources import azure_sources


if TYPE_CHECKING:
    import requests
    from cleo.io.io import IO
    from packaging.metadata import RawMetadata
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
    "IndexFile",
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


RETRIES_VARIABLE = "POETRY_ADO_PUBLISH_RETRIES"
BACKOFF_VARIABLE = "POETRY_ADO_PUBLISH_BACKOFF"
MAX_RETRIES = 10


class VersionExistsError(FeedResponseError):
    """The feed already has (or once had) this version's files."""


class DistFileError(UsageError):
    """A file in dist/ that cannot be published as the project's current version."""


# --------------------------------------------------------------------------------------------
# 1. Which feed, and where to upload


FeedSource = AzureSource
"""A ``[[tool.poetry.source]]`` entry whose URL is an Azure Artifacts feed (``sources.py``)."""


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
    from poetry_ado_plugin.poetry_config import poetry_variable

    key = f"repositories.{repository}.url"
    if config.get(key) != url:
        config.merge({"repositories": {repository: {"url": url}}})
    if config.get(key) != url:
        # POETRY_REPOSITORIES_<NAME>_URL wins over anything in memory.
        raise UsageError(
            f"{key} is set in the environment to {redact_credentials(str(config.get(key)))}, "
            f"not the feed's upload URL {url}: unset or correct "
            f"{poetry_variable('repositories', repository, 'url')}"
        )


def feed_credentials(config: Config, repository: str) -> tuple[str, str]:
    """The username and token Poetry's Publisher would send for ``repository``.

    Poetry reads the password from the keyring when one is in use; a locked keyring can wait
    forever for an unlock prompt, so the read gets login's keyring timeout."""
    from poetry.utils.authenticator import Authenticator

    from poetry_ado_plugin.credential_store import bounded_keyring_call

    def read() -> tuple[str | None, str | None]:
        authenticator = Authenticator(config)
        token = authenticator.get_pypi_token(repository)
        if token:
            return "__token__", token
        credential = authenticator.get_http_auth(repository)
        return (None, None) if credential is None else (credential.username, credential.password)

    username, password = bounded_keyring_call(
        read,
        fix=(
            "unlock it and run again, or store the token in auth.toml instead: "
            f"`poetry config keyring.enabled false`, then `poetry ado login {repository}`"
        ),
    )
    if not password or not username:
        raise FeedResponseError(
            f"no credential for {repository} (Poetry needs a username and a token): run "
            f"poetry ado login {repository}"
        )
    return username, password


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

    __slots__ = ("_sha256", "metadata", "name", "path", "version")

    def __init__(
        self, path: Path, name: str, version: str, metadata: RawMetadata | None = None
    ) -> None:
        self.path = path
        self.name = name
        self.version = version
        self.metadata: RawMetadata = metadata if metadata is not None else {}
        self._sha256: str | None = None

    def __repr__(self) -> str:
        return f"DistFile({self.path.name!r})"

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def is_sdist(self) -> bool:
        return not self.filename.endswith(".whl")

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


def _normal(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


def read_metadata(path: Path) -> RawMetadata:
    """A wheel's METADATA or an sdist's PKG-INFO, parsed as Poetry's own uploader parses it
    (``packaging.metadata.parse_email``), so the checks see the fields the upload sends.

    Raises DistFileError when the archive cannot be read or names no project or version."""
    from packaging.metadata import parse_email

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
    metadata, _unparsed = parse_email(text)
    if not metadata.get("name") or not metadata.get("version"):
        raise DistFileError(
            f"the {what} of {path.name} names no project or version: delete it and rebuild "
            "with poetry build"
        )
    return metadata


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
        metadata = read_metadata(path)
        meta_name, meta_version = metadata["name"].strip(), metadata["version"].strip()
        if _normal(meta_name) != project or not same_version(meta_version, version):
            what = "METADATA" if path.name.endswith(".whl") else "PKG-INFO"
            raise DistFileError(
                f"{path.name} says it is {meta_name} {meta_version} in its {what}, but the "
                f"project is {name} {version}: delete the file and rebuild with poetry build "
                "(or --build)"
            )
        files.append(DistFile(path, meta_name, meta_version, metadata))
    if not files:
        found = f" (found only other versions: {', '.join(sorted(set(others)))})" if others else ""
        raise DistFileError(
            f"no files of {name} {version} in {dist_dir}{found}: run poetry build first, or "
            "pass --build"
        )
    # sdist first, as Poetry 2.3+ uploads them
    files.sort(key=lambda f: (f.filename.endswith(".whl"), f.filename))
    return DistSelection(tuple(files), tuple(ignored))


# Azure's upload rules that a build can break (docs/azure-artifacts.md, "Upload"). Each is
# checked before the first byte is sent: Azure would read the whole file and then answer 400.
MAX_FILE_BYTES = 524_288_000
MAX_PROJECT_URL_LABEL = 32
MAX_SUMMARY = 511


def check_azure_rules(selection: DistSelection, feed_project: FeedProject) -> None:
    """Raise DistFileError, naming the rule and the fix, for the first rule a file breaks."""
    from packaging.requirements import InvalidRequirement
    from packaging.requirements import Requirement
    from packaging.version import InvalidVersion
    from packaging.version import Version

    for dist in selection.files:
        size = dist.path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise DistFileError(
                f"{dist.filename} is {size:,} bytes, and Azure Artifacts takes files of at most "
                f"{MAX_FILE_BYTES:,} bytes (500 MB): leave large data out of the package"
            )
        try:
            local = Version(dist.version).local
        except InvalidVersion:
            local = None
        if local:
            public = dist.version.split("+", 1)[0]
            raise DistFileError(
                f"{dist.name} {dist.version} has a local version segment (+{local}), which Azure "
                f"Artifacts refuses: publish a public version instead (poetry version {public})"
            )
        for line in dist.metadata.get("requires_dist", []):
            try:
                requirement = Requirement(line)
            except InvalidRequirement:
                continue
            if requirement.url:
                raise DistFileError(
                    f"{dist.filename} requires {requirement.name} by a direct URL reference "
                    f"({requirement.name} @ ...), which Azure Artifacts refuses: depend on a "
                    "released version from an index instead"
                )
        for label in dist.metadata.get("project_urls", {}):
            if len(label) > MAX_PROJECT_URL_LABEL:
                raise DistFileError(
                    f"the project URL label {label[:40]!r} of {dist.filename} is {len(label)} "
                    f"characters long, and Azure Artifacts takes at most "
                    f"{MAX_PROJECT_URL_LABEL}: shorten it in pyproject.toml's URLs"
                )
        summary = dist.metadata.get("summary", "")
        if len(summary) > MAX_SUMMARY or "\n" in summary:
            shape = "spans several lines" if "\n" in summary else f"is {len(summary)} characters"
            raise DistFileError(
                f"the summary of {dist.filename} {shape}, and Azure Artifacts takes one line of "
                f"at most {MAX_SUMMARY} characters: shorten the description in pyproject.toml"
            )
    sdists = [d for d in selection.files if d.is_sdist]
    version = selection.files[0].version
    theirs = [
        f.filename
        for f in feed_project.files_of_version(version)
        if not f.filename.endswith(".whl")
        and all(f.filename.casefold() != d.filename.casefold() for d in sdists)
    ]
    if len(sdists) > 1 or (sdists and theirs):
        others = ", ".join([*(d.filename for d in sdists[1:]), *theirs])
        where = f"feed {feed_project.feed}" if theirs else "dist/"
        raise DistFileError(
            f"Azure Artifacts takes one sdist per version, and {where} already has another "
            f"one of {sdists[0].name} {version} ({others}): publish the wheels only, or remove "
            "the extra sdist"
        )


# Azure DevOps Server 2022 takes these Metadata-Versions only, and decides from the upload's
# ``metadata_version`` form field, not from the file (docs/azure-artifacts.md, "Upload").
SERVER_METADATA_VERSIONS = ("1.0", "1.1", "1.2", "2.0", "2.1")
COMPAT_METADATA_VERSION = "2.1"


@dataclass(frozen=True)
class MetadataCompat:
    """An upload that declares Metadata-Version 2.1 for files that say a newer one.

    Declaring 2.1 in the form, rather than uploading a rewritten copy, was chosen because the
    server checks only the form field: the files on the feed stay byte for byte the ones in
    dist/ (their sha256 is what poetry.lock records), and nothing in dist/ is touched. It is
    done only when every field the files carry can be said in 2.1 (``notes`` says how)."""

    declared: str
    notes: tuple[str, ...]

    def describe(self) -> str:
        how = f": {'; '.join(self.notes)}" if self.notes else ""
        return (
            f"Declaring Metadata-Version {COMPAT_METADATA_VERSION} in the upload (the files say "
            f"{self.declared}; Azure DevOps Server takes {COMPAT_METADATA_VERSION} at most){how}."
            " The files themselves are uploaded unchanged."
        )


def downgrade_fields(fields: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """``fields`` (upload form fields, or parsed metadata) as Metadata-Version 2.1 says them,
    and one note per change. Raises DistFileError when a field has no 2.1 equivalent."""
    from packaging.version import InvalidVersion
    from packaging.version import Version

    declared = str(fields.get("metadata_version") or "")
    try:
        too_new = Version(declared) > Version(COMPAT_METADATA_VERSION)
        major = Version(declared).major
    except InvalidVersion:
        too_new, major = True, 0
    result = dict(fields)
    if not too_new:
        return result, ()
    if major != 2:
        raise DistFileError(
            f"the files say Metadata-Version {declared or '(none)'}, which this publish cannot "
            f"state as {COMPAT_METADATA_VERSION}: build with a Poetry whose poetry-core writes "
            "Metadata-Version 2.x"
        )
    notes = []
    expression = result.pop("license_expression", None)
    if expression:
        license_text = result.get("license")
        if license_text and str(license_text).strip() != str(expression).strip():
            raise DistFileError(
                f"the files carry both License ({license_text!r}) and License-Expression "
                f"({expression!r}), and Metadata-Version {COMPAT_METADATA_VERSION} has room for "
                "one: keep only license = in pyproject.toml, or publish with "
                "--keep-metadata-version to a server that takes the newer metadata"
            )
        result["license"] = expression
        notes.append("License-Expression sent as License")
    if result.pop("license_files", None) or result.pop("license_file", None):
        notes.append("License-File left out (the license files stay in the archive)")
    if result.pop("dynamic", None):
        notes.append("Dynamic left out (it only tells an index what a wheel may change)")
    if result.pop("import_names", None) or result.pop("import_namespaces", None):
        notes.append("Import-Name left out (a hint for tools)")
    for key in ("license_files", "license_file", "dynamic", "import_names", "import_namespaces"):
        result.pop(key, None)
    result["metadata_version"] = COMPAT_METADATA_VERSION
    return result, tuple(notes)


def plan_metadata_compat(selection: DistSelection) -> MetadataCompat | None:
    """What declaring 2.1 changes for these files; None when they say 2.1 or older already.
    Raises DistFileError when a file says something 2.1 cannot."""
    declared = [str(d.metadata.get("metadata_version", "")) for d in selection.files]
    if all(version in SERVER_METADATA_VERSIONS for version in declared):
        return None
    notes: list[str] = []
    for dist in selection.files:
        for note in downgrade_fields(dist.metadata)[1]:
            if note not in notes:
                notes.append(note)
    newest = max(declared, key=_version_key)
    return MetadataCompat(newest, tuple(notes))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


# --------------------------------------------------------------------------------------------
# 4. What the feed already has


FeedFile = IndexFile
"""A file the feed's index lists for the project."""


class FeedProject(NamedTuple):
    """The files the feed's index lists for one project (none when it has no such project).

    ``files`` are the feed's own; ``upstream`` are copies of public files (the same sha256 as
    the public index's) that the feed lists through its upstream source: they are not ours, so
    they never count as "already on the feed"."""

    url: str
    files: tuple[FeedFile, ...] = ()
    upstream: tuple[FeedFile, ...] = ()
    feed: str = ""

    def find(self, filename: str) -> FeedFile | None:
        folded = filename.casefold()
        return next((f for f in self.files if f.filename.casefold() == folded), None)

    def files_of_version(self, version: str) -> list[FeedFile]:
        return _of_version(self.files, version)

    def upstream_of_version(self, version: str) -> list[FeedFile]:
        return _of_version(self.upstream, version)


def _of_version(files: Iterable[FeedFile], version: str) -> list[FeedFile]:
    return [f for f in files if f.version is not None and same_version(f.version, version)]


def read_feed_project(
    session: requests.Session,
    source: FeedSource,
    project: str,
    *,
    public_sha256: frozenset[str] = frozenset(),
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
) -> FeedProject:
    """What the feed's own index lists for ``project``. The session carries the credential.

    ``public_sha256`` holds the digests of the public index's files of ``project``: files the
    feed lists with one of them are upstream copies."""
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
    answer = read_answer(response)
    if answer.ok:
        listed = parse_project_page(response.text, response.headers.get("Content-Type", ""))
        ours = tuple(f for f in listed if f.sha256 is None or f.sha256 not in public_sha256)
        theirs = tuple(f for f in listed if f.sha256 is not None and f.sha256 in public_sha256)
        return FeedProject(url, ours, theirs, source.feed.name)
    if answer.kind == answers.PACKAGE_NOT_FOUND:
        return FeedProject(url, feed=source.feed.name)  # the feed has no such project yet
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
    version = selection.files[0].version
    copies = feed_project.upstream_of_version(version)
    if copies:
        first = selection.files[0]
        raise VersionExistsError(
            f"{first.name} {version} is a public package that feed {source.feed.name} lists "
            f"from its upstream source ({', '.join(f.filename for f in copies)}), and Azure "
            "refuses to publish a version that exists upstream: give the project a version "
            "(or a name) that the public package does not have"
        )
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
    """One line: what the answer means for this source and what to do. Never the raw body."""
    context = answers.AnswerContext(
        feed=source.feed.name,
        source=source.name,
        url=redact_credentials(url),
        source_url=redact_credentials(source.url),
        filename=filename,
        fix_source=add_feed_command(source),
    )
    return answers.explain(answer, action, context)


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
        from poetry_ado_plugin.environment import env_number

        default = cls()
        retries = env_number(
            RETRIES_VARIABLE, default.retries, maximum=MAX_RETRIES, integer=True, environ=environ
        )
        backoff = env_number(BACKOFF_VARIABLE, default.backoff, maximum=60, environ=environ)
        return cls(int(retries), backoff)


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
    """The answer's Retry-After in seconds (a number or an HTTP-date), out of the command's
    allowance; http.RetryAfterRefused when it asks for more than is left."""
    from poetry_ado_plugin.http import retry_after_wait

    return retry_after_wait(response)


def _phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "server error"


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
        metadata_compat: MetadataCompat | None = None,
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
        self._metadata_compat = metadata_compat
        self.results: list[FileResult] = []

    # -- what Poetry's Publisher asks ---------------------------------------------------------

    @property
    def files(self) -> list[Path]:
        return [dist.path for dist in self._plan.upload]

    @property
    def version(self) -> str:
        return self._guarded_version

    def post_data(self, file: Path) -> dict[str, Any]:  # type: ignore[override]
        # A classmethod in Poetry 2.3+, a method before; called as self.post_data in both.
        data: dict[str, Any] = super().post_data(file)
        if self._metadata_compat is not None:
            data = downgrade_fields(data)[0]
        return data

    def make_session(self) -> requests.Session:
        if self._session_factory is not None:
            session = self._session_factory()
            auth = self.get_auth()
            if auth is not None:
                session.auth = auth
        else:
            # Ours, not Poetry's plain session: deadlines and capped bodies. No retries of its
            # own: this class decides what is safe to send again.
            session = make_session(retries=0)
            auth = self.get_auth()
            if auth is not None:
                session.auth = auth
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
                if response is not None and read_answer(response).kind == "unauthorized":
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
                # The standard phrase: Azure's reason phrase also carries its whole message.
                reason = f"{response.status_code} {_phrase(response.status_code)}"
                try:
                    retry_after = _retry_after(response)
                except RetryAfterRefused as refused:
                    raise FeedResponseError(
                        f"could not upload {dist.filename} to {self._source.feed.name} "
                        f"({reason}): {refused}, longer than a command waits; try again later, "
                        "and rerun with --skip-existing"
                    ) from None
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
        if listed is None and read_answer(response).kind != answers.UPSTREAM:
            message = (
                f"the feed refused {dist.filename} (HTTP 409) although its index does not list "
                f"it: {dist.name} {dist.version} was published before and deleted. {IMMUTABLE}"
            )
        raise VersionExistsError(message)

    def _explain(self, response: requests.Response, url: str, dist: DistFile) -> str:
        return explain(
            read_answer(response),
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
