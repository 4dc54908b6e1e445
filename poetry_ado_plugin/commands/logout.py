from __future__ import annotations

from typing import ClassVar

from cleo.io.inputs.argument import Argument
from cleo.io.inputs.option import Option

from poetry_ado_plugin.commands._token_options import NAME_ARGUMENT
from poetry_ado_plugin.commands.base import AdoCommand


class LogoutCommand(AdoCommand):
    name = "ado logout"
    description = "Remove the stored credential of an Azure Artifacts feed (keyring and auth.toml)."

    arguments: ClassVar[list[Argument]] = [NAME_ARGUMENT]
    options: ClassVar[list[Option]] = []

    help = """\
Removes the credential stored for NAME from the keyring and from Poetry's auth.toml, and forgets
the expiry of an Azure CLI token. The source in pyproject.toml and the publish repository in
Poetry's config stay, so <c1>poetry ado login NAME</c1> is all it takes to log in again.
"""

    def run_command(self) -> int:
        from poetry_ado_plugin.azure_cli import forget_expiry
        from poetry_ado_plugin.credential_store import remove_credential

        name = self.argument("name")
        if name is None:
            from poetry_ado_plugin.credentials import resolve_target

            name = resolve_target(None, self.find_pyproject(), "logout").name

        result = remove_credential(name)
        for warning in result.warnings:
            self.warn(warning)
        removed = list(result.removed)
        if forget_expiry(name):
            removed.append("the Azure CLI token's expiry record")
        if removed:
            self.line(f"Removed the credential for <c1>{name}</c1> from: {', '.join(removed)}.")
        else:
            self.line(f"No credential was stored for <c1>{name}</c1>: nothing to remove.")
        return 0
