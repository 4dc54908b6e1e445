"""What the feed already has of the project, read from the feed's own index page, and the plan
that follows from it: which files to upload, which to skip, and which version is taken."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Literal

from poetry_ado_plugin import answers
from poetry_ado_plugin.answers import IMMUTABLE
from poetry_ado_plugin.answers import FeedAnswer
from poetry_ado_plugin.answers import read_answer
from poetry_ado_plugin.errors import FeedResponseError
from poetry_ado_plugin.errors import VersionExistsError
from poetry_ado_plugin.http import DEFAULT_TIMEOUT
from poetry_ado_plugin.http import SUPPRESS_SIGN_IN
from poetry_ado_plugin.http import describe_connection_error
from poetry_ado_plugin.http import redact_credentials
from poetry_ado_plugin.names import normalize
from poetry_ado_plugin.publishing.target import add_feed_command
from poetry_ado_plugin.simple_index import IndexFile
from poetry_ado_plugin.simple_index import parse_project_page
from poetry_ado_plugin.simple_index import same_version


if TYPE_CHECKING:
    import requests

    from poetry_ado_plugin.publishing.dist_files import DistFile
    from poetry_ado_plugin.publishing.dist_files import DistSelection
    from poetry_ado_plugin.sources import AzureSource


FeedFile = IndexFile
"""A file the feed's index lists for the project."""


@dataclass(frozen=True)
class FeedProject:
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
    source: AzureSource,
    project: str,
    *,
    public_sha256: frozenset[str] = frozenset(),
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
) -> FeedProject:
    """What the feed's own index lists for ``project``. The session carries the credential.

    ``public_sha256`` holds the digests of the public index's files of ``project``: files the
    feed lists with one of them are upstream copies."""
    import requests

    url = f"{source.index_url}{normalize(project)}/"
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


@dataclass(frozen=True)
class Skipped:
    file: DistFile
    note: str


@dataclass(frozen=True)
class UploadPlan:
    upload: tuple[DistFile, ...]
    skipped: tuple[Skipped, ...] = ()
    other_files: tuple[str, ...] = ()
    """Files of this version the feed has that are not in dist/ (others' platform wheels)."""


def plan_uploads(
    selection: DistSelection,
    feed_project: FeedProject,
    *,
    skip_existing: bool,
    source: AzureSource,
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


def explain(
    answer: FeedAnswer,
    *,
    source: AzureSource,
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
