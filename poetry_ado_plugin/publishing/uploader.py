"""The upload: Poetry's own Uploader, so the progress output is ``poetry publish``'s, with a
retry policy and Azure-aware handling of each answer. It writes its progress and retry lines
through the IO it is handed, as Poetry's Uploader does.

Connection errors, timeouts and 5xx answers are retried with backoff (a Retry-After, as a
number or an HTTP-date, is honoured within the command's allowance); a 4xx is never retried; a
409 is success only when the feed's index lists that exact file (same sha256 when the index
gives one) and an earlier attempt of it could have stored it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import Literal

from poetry.publishing.uploader import Uploader
from poetry.publishing.uploader import UploadError

from poetry_ado_plugin import answers
from poetry_ado_plugin.answers import IMMUTABLE
from poetry_ado_plugin.answers import read_answer
from poetry_ado_plugin.errors import FeedResponseError
from poetry_ado_plugin.errors import VersionExistsError
from poetry_ado_plugin.http import SUPPRESS_SIGN_IN
from poetry_ado_plugin.http import RetryAfterRefused
from poetry_ado_plugin.http import describe_connection_error
from poetry_ado_plugin.http import host_of
from poetry_ado_plugin.http import in_chain
from poetry_ado_plugin.http import make_session
from poetry_ado_plugin.http import retry_after_wait
from poetry_ado_plugin.publishing.feed_index import explain
from poetry_ado_plugin.publishing.metadata_compat import downgrade_fields


if TYPE_CHECKING:
    import requests
    from cleo.io.io import IO
    from poetry.poetry import Poetry

    from poetry_ado_plugin.publishing.dist_files import DistFile
    from poetry_ado_plugin.publishing.feed_index import FeedProject
    from poetry_ado_plugin.publishing.feed_index import UploadPlan
    from poetry_ado_plugin.publishing.metadata_compat import MetadataCompat
    from poetry_ado_plugin.sources import AzureSource


RETRIES_VARIABLE = "POETRY_ADO_PUBLISH_RETRIES"
BACKOFF_VARIABLE = "POETRY_ADO_PUBLISH_BACKOFF"
MAX_RETRIES = 10


@dataclass(frozen=True)
class RetryPolicy:
    """``retries`` further attempts after the first, waiting ``backoff`` * 2**n seconds."""

    retries: int = 3
    backoff: float = 1.0
    max_delay: float = 60.0

    @property
    def attempts(self) -> int:
        return 1 + self.retries

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds before retry number ``retry`` (1-based); a server's Retry-After is honoured
        up to ``max_delay``."""
        delay = self.backoff * float(2 ** (retry - 1))
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.max_delay)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> RetryPolicy:
        from poetry_ado_plugin.environment import env_number

        default = cls()
        retries = env_number(
            RETRIES_VARIABLE, default.retries, maximum=MAX_RETRIES, integer=True, environ=environ
        )
        backoff = env_number(BACKOFF_VARIABLE, default.backoff, maximum=60, environ=environ)
        return cls(int(retries), backoff)


@dataclass(frozen=True)
class FileResult:
    file: DistFile
    outcome: Literal["uploaded", "already-stored", "skipped"]
    attempts: int
    note: str | None = None


def describe_upload_error(error: Exception, url: str) -> str:
    """Why an upload got no answer, for the retry line: a timeout, a dropped connection, or a
    connection that could not be made."""
    import requests
    from urllib3.exceptions import ProtocolError

    host = host_of(url)
    if isinstance(error, requests.exceptions.Timeout):
        return f"a timeout ({host} did not answer in time)"
    if in_chain(error, (ProtocolError, ConnectionResetError, BrokenPipeError)) is not None:
        return f"a dropped connection to {host}"
    return f"a connection error ({describe_connection_error(error, url)})"


def _phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "server error"


class GuardedUploader(Uploader):
    """Poetry's Uploader with a fixed file list, retries and Azure-aware failure handling.

    Overrides ``files``/``version`` (the checked files, the project's version) and ``_upload``
    (one retry loop per file around Poetry's own ``_upload_file``, so the progress output is
    ``poetry publish``'s). Both exist with these signatures from Poetry 2.0 to 2.5. Poetry's
    ``skip_existing`` is never used: it takes any 409 for "already there", which is also the
    answer for a version that was deleted and can never be published again."""

    def __init__(
        self,
        poetry: Poetry,
        io: IO,
        *,
        plan: UploadPlan,
        version: str,
        source: AzureSource,
        lookup: Callable[[], FeedProject],
        policy: RetryPolicy | None = None,
        skip_existing: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        session_factory: Callable[[], requests.Session] | None = None,
        metadata_compat: MetadataCompat | None = None,
    ) -> None:
        super().__init__(poetry, io, plan.upload[0].path.parent if plan.upload else None)
        self._plan = plan
        self._guarded_version = version
        self._source = source
        self._lookup = lookup
        self._policy = policy or RetryPolicy()
        self._skip_existing = skip_existing
        self._sleep = sleep
        self._session_factory = session_factory
        self._last_response: requests.Response | None = None
        self._metadata_compat = metadata_compat
        self.results: list[FileResult] = []

    # -- what Poetry's Publisher asks ---------------------------------------------------------

    @property
    def files(self) -> list[Path]:
        return [dist.path for dist in self._plan.upload]

    @property
    def version(self) -> str:
        return self._guarded_version

    def post_data(self, file: Path) -> dict[str, Any]:  # type: ignore[override]
        # A classmethod in Poetry 2.3+, a method before; called as self.post_data in both.
        data: dict[str, Any] = super().post_data(file)
        if self._metadata_compat is not None:
            data = downgrade_fields(data)[0]
        return data

    def make_session(self) -> requests.Session:
        if self._session_factory is not None:
            session = self._session_factory()
            auth = self.get_auth()
            if auth is not None:
                session.auth = auth
        else:
            # Ours, not Poetry's plain session: deadlines and capped bodies. No retries of its
            # own: this class decides what is safe to send again.
            session = make_session(retries=0)
            auth = self.get_auth()
            if auth is not None:
                session.auth = auth
        # A plain 401 instead of a 203 sign-in page, which Poetry would take for success.
        session.headers.update(SUPPRESS_SIGN_IN)
        session.hooks["response"].append(self._remember)
        return session

    def _remember(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._last_response = response

    # -- the loop -----------------------------------------------------------------------------

    def _upload(
        self,
        session: requests.Session,
        url: str,
        dry_run: bool = False,
        skip_existing: bool = False,
    ) -> None:
        for dist in self._plan.upload:
            self.results.append(self._upload_with_retries(session, url, dist, dry_run))

    def _upload_with_retries(
        self, session: requests.Session, url: str, dist: DistFile, dry_run: bool
    ) -> FileResult:
        import requests

        attempts = self._policy.attempts
        uncertain = False  # an earlier attempt may have stored the file without telling us
        for attempt in range(1, attempts + 1):
            self._last_response = None
            try:
                super()._upload_file(session, url, dist.path, dry_run, False)
            except UploadError as error:
                cause, failure = error.__cause__, str(error)
                if not self._io.error_output.is_decorated():
                    # Poetry's plain progress line has no end: what follows starts on its own.
                    self._io.write_error("\n")
            else:
                response = self._last_response
                if response is not None and read_answer(response).kind == "unauthorized":
                    raise FeedResponseError(self._explain(response, url, dist)) from None
                return FileResult(dist, "uploaded", attempt)

            retry_after = None
            if isinstance(cause, requests.RequestException):
                # HTTPError carries the answer; without one the connection failed, possibly
                # after the server had the file (the response hook may even have fired).
                response = cause.response
            else:
                # A redirect (Poetry raises without a cause), or Poetry's own complaint.
                response = self._last_response
                if response is None:
                    raise FeedResponseError(f"could not upload {dist.filename}: {failure}")
            if response is None:
                assert cause is not None
                reason = describe_upload_error(cause, url)
            elif response.status_code == 409:
                return self._conflict(response, url, dist, attempt, uncertain)
            elif response.status_code >= 500:
                # The standard phrase: Azure's reason phrase also carries its whole message.
                reason = f"{response.status_code} {_phrase(response.status_code)}"
                try:
                    retry_after = retry_after_wait(response)
                except RetryAfterRefused as refused:
                    raise FeedResponseError(
                        f"could not upload {dist.filename} to {self._source.feed.name} "
                        f"({reason}): {refused}, longer than a command waits; try again later, "
                        "and rerun with --skip-existing"
                    ) from None
            else:
                raise FeedResponseError(self._explain(response, url, dist)) from None

            if attempt == attempts:
                tries = "attempt" if attempts == 1 else f"{attempts} attempts"
                raise FeedResponseError(
                    f"could not upload {dist.filename} to {self._source.feed.name} after {tries}"
                    f" (last: {reason}): try again later; files already uploaded stay on the "
                    "feed, so rerun with --skip-existing"
                )
            uncertain = True
            delay = self._policy.delay(attempt, retry_after)
            self._io.write_line(
                f"<warning>Retrying upload of {dist.filename} (attempt {attempt + 1} of "
                f"{attempts}) after {reason}</warning>"
            )
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _conflict(
        self,
        response: requests.Response,
        url: str,
        dist: DistFile,
        attempt: int,
        uncertain: bool,
    ) -> FileResult:
        """A 409: fine only if the feed now lists this exact file and we may have put it there
        (or --skip-existing asked to skip files that are there); otherwise the version is taken
        or was deleted, which no retry can fix."""
        listed = self._lookup().find(dist.filename)
        identical = listed is not None and listed.sha256 in (None, dist.sha256)
        if listed is not None and uncertain and identical:
            self._io.write_line(
                f"<info>{dist.filename} is on the feed: an earlier attempt stored it</info>"
            )
            return FileResult(dist, "already-stored", attempt)
        if listed is not None and self._skip_existing:
            note = "appeared on the feed since the check"
            if not identical:
                note += " with different content"
            self._io.write_line(f"<warning>Skipping {dist.filename}: {note}</warning>")
            return FileResult(dist, "skipped", attempt, note)
        message = self._explain(response, url, dist)
        if listed is None and read_answer(response).kind != answers.UPSTREAM:
            message = (
                f"the feed refused {dist.filename} (HTTP 409) although its index does not list "
                f"it: {dist.name} {dist.version} was published before and deleted. {IMMUTABLE}"
            )
        raise VersionExistsError(message)

    def _explain(self, response: requests.Response, url: str, dist: DistFile) -> str:
        return explain(
            read_answer(response),
            source=self._source,
            action="upload",
            url=url,
            filename=dist.filename,
        )
