from __future__ import annotations

from typing import ClassVar

from cleo.formatters.formatter import Formatter
from cleo.helpers import option
from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option
from cleo.io.outputs.output import Verbosity

from poetry_ado_plugin.commands._token_options import NAME_ARGUMENT
from poetry_ado_plugin.commands._token_options import TOKEN_OPTIONS
from poetry_ado_plugin.commands._token_options import TokenCommand


class LoginCommand(TokenCommand):
    name = "ado login"
    description = (
        "Verify a token against an Azure Artifacts feed and store it where Poetry reads it."
    )

    arguments: ClassVar[list[Argument]] = [NAME_ARGUMENT]
    options: ClassVar[list[Option]] = [
        *TOKEN_OPTIONS,
        option(
            "no-verify", None, "Store the token without checking it against the feed.", flag=True
        ),
    ]

    help = """\
Stores a credential for an Azure Artifacts feed under the source's name, exactly as
<c1>poetry config http-basic NAME USER TOKEN</c1> would (keyring when usable, else auth.toml),
after checking that the feed accepts it. Poetry's own install, lock and publish then use it.

The token comes from the first of: <c1>--pat-stdin</c1> (one line on standard input),
<c1>--token-file PATH</c1>, <c1>--azure-cli</c1> (az), <c1>--azure-identity</c1>
(DefaultAzureCredential), <c1>POETRY_ADO_TOKEN_FILE</c1>, <c1>AZURE_DEVOPS_EXT_PAT</c1>,
<c1>SYSTEM_ACCESSTOKEN</c1>, this feed's entry in <c1>VSS_NUGET_EXTERNAL_FEED_ENDPOINTS</c1> or
<c1>ARTIFACTS_CREDENTIALPROVIDER_EXTERNAL_FEED_ENDPOINTS</c1>, <c1>VSS_NUGET_ACCESSTOKEN</c1>, the
credential PipAuthenticate put in <c1>PIP_INDEX_URL</c1>/<c1>PIP_EXTRA_INDEX_URL</c1>, the
TwineAuthenticate <c1>.pypirc</c1> at <c1>PYPIRC_PATH</c1>, <c1>/run/secrets/poetry-ado-token</c1>,
or a hidden prompt. No option takes the token itself.

An Entra ID token (<c1>--azure-cli</c1>, <c1>--azure-identity</c1>) is never stored: it is
exchanged for an Azure DevOps session token scoped to packaging (<c1>vso.packaging</c1>, or
<c1>vso.packaging_write</c1> with <c1>--write</c1>), valid for <c1>--valid-for</c1> (default 7d),
and minted again through the same identity when it runs out.

  <c1>echo "$PAT" | poetry ado login --pat-stdin</c1>
  <c1>poetry ado login my-feed --azure-cli</c1>
  <c1>poetry ado login my-feed --azure-identity --write --valid-for 8h</c1>

Login also points <c1>repositories.NAME.url</c1> at the feed's upload URL, so
<c1>poetry publish -r NAME</c1> works.
"""

    def run_command(self) -> int:
        from poetry_ado_plugin.azure_cli import format_expiry
        from poetry_ado_plugin.login_setup import check_repository
        from poetry_ado_plugin.login_setup import save_login

        target = self.target()
        # Before the token is asked for or checked: a broken config.toml, or a repository that
        # belongs to another feed, would make the login fail after all.
        check_repository(target.name, target.feed)
        token = self.find_token(target, allow_prompt=True)
        self.line(
            f"Using the token from {token.origin} for <c1>{target.name}</c1>.",
            verbosity=Verbosity.VERBOSE,
        )

        identity = None
        if self.option("no-verify"):
            self.line("Not verified (--no-verify).")
        else:
            from poetry_ado_plugin.verify import identify
            from poetry_ado_plugin.verify import verify_token

            verify_token(target.feed, token.username, token.secret)
            self.line(
                f"The feed accepted the token ({target.feed.index_url}).",
                verbosity=Verbosity.VERBOSE,
            )
            identity = identify(target.feed, token.username, token.secret)

        saved = save_login(target.name, target.feed, token)
        result, repository = saved.stored, saved.repository
        if result.fallback_reason:
            self.warn(
                f"{result.fallback_reason}: stored the token in {result.path} instead (plain "
                "text, readable only by you)."
            )

        where = "the keyring" if result.location == "keyring" else str(result.path)
        expiry = ""
        if token.refreshable and token.expires_on is not None:
            through = "az" if token.identity == "azure-cli" else "azure-identity"
            expiry = (
                f"; it expires {format_expiry(token.expires_on)} and is refreshed through "
                f"{through} when a Poetry command needs it"
            )
        who = f" as {Formatter.escape(identity)}" if identity else ""
        self.line(
            f"Logged in to <c1>{target.name}</c1>{who} (token from {token.origin}, stored in "
            f"{where} with username {token.username}{expiry})."
        )
        if not self.option("no-verify"):
            self.line(
                "Read access to the feed was verified; write access is checked when you publish."
            )
        if token.scope == "vso.packaging":
            self.line(
                "The session token may read the feed only; a publish first mints one that may "
                "write (or log in with --write)."
            )
        if repository.changed:
            was = ""
            if repository.old_url:
                from poetry_ado_plugin.http import redact_credentials

                was = f" (was {redact_credentials(repository.old_url)})"
            self.line(f"Set repositories.{target.name}.url = {repository.new_url}{was}")
        return 0
