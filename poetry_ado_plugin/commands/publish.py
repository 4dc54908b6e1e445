from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from typing import ClassVar

from cleo.formatters.formatter import Formatter
from cleo.helpers import argument
from cleo.helpers import option
from cleo.io.outputs.output import Verbosity

from poetry_ado_plugin.commands._feed_api import after_publish
from poetry_ado_plugin.commands.base import AdoCommand
from poetry_ado_plugin.errors import AdoError
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.http import make_session
from poetry_ado_plugin.public_index import DEFAULT_INDEX_URL
from poetry_ado_plugin.public_index import PublicIndex
from poetry_ado_plugin.publishing import GuardedUploader
from poetry_ado_plugin.publishing import RetryPolicy
from poetry_ado_plugin.publishing import check_azure_rules
from poetry_ado_plugin.publishing import check_project_name
from poetry_ado_plugin.publishing import feed_credentials
from poetry_ado_plugin.publishing import feed_tls
from poetry_ado_plugin.publishing import plan_metadata_compat
from poetry_ado_plugin.publishing import plan_uploads
from poetry_ado_plugin.publishing import project_sources
from poetry_ado_plugin.publishing import read_feed_project
from poetry_ado_plugin.publishing import select_dist_files
from poetry_ado_plugin.publishing import select_source
from poetry_ado_plugin.publishing import summary_line
from poetry_ado_plugin.publishing import upload_target
from poetry_ado_plugin.publishing import use_upload_url


if TYPE_CHECKING:
    from typing import Any

    from cleo.io.inputs.argument import Argument
    from cleo.io.inputs.option import Option

    from poetry_ado_plugin.publishing import FeedProject


class NameProblemError(AdoError):
    """check-name's basic checks found a problem with the project's name."""


class PublishCommand(AdoCommand):
    name = "ado publish"
    description = (
        "Publish the project to an Azure Artifacts feed, after checking its name, its files "
        "and that the version is not on the feed yet; retries network failures."
    )

    arguments: ClassVar[list[Argument]] = [
        argument(
            "name",
            "The feed source to publish to. Default: the project's only Azure feed source.",
            optional=True,
        )
    ]
    options: ClassVar[list[Option]] = [
        option("build", None, "Build the package before publishing."),
        option("skip-existing", None, "Skip files the feed already has instead of stopping."),
        option("dry-run", None, "Run every check and show what would be uploaded; send nothing."),
        option(
            "no-check-name", None, "Do not run the name checks (and publish whatever they say)."
        ),
        option(
            "index-url",
            None,
            "Public simple index for the name checks. Default: https://pypi.org/simple/",
            flag=False,
        ),
        option(
            "metadata-version-compat",
            None,
            "Declare Metadata-Version 2.1 in the upload when the files can say everything in "
            "2.1. On by default for Azure DevOps Server feeds, which take 2.1 at most.",
        ),
        option(
            "keep-metadata-version",
            None,
            "Send the files' own Metadata-Version, also to an Azure DevOps Server feed.",
        ),
        option(
            "promote",
            None,
            "After every file is uploaded, promote the version to this view (e.g. Release).",
            flag=False,
        ),
        option(
            "dist-dir",
            None,
            "Directory of the built files. Default: dist",
            flag=False,
            default="dist",
        ),
    ]
    help = """Checks, in order, then uploads through Poetry's own publisher:

  1. the project's name: valid, prefix ([tool.poetry-ado] prefix), not a standard-library
     module, not on the public index (a lookup that cannot be done is only a warning);
  2. with <c1>--build</c1>: builds, as <c1>poetry publish --build</c1> does;
  3. dist/: only files of the project's current version are uploaded, and their metadata must
     agree with the project;
  4. the feed: files this version already has stop the run (Azure never takes a version twice,
     not even after it was deleted), unless <c1>--skip-existing</c1> skips them. Files the feed
     lists from its upstream source (copies of the public package) are not yours: a version
     that exists upstream stops the run;
  5. Azure's upload rules: no direct-URL dependency, no local version (+abc), one sdist per
     version, project-URL labels of 32 characters at most, a one-line summary of 511 at most,
     files of 500 MB at most.

Azure DevOps Server takes Metadata-Version 2.1 at most: to such a feed, files that say a newer
one (poetry-core 2 writes 2.4) are uploaded unchanged with 2.1 declared in the upload, when
2.1 can say everything they say (<c1>--keep-metadata-version</c1> turns this off;
<c1>--metadata-version-compat</c1> turns it on for a hosted feed).

Connection errors, timeouts and 5xx answers are retried (3 times, after 1, 2 and 4 seconds;
POETRY_ADO_PUBLISH_RETRIES and POETRY_ADO_PUBLISH_BACKOFF change that). Exit codes: 0 when
everything was uploaded or skipped, 1 otherwise."""

    loggers: ClassVar[list[str]] = ["poetry.publishing.publisher"]

    def run_command(self) -> int:
        from poetry.publishing.publisher import Publisher

        poetry = self.load_poetry()
        if not poetry.is_package_mode:
            raise UsageError(
                "publishing is not possible in non-package mode (package-mode = false)"
            )
        name, version = poetry.package.pretty_name, poetry.package.version.to_string()
        source = select_source(project_sources(poetry.local_config), self.argument("name"))
        target = upload_target(source, poetry.config.get(f"repositories.{source.name}.url"))
        policy = RetryPolicy.from_environment()
        if target.warning:
            self.warn(target.warning)

        if self.option("metadata-version-compat") and self.option("keep-metadata-version"):
            raise UsageError(
                "give either --metadata-version-compat or --keep-metadata-version, not both"
            )
        given = self.option("index-url")
        with PublicIndex(DEFAULT_INDEX_URL if given is None else given) as public:
            public_sha256 = self._public_sha256(public, name)
            if not self.option("no-check-name"):
                self._check_name(name, poetry.pyproject.data, public)

        dist_dir = Path(self.option("dist-dir"))
        if not dist_dir.is_absolute():
            dist_dir = poetry.file.path.parent / dist_dir
        if self.option("build"):
            code = self._build(dist_dir)
            if code:
                raise AdoError(f"poetry build failed (exit {code}): nothing was published")
        selection = select_dist_files(dist_dir, name, version)
        for ignored in selection.ignored:
            self.line(f"Ignoring {self._rel(ignored.path)}: {ignored.reason}")
        compat = None
        if self.option("metadata-version-compat") or not (
            source.feed.is_hosted or self.option("keep-metadata-version")
        ):
            compat = plan_metadata_compat(selection)

        use_upload_url(poetry.config, source.name, target.url)
        username, token = feed_credentials(poetry.config, source.name)
        session = make_session()
        session.auth = (username, token)
        session.verify, session.cert = feed_tls(poetry.config, source.name)
        with session:

            def lookup() -> FeedProject:
                return read_feed_project(session, source, name, public_sha256=public_sha256)

            feed_project = lookup()
            plan = plan_uploads(
                selection, feed_project, skip_existing=self.option("skip-existing"), source=source
            )
            check_azure_rules(selection, feed_project)
            if compat is not None:
                self.line(compat.describe())
            for skipped in plan.skipped:
                self.line(f"<warning>Skipping {skipped.file.filename}: {skipped.note}</warning>")
            if plan.other_files:
                self.line(
                    f"{source.feed.name} has {name} {version} with other files "
                    f"({', '.join(plan.other_files)}); adding yours"
                )
            if not plan.upload:
                self.line(f"Nothing to upload: {name} {version} is already on {source.feed.name}.")
                return 0
            if self.option("dry-run"):
                self.line(
                    f"Dry run: would publish <c1>{name}</c1> (<c2>{version}</c2>) to "
                    f"<info>{source.name}</info> at {Formatter.escape(target.url)}:"
                )
                for dist in plan.upload:
                    self.line(f" - {dist.filename}")
                self.line("Nothing was uploaded.")
                return 0

            uploader = GuardedUploader(
                poetry,
                self.io,
                plan=plan,
                version=version,
                source=source,
                lookup=lookup,
                policy=policy,
                skip_existing=self.option("skip-existing"),
                metadata_compat=compat,
            )
            publisher = Publisher(poetry, self.io, dist_dir)
            # The publisher's own uploader, swapped for the guarded one (same attribute in
            # Poetry 2.0 to 2.5); everything else is Poetry's publish.
            publisher._uploader = uploader
            self.line("")
            publisher.publish(source.name, username, token)

        late_skips = sum(r.outcome == "skipped" for r in uploader.results)
        uploads, skips = len(uploader.results) - late_skips, len(plan.skipped) + late_skips
        self.line(summary_line(name, version, source.feed.name, uploaded=uploads, skipped=skips))
        after_publish(
            self,
            poetry,
            source,
            name,
            version,
            view=self.option("promote"),
            first_version=not feed_project.files,
        )
        return 0

    def _build(self, dist_dir: Path) -> int:
        """``poetry build --output DIR``. cleo's ``call()`` would re-parse one string with a
        tokenizer that mangles quotes (a directory named it's), so the tokens go in as they
        are, through the same runner ``call()`` uses."""
        from cleo.io.inputs.argv_input import ArgvInput

        application = self.get_application()
        command = application.get("build")
        arguments = ArgvInput(["poetry", "--output", str(dist_dir)])
        return application._run_command(command, self.io.with_input(arguments))

    def _check_name(self, name: str, data: dict[str, Any], public: PublicIndex) -> None:
        from poetry_ado_plugin.pyproject import configured_prefix

        result = check_project_name(name, prefix=configured_prefix(data), index=public)
        if result.problems:
            raise NameProblemError(
                f"the name {name} has a problem: {'; '.join(result.problems)} (pass "
                "--no-check-name to publish anyway)"
            )
        for reason in result.unchecked:
            self.warn(f"{reason}; publishing anyway (run poetry ado check-name later)")
        if not result.unchecked:
            self.line(
                f"Name {name}: no problems found against {Formatter.escape(result.index_url)}"
            )

    def _public_sha256(self, public: PublicIndex, name: str) -> frozenset[str]:
        """The digests of the public package's files of this name, so that the feed's copies of
        them (through its upstream source) are not taken for ours."""
        from poetry_ado_plugin.public_index import Presence

        lookup = public.lookup(name, with_files=True)
        if lookup.presence is Presence.UNKNOWN:
            self.line(
                f"Could not read {public.display_url}{lookup.name}/ ({lookup.reason}): files the "
                "feed lists from its upstream cannot be told from its own",
                verbosity=Verbosity.VERBOSE,
            )
        return frozenset(f.sha256 for f in lookup.files or () if f.sha256)

    def _rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.poetry.file.path.parent))
        except ValueError:
            return str(path)
