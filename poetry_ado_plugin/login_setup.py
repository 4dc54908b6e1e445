"""What ``poetry ado login`` changes once it has a token: the publish repository in config.toml,
the expiry record of an Azure CLI token, and the credential itself (keyring or auth.toml).

These go all the way or not at all: the files are locked and kept, the credential is stored
last, and when any step fails every file is put back (and a keyring entry written just before
the failure is undone), so a failed login leaves the previous credential working. Ctrl-C and
SIGTERM wait until the steps are done."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from poetry_ado_plugin import files
from poetry_ado_plugin.errors import CredentialError


if TYPE_CHECKING:
    from poetry_ado_plugin.credential_store import StoreResult
    from poetry_ado_plugin.credentials import Token
    from poetry_ado_plugin.feed import Feed
    from poetry_ado_plugin.poetry_config import RepositoryChange


@dataclass(frozen=True)
class SavedLogin:
    stored: StoreResult
    repository: RepositoryChange


def check_repository(name: str, feed: Feed) -> RepositoryChange:
    """The change login makes to ``repositories.NAME.url``. Raises when config.toml cannot be
    used, or when the repository belongs to another feed (add-feed's rule: Poetry's repositories
    are global, another project may publish there)."""
    from poetry_ado_plugin.feed_setup import refuse_taking_over
    from poetry_ado_plugin.poetry_config import plan_repository

    repository = plan_repository(name, feed.upload_url)
    refuse_taking_over(
        repository,
        feed,
        fix=(
            "if this project should publish there instead, repoint it with "
            f"`poetry ado add-feed {feed.index_url} --name {name}`, or give this project's "
            "source another name"
        ),
    )
    return repository


def save_login(name: str, feed: Feed, token: Token) -> SavedLogin:
    from poetry_ado_plugin.azure_cli import expiry_file
    from poetry_ado_plugin.azure_cli import forget_expiry
    from poetry_ado_plugin.azure_cli import record_expiry
    from poetry_ado_plugin.credential_store import auth_file
    from poetry_ado_plugin.credential_store import store_credential
    from poetry_ado_plugin.poetry_config import apply_repository
    from poetry_ado_plugin.poetry_config import config_file

    # The lock order of every command: config.toml, auth.toml, then the expiry records.
    with files.all_or_nothing(config_file(), auth_file(), expiry_file(), error=CredentialError):
        repository = check_repository(name, feed)
        apply_repository(repository)
        if token.identity is not None and token.expires_on is not None:
            record_expiry(
                name,
                token.expires_on,
                token.tenant,
                token.username,
                identity=token.identity,
                scope=token.scope,
                valid_for=token.valid_for,
                feed_url=feed.without_view().index_url,
            )
        else:
            forget_expiry(name)
        stored = store_credential(name, token.username, token.secret)
    return SavedLogin(stored, repository)
