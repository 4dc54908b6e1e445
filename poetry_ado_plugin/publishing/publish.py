"""``poetry ado publish`` from start to end: the steps of this package in order, with what each
tells the user, then Poetry's own Publisher with the guarded uploader in place of its own."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Literal
from typing import Protocol

from cleo.formatters.formatter import Formatter
from cleo.io.outputs.output import Verbosity

from poetry_ado_plugin.errors import AdoError
from poetry_ado_plugin.errors import NameProblemError
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.publishing.dist_files import check_azure_rules
from poetry_ado_plugin.publishing.dist_files import select_dist_files
from poetry_ado_plugin.publishing.feed_index import plan_uploads
from poetry_ado_plugin.publishing.feed_index import read_feed_project
from poetry_ado_plugin.publishing.metadata_compat import plan_metadata_compat
from poetry_ado_plugin.publishing.target import feed_credentials
from poetry_ado_plugin.publishing.target import feed_session
from poetry_ado_plugin.publishing.target import upload_target
from poetry_ado_plugin.publishing.target import use_upload_url
from poetry_ado_plugin.publishing.uploader import GuardedUploader
from poetry_ado_plugin.publishing.uploader import RetryPolicy


if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from cleo.io.io import IO
    from poetry.poetry import Poetry

    from poetry_ado_plugin.public_index import PublicIndex
    from poetry_ado_plugin.publishing.feed_index import FeedProject
    from poetry_ado_plugin.sources import AzureSource


MetadataVersion = Literal["auto", "compat", "keep"]


class Console(Protocol):
    """Where publish tells the user what it does: ``AdoCommand`` (escaped, redacted)."""

    @property
    def io(self) -> IO: ...

    def line(
        self, text: str, style: str | None = None, verbosity: Verbosity = Verbosity.NORMAL
    ) -> None: ...

    def warn(self, message: str) -> None: ...


@dataclass(frozen=True)
class PublishRequest:
    source: str | None = None
    """The feed source's name; None for the project's only Azure feed source."""
    dist_dir: Path = Path("dist")
    """Relative to the project's directory unless absolute."""
    build: bool = False
    skip_existing: bool = False
    dry_run: bool = False
    check_name: bool = True
    index_url: str | None = None
    """The public index of the name checks; None for PyPI."""
    metadata_version: MetadataVersion = "auto"
    """``compat`` declares 2.1, ``keep`` never does, ``auto`` does for Azure DevOps Server."""


@dataclass(frozen=True)
class PublishResult:
    source: AzureSource
    name: str
    version: str
    sent: bool
    """Files went to the feed: not a dry run, and not everything was there already."""
    first_version: bool
    """The feed had no file of the project before."""


def publish(
    poetry: Poetry,
    request: PublishRequest,
    console: Console,
    *,
    build: Callable[[Path], int],
) -> PublishResult:
    """Check, then upload. ``build`` runs ``poetry build`` into a directory (its exit code)."""
    from poetry.publishing.publisher import Publisher

    from poetry_ado_plugin.public_index import DEFAULT_INDEX_URL
    from poetry_ado_plugin.public_index import PublicIndex
    from poetry_ado_plugin.sources import select_azure_source

    if not poetry.is_package_mode:
        raise UsageError("publishing is not possible in non-package mode (package-mode = false)")
    name, version = poetry.package.pretty_name, poetry.package.version.to_string()
    source = select_azure_source(
        poetry.local_config.get("source") or [], request.source, command="poetry ado publish"
    )
    target = upload_target(source, poetry.config.get(f"repositories.{source.name}.url"))
    policy = RetryPolicy.from_environment()
    if target.warning:
        console.warn(target.warning)

    index_url = DEFAULT_INDEX_URL if request.index_url is None else request.index_url
    with PublicIndex(index_url) as public:
        public_sha256 = _public_sha256(public, name, console)
        if request.check_name:
            _check_name(name, poetry.pyproject.data, public, console)

    project_dir = poetry.file.path.parent
    dist_dir = project_dir / request.dist_dir  # an absolute dist_dir stays itself
    if request.build:
        code = build(dist_dir)
        if code:
            raise AdoError(f"poetry build failed (exit {code}): nothing was published")
    selection = select_dist_files(dist_dir, name, version)
    for ignored in selection.ignored:
        console.line(f"Ignoring {_relative(ignored.path, project_dir)}: {ignored.reason}")
    compat = None
    if request.metadata_version == "compat" or (
        request.metadata_version == "auto" and not source.feed.is_hosted
    ):
        compat = plan_metadata_compat(selection)

    use_upload_url(poetry.config, source.name, target.url)
    username, token = feed_credentials(poetry.config, source.name)
    with feed_session(poetry.config, source.name, (username, token)) as session:

        def lookup() -> FeedProject:
            return read_feed_project(session, source, name, public_sha256=public_sha256)

        feed_project = lookup()
        plan = plan_uploads(
            selection, feed_project, skip_existing=request.skip_existing, source=source
        )
        check_azure_rules(selection, feed_project)
        if compat is not None:
            console.line(compat.describe())
        for skipped in plan.skipped:
            console.line(f"<warning>Skipping {skipped.file.filename}: {skipped.note}</warning>")
        if plan.other_files:
            console.line(
                f"{source.feed.name} has {name} {version} with other files "
                f"({', '.join(plan.other_files)}); adding yours"
            )
        first_version = not feed_project.files
        if not plan.upload:
            console.line(f"Nothing to upload: {name} {version} is already on {source.feed.name}.")
            return PublishResult(source, name, version, False, first_version)
        if request.dry_run:
            console.line(
                f"Dry run: would publish <c1>{name}</c1> (<c2>{version}</c2>) to "
                f"<info>{source.name}</info> at {Formatter.escape(target.url)}:"
            )
            for dist in plan.upload:
                console.line(f" - {dist.filename}")
            console.line("Nothing was uploaded.")
            return PublishResult(source, name, version, False, first_version)

        uploader = GuardedUploader(
            poetry,
            console.io,
            plan=plan,
            version=version,
            source=source,
            lookup=lookup,
            policy=policy,
            skip_existing=request.skip_existing,
            metadata_compat=compat,
        )
        publisher = Publisher(poetry, console.io, dist_dir)
        # The publisher's own uploader, swapped for the guarded one (same attribute in Poetry
        # 2.0 to 2.5); everything else is Poetry's publish.
        publisher._uploader = uploader
        console.line("")
        publisher.publish(source.name, username, token)

    late_skips = sum(r.outcome == "skipped" for r in uploader.results)
    uploads, skips = len(uploader.results) - late_skips, len(plan.skipped) + late_skips
    console.line(summary_line(name, version, source.feed.name, uploaded=uploads, skipped=skips))
    return PublishResult(source, name, version, True, first_version)


def summary_line(name: str, version: str, feed: str, *, uploaded: int, skipped: int) -> str:
    parts = []
    if uploaded:
        parts.append(f"{uploaded} uploaded")
    if skipped:
        parts.append(f"{skipped} skipped as already there")
    return f"Published {name} {version} to {feed}: {', '.join(parts) or 'nothing to do'}."


def _check_name(name: str, data: dict[str, Any], public: PublicIndex, console: Console) -> None:
    from poetry_ado_plugin.name_check import check_project_name
    from poetry_ado_plugin.pyproject import configured_prefix

    result = check_project_name(name, prefix=configured_prefix(data), index=public)
    if result.problems:
        raise NameProblemError(
            f"the name {name} has a problem: {'; '.join(result.problems)} (pass "
            "--no-check-name to publish anyway)"
        )
    for reason in result.unchecked:
        console.warn(f"{reason}; publishing anyway (run poetry ado check-name later)")
    if not result.unchecked:
        console.line(f"Name {name}: no problems found against {Formatter.escape(result.index_url)}")


def _public_sha256(public: PublicIndex, name: str, console: Console) -> frozenset[str]:
    """The digests of the public package's files of this name, so that the feed's copies of
    them (through its upstream source) are not taken for ours."""
    from poetry_ado_plugin.public_index import Presence

    lookup = public.lookup(name, with_files=True)
    if lookup.presence is Presence.UNKNOWN:
        console.line(
            f"Could not read {public.display_url}{lookup.name}/ ({lookup.reason}): files the "
            "feed lists from its upstream cannot be told from its own",
            verbosity=Verbosity.VERBOSE,
        )
    return frozenset(f.sha256 for f in lookup.files or () if f.sha256)


def _relative(path: Path, project_dir: Path) -> str:
    try:
        return str(path.relative_to(project_dir))
    except ValueError:
        return str(path)
