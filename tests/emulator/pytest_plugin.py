"""pytest fixtures for the Azure Artifacts feed emulator.

Load with `pytest_plugins = ["tests.emulator.pytest_plugin"]` in tests/conftest.py.

- `ado_emulator`: a started emulator per test with a project-scoped feed (organization "contoso",
  project "Fabrikam Web", feed "team-feed"), an organization-scoped feed ("contoso/org-feed") and
  a reader, a contributor and an expired token (all in PAT format), in hosted mode without an
  upstream.
- `ado_emulator_factory`: builds further emulators (`mode="server"`, `upstream=...`, another
  prefix, other feeds); each is stopped at teardown.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.emulator._upstream import UpstreamLike
from tests.emulator.emulator import DEFAULT_TENANT
from tests.emulator.emulator import MAX_FILE_SIZE
from tests.emulator.emulator import FeedEmulator
from tests.emulator.emulator import Mode
from tests.emulator.emulator import SignIn
from tests.emulator.emulator import make_pat
from tests.emulator.feed import EmulatedFeed
from tests.emulator.records import RecordedRequest


ORGANIZATION = "contoso"
PROJECT = "Fabrikam Web"
FEED = "team-feed"
ORG_FEED = "org-feed"
USERNAME = "ado-user"


@dataclass(frozen=True)
class AdoEmulator:
    """What `ado_emulator` yields: the running emulator, its two feeds and three tokens."""

    emulator: FeedEmulator
    feed: EmulatedFeed  # contoso / Fabrikam Web / team-feed
    org_feed: EmulatedFeed  # contoso / org-feed
    read_token: str
    write_token: str
    expired_token: str
    username: str = USERNAME

    def __repr__(self) -> str:  # tokens stay out of assertion messages and logs
        return f"AdoEmulator({self.emulator!r})"

    @property
    def base_url(self) -> str:
        return self.emulator.base_url

    @property
    def read_auth(self) -> tuple[str, str]:
        return (self.username, self.read_token)

    @property
    def write_auth(self) -> tuple[str, str]:
        return (self.username, self.write_token)

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.emulator.requests


# Where the emulators of the test suite send sign-in redirects: a loopback port nothing listens
# on, so a client that follows one fails at once instead of leaving the machine for Azure's
# real sign-in host.
LOCAL_SIGN_IN_HOST = "http://127.0.0.1:9"
# The authorization endpoint the emulators of the test suite advertise: the emulator itself, which
# serves the session-token exchange there, so that an Entra token never leaves the machine.
LOCAL_AUTHORIZATION_ENDPOINT = "{base}/_vssps/{org}/"


class EmulatorFactory:
    """Callable that creates (and by default starts) emulators; all are stopped at teardown."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._created: list[FeedEmulator] = []

    def __call__(
        self,
        *,
        prefix: str | None = None,
        start: bool = True,
        verbose: bool = False,
        mode: Mode = "hosted",
        upstream: UpstreamLike | None = None,
        sign_in: SignIn = "redirect",
        sign_in_host: str = LOCAL_SIGN_IN_HOST,
        metadata_versions: tuple[str, ...] | None = None,
        max_metadata_version: str | None = None,
        max_file_size: int = MAX_FILE_SIZE,
        authorization_endpoint: str = LOCAL_AUTHORIZATION_ENDPOINT,
        tenant_id: str | None = None,
    ) -> FeedEmulator:
        """A new emulator; the arguments are FeedEmulator's (prefix None: the mode's default)."""
        storage = self._root / f"emulator-{len(self._created)}"
        emulator = FeedEmulator(
            storage,
            prefix=prefix,
            verbose=verbose,
            mode=mode,
            upstream=upstream,
            sign_in=sign_in,
            sign_in_host=sign_in_host,
            metadata_versions=metadata_versions,
            max_metadata_version=max_metadata_version,
            max_file_size=max_file_size,
            authorization_endpoint=authorization_endpoint,
            tenant_id=tenant_id or DEFAULT_TENANT,
        )
        self._created.append(emulator)
        if start:
            emulator.start()
        return emulator

    def close(self) -> None:
        for emulator in self._created:
            emulator.stop()


@pytest.fixture
def ado_emulator_factory(tmp_path: Path) -> Iterator[EmulatorFactory]:
    factory = EmulatorFactory(tmp_path / "ado-emulators")
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def ado_emulator(ado_emulator_factory: EmulatorFactory) -> AdoEmulator:
    emulator = ado_emulator_factory(start=False)
    feed = emulator.add_feed(ORGANIZATION, FEED, project=PROJECT)
    org_feed = emulator.add_feed(ORGANIZATION, ORG_FEED)
    read_token, write_token, expired_token = make_pat(), make_pat(), make_pat()
    emulator.add_token(read_token, write=False)
    emulator.add_token(write_token, write=True)
    emulator.add_token(expired_token, write=True, expired=True)
    emulator.start()
    return AdoEmulator(
        emulator=emulator,
        feed=feed,
        org_feed=org_feed,
        read_token=read_token,
        write_token=write_token,
        expired_token=expired_token,
    )
