from __future__ import annotations

from typing import TYPE_CHECKING
from typing import ClassVar

from cleo.helpers import argument
from cleo.helpers import option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option

from poetry_ado_plugin.commands.base import AdoCommand
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.redact import safe_text


if TYPE_CHECKING:
    from poetry_ado_plugin.feed import ParsedFeedUrl
    from poetry_ado_plugin.feed_setup import FeedSetup


class AddFeedCommand(AdoCommand):
    name = "ado add-feed"
    description = "Add an Azure Artifacts feed as a package source and configure publishing to it."

    arguments: ClassVar[list[Argument]] = [
        argument(
            "url",
            "The feed's URL as Azure shows it (index or upload URL, any form).",
            optional=True,
        )
    ]
    options: ClassVar[list[Option]] = [
        option("org", None, "Azure DevOps organization (with --feed).", flag=False),
        option(
            "ado-project",
            None,
            "Azure DevOps project of the feed; leave out for an organization-scoped feed.",
            flag=False,
        ),
        option("feed", None, "Feed name, or name@View to read through a view.", flag=False),
        option(
            "server-url",
            None,
            "Azure DevOps Server collection URL, e.g. https://tfs.example.com/tfs/DefaultCollection.",
            flag=False,
        ),
        option(
            "name",
            None,
            "Source and repository name. Default: the feed name, lower-case, with '-' for "
            "anything outside a-z, 0-9 and '-'.",
            flag=False,
        ),
        option(
            "priority",
            None,
            "Source priority: supplemental (default for a new source), explicit or primary.",
            flag=False,
        ),
        option("no-repository", None, "Do not configure the publish repository.", flag=True),
        option("dry-run", None, "Print the changes as a diff and write nothing.", flag=True),
    ]

    help = """\
Adds an Azure Artifacts feed to pyproject.toml as a <c1>[[tool.poetry.source]]</c1> with the
feed's index URL, and sets Poetry's <c1>repositories.NAME.url</c1> to the feed's upload URL, so that
<c1>poetry publish -r NAME</c1> posts to <c1>/pypi/upload/</c1> instead of failing with a 405.

Give the feed as one pasted URL:
  <c1>poetry ado add-feed https://pkgs.dev.azure.com/contoso/Web/_packaging/team-feed/pypi/simple/</c1>
or by its parts (no --ado-project for an organization-scoped feed):
  <c1>poetry ado add-feed --org contoso --ado-project Web --feed team-feed</c1>
or on Azure DevOps Server:
  <c1>poetry ado add-feed --server-url https://tfs.example.com/tfs/DefaultCollection \
--ado-project Web --feed team-feed</c1>

Priority: <c1>supplemental</c1> keeps PyPI first and asks the feed only for what PyPI lacks.
<c1>explicit</c1> is the safer choice against dependency confusion: the feed is used only for
dependencies pinned to it with <c1>source = "NAME"</c1>, so a public package of the same name can
never win. <c1>primary</c1> makes the feed the first index and switches off the implicit PyPI.

Legacy source keys that Poetry 2 refuses (<c1>secondary = true</c1>, <c1>default = true</c1>) are
migrated. Everything else in pyproject.toml is kept byte for byte. Credentials embedded in a pasted
URL are never written: store a token with <c1>poetry ado login NAME</c1>.
"""

    def run_command(self) -> int:
        from poetry_ado_plugin.feed_setup import apply_feed_setup
        from poetry_ado_plugin.feed_setup import locked_for_setup
        from poetry_ado_plugin.feed_setup import plan_feed_setup
        from poetry_ado_plugin.pyproject import PRIORITIES

        parsed = self._parse_feed()
        priority = self.option("priority")
        if priority is not None and priority not in PRIORITIES:
            raise UsageError(f"unknown priority '{priority}': use one of {', '.join(PRIORITIES)}")
        pyproject = self.require_pyproject()
        configure_repository = not self.option("no-repository")
        with locked_for_setup(pyproject, configure_repository=configure_repository):
            setup = plan_feed_setup(
                pyproject,
                parsed.feed,
                name=self.option("name"),
                priority=priority,
                configure_repository=configure_repository,
            )
            if parsed.has_userinfo:
                self.line(
                    "The URL contains credentials: they were not written anywhere. "
                    f"Store a token with <c1>poetry ado login {setup.source.name}</c1>."
                )
            if self.option("dry-run"):
                return self._dry_run(setup)
            apply_feed_setup(setup)
        self._report(setup)
        return 0

    def _parse_feed(self) -> ParsedFeedUrl:
        from poetry_ado_plugin.feed import ParsedFeedUrl
        from poetry_ado_plugin.feed import feed_from_parts
        from poetry_ado_plugin.feed import parse_feed_url

        url = self.argument("url")
        parts = {
            "--org": self.option("org"),
            "--ado-project": self.option("ado-project"),
            "--feed": self.option("feed"),
            "--server-url": self.option("server-url"),
        }
        given = [flag for flag, value in parts.items() if value is not None]
        if url is not None:
            if given:
                raise UsageError(
                    f"give either a feed URL or {', '.join(given)}, not both: the URL already "
                    "names the feed"
                )
            return parse_feed_url(url)
        if parts["--feed"] is None:
            raise UsageError(
                "no feed given: pass the feed URL, or --org and --feed (and --ado-project for a "
                "project-scoped feed), or --server-url with --ado-project and --feed"
            )
        feed = feed_from_parts(
            feed=parts["--feed"],
            organization=parts["--org"],
            project=parts["--ado-project"],
            server_url=parts["--server-url"],
        )
        return ParsedFeedUrl(feed=feed, username=None, password=None)

    def _dry_run(self, setup: FeedSetup) -> int:
        self._report_migrations(setup)
        diff = setup.diff()
        if diff:
            self.write_diff(diff)
        else:
            self._report(setup)
        self.line("<comment>Dry run: nothing was written.</comment>")
        return 0

    def _report_migrations(self, setup: FeedSetup) -> None:
        for migration in setup.migrations:
            new = (
                f'priority = "{migration.new_priority}"'
                if migration.new_priority
                else "no priority"
            )
            self.line(
                f"Migrated source <c1>{migration.source_name}</c1>: {migration.old} -> {new} "
                "(Poetry 2 refuses the old key)"
            )

    def _report(self, setup: FeedSetup) -> None:
        self._report_migrations(setup)
        source = setup.source
        name = source.name
        if source.kind == "added":
            self.line(
                f"Added source <c1>{name}</c1> (priority {source.new_priority}): {source.new_url}"
            )
        elif source.kind == "updated":
            self.line(f"Updated source <c1>{name}</c1>:")
            if source.old_url != source.new_url:
                self.line(f"  url: {safe_text(str(source.old_url))} -> {source.new_url}")
            if source.old_priority != source.new_priority:
                self.line(f"  priority: {source.old_priority} -> {source.new_priority}")
        else:
            self.line(f"Source <c1>{name}</c1> is already configured for this feed.")

        repository = setup.repository
        if repository is not None:
            if repository.changed:
                was = f" (was {safe_text(repository.old_url)})" if repository.old_url else ""
                self.line(f"Set repositories.{name}.url = {repository.new_url}{was}")
            else:
                self.line(f"Publish repository <c1>{name}</c1> already points at the upload URL.")
        if setup.changed:
            self.line(
                f"Next: <c1>poetry ado login {name}</c1>, then install as usual and publish with "
                f"<c1>poetry publish -r {name}</c1>."
            )
