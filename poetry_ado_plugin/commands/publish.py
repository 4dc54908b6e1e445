from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from typing import ClassVar

from cleo.helpers import argument
from cleo.helpers import option

from poetry_ado_plugin.commands._feed_api import after_publish
from poetry_ado_plugin.commands.base import AdoCommand
from poetry_ado_plugin.errors import UsageError


if TYPE_CHECKING:
    from cleo.io.inputs.argument import Argument
    from cleo.io.inputs.option import Option

    from poetry_ado_plugin.publishing.publish import MetadataVersion


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
        from poetry_ado_plugin.publishing.publish import PublishRequest
        from poetry_ado_plugin.publishing.publish import publish

        if self.option("metadata-version-compat") and self.option("keep-metadata-version"):
            raise UsageError(
                "give either --metadata-version-compat or --keep-metadata-version, not both"
            )
        metadata_version: MetadataVersion = "auto"
        if self.option("metadata-version-compat"):
            metadata_version = "compat"
        elif self.option("keep-metadata-version"):
            metadata_version = "keep"
        request = PublishRequest(
            source=self.argument("name"),
            dist_dir=Path(self.option("dist-dir")),
            build=bool(self.option("build")),
            skip_existing=bool(self.option("skip-existing")),
            dry_run=bool(self.option("dry-run")),
            check_name=not self.option("no-check-name"),
            index_url=self.option("index-url"),
            metadata_version=metadata_version,
        )
        poetry = self.load_poetry()
        result = publish(poetry, request, self, build=self._build)
        if result.sent:
            after_publish(
                self,
                poetry,
                result.source,
                result.name,
                result.version,
                view=self.option("promote"),
                first_version=result.first_version,
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
