"""Where a publish goes: the feed source's exact upload URL, the setting Poetry's Publisher
reads it from, and the stored credential and TLS settings the upload is sent with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from poetry_ado_plugin.errors import FeedResponseError
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.feed import Feed
from poetry_ado_plugin.http import redact_credentials


if TYPE_CHECKING:
    import requests
    from poetry.config.config import Config

    from poetry_ado_plugin.sources import AzureSource


def add_feed_command(source: AzureSource) -> str:
    """The add-feed command that (re)configures ``source`` and its publish repository."""
    return f"poetry ado add-feed {redact_credentials(source.url)} --name {source.name}"


@dataclass(frozen=True)
class UploadTarget:
    url: str
    warning: str | None = None


def upload_target(source: AzureSource, configured: str | None) -> UploadTarget:
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
    feed = Feed.parse_or_none(configured)
    if feed is None:
        raise UsageError(
            f"{setting} is {shown}, which is not an Azure Artifacts feed URL: {fix} to set it "
            f"to {expected}"
        )
    if not feed.is_same_feed_ignoring_view(source.feed):
        raise UsageError(
            f"{setting} ({shown}) is another feed than source {source.name} "
            f"({redact_credentials(source.url)}): {fix} to make them agree"
        )
    if configured.strip() == expected:
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


def feed_session(config: Config, repository: str, auth: tuple[str, str]) -> requests.Session:
    """A pooled session with deadlines that sends what Poetry would send to ``repository``:
    ``auth`` (from ``feed_credentials``), its CA bundle and its client certificate."""
    from poetry_ado_plugin.http import make_session

    session = make_session()
    session.auth = auth
    session.verify, session.cert = feed_tls(config, repository)
    return session
