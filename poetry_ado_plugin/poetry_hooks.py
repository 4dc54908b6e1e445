"""What the plugin adds to Poetry's own commands that talk to an Azure feed.

plugin.py's console-event listeners import this module only for those commands (install, lock,
add, update, sync, show, search, remove, publish and the ``self`` ones) and only for a project
with an Azure source. Then, for this run only, and writing nothing to disk:

* ``poetry publish -r NAME`` of an Azure source whose ``repositories.NAME.url`` is set neither in
  Poetry's config nor in the environment posts to the feed's upload URL. Left alone, Poetry would
  post to the source's index URL (its Factory fills an unset repository in with the source's URL)
  and get 405.
* Every request Poetry sends to an Azure source carries ``X-TFS-FedAuthRedirect: Suppress``, so
  that a token the feed cannot read is answered with a 401, not with a sign-in page or a
  redirect to one, which Poetry would read as "no versions" or, on upload, as success.
* A request the feed refused (401, 403, a sign-in page or redirect) is remembered, and when the
  command ends one line per source says which credential Poetry used (a place, never a secret),
  when it expires if that is known, and how to fix it. Poetry's own output is left as it is.

The hooks wrap ``Authenticator.request`` (every index page and download Poetry asks for) and
``Uploader.make_session`` (the upload), which have the same signatures from Poetry 2.0 to 2.5;
the end-to-end tests run on both ends of that range. Each watched request costs one header and
one status check; other hosts cost a dictionary lookup."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from dataclasses import field
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import urlsplit

from poetry_ado_plugin.http import SUPPRESS_SIGN_IN
from poetry_ado_plugin.sources import AzureSource
from poetry_ado_plugin.sources import azure_sources


if TYPE_CHECKING:
    from collections.abc import Callable

    import requests
    from cleo.events.console_command_event import ConsoleCommandEvent
    from cleo.events.console_terminate_event import ConsoleTerminateEvent
    from cleo.io.io import IO
    from poetry.config.config import Config
    from poetry.poetry import Poetry


@dataclass(frozen=True)
class Refusal:
    """The first refused request to one source."""

    status: int
    kind: str  # "unauthorized" or "forbidden"


@dataclass
class FeedWatch:
    """The Azure sources of this run, and what their feeds refused."""

    sources: list[AzureSource]
    config: Config
    refusals: dict[str, Refusal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_host: dict[str, list[AzureSource]] = {}
        for source in self.sources:
            self._by_host.setdefault(_host(source.url), []).append(source)

    def source_for(self, url: str) -> AzureSource | None:
        """The source a request URL belongs to: the same feed by name, else the only Azure
        source on that host (download links name project and feed by GUID)."""
        candidates = self._by_host.get(_host(url))
        if not candidates or "/_packaging/" not in url:
            return None
        from poetry_ado_plugin.feed import Feed

        feed = Feed.parse_or_none(url)
        if feed is not None:
            for source in candidates:
                if source.feed.is_same_feed_ignoring_view(feed):
                    return source
        return candidates[0] if len(candidates) == 1 else None

    def observe(self, source: AzureSource, response: requests.Response) -> None:
        kind = _refusal(response)
        if kind is not None and source.name not in self.refusals:
            self.refusals[source.name] = Refusal(response.status_code, kind)

    def report(self) -> list[str]:
        """One line per refused source."""
        from poetry_ado_plugin.azure_cli import format_expiry
        from poetry_ado_plugin.credential_store import locate_credential

        lines = []
        for source in self.sources:
            refusal = self.refusals.get(source.name)
            if refusal is None:
                continue
            try:
                place = locate_credential(source.name, self.config)
            except Exception:  # an unreadable auth.toml must not hide the line itself
                place = None
            if place is None or not place.found:
                used = "no credential was configured for it"
            else:
                user = f" (username {place.username})" if place.username else ""
                used = f"the credential from {place.where}{user}"
                if place.expires_on is not None:
                    import time

                    verb = "expired" if place.expires_on <= time.time() else "expires"
                    used += f", which {verb} {format_expiry(place.expires_on)}"
            what = f"Azure feed source {source.name} refused the request (HTTP {refusal.status})"
            if refusal.kind == "forbidden":
                fix = (
                    "the identity has no role on the feed: ask a feed owner for the Feed Reader "
                    "role (Contributor to publish)"
                )
            else:
                fix = f"run `poetry ado login {source.name}`"
            lines.append(f"{what}; Poetry sent {used}; {fix}")
        return lines


def _host(url: str) -> str:
    return urlsplit(url).netloc.rpartition("@")[2].casefold()


def _refusal(response: requests.Response) -> str | None:
    """From the status and headers alone: the body is Poetry's to read."""
    status = response.status_code
    if status == 403:
        return "forbidden"
    if status in (401, 203):
        return "unauthorized"
    hops = [*response.history, response]
    if any("_signin" in hop.headers.get("Location", "") for hop in hops):
        return "unauthorized"
    return None


# -- the running command ----------------------------------------------------------------------

_WATCH: FeedWatch | None = None


def watch_command(event: ConsoleCommandEvent) -> None:
    """COMMAND listener body for a command that may talk to a feed. Never raises."""
    global _WATCH
    try:
        poetry: Poetry = event.command.poetry  # type: ignore[attr-defined]
        sources = azure_sources(poetry.local_config.get("source") or [])
    except Exception:
        # Not a project, or one Poetry cannot load: the command itself will say so.
        return
    if not sources:
        return
    _WATCH = FeedWatch(sources, poetry.config)
    _install_request_hook()
    if str(event.command.name) == "publish":
        _prepare_publish(event, poetry, sources)


def report_refusals(event: ConsoleTerminateEvent) -> None:
    """TERMINATE listener body: the lines, on stderr, after Poetry's own output."""
    watch = _WATCH
    if watch is None:
        return
    try:
        lines = watch.report()
    except Exception:
        return
    if not lines:
        return
    from cleo.formatters.formatter import Formatter

    from poetry_ado_plugin.redact import safe_text

    for line in lines:
        event.io.write_error_line(f"<warning>{Formatter.escape(safe_text(line))}</warning>")


def _install_request_hook() -> None:
    from poetry.utils.authenticator import Authenticator

    if getattr(Authenticator.request, "_ado_watched", False):
        return
    Authenticator.request = _watched_request(Authenticator.request)  # type: ignore[method-assign]


def _watched_request(original: Callable[..., requests.Response]) -> Callable[..., Any]:
    import requests

    @functools.wraps(original)
    def request(
        self: object, method: str, url: str, raise_for_status: bool = True, **kwargs: Any
    ) -> requests.Response:
        watch = _WATCH
        source = watch.source_for(url) if watch is not None else None
        if watch is None or source is None:
            return original(self, method, url, raise_for_status, **kwargs)
        kwargs["headers"] = {**(kwargs.get("headers") or {}), **SUPPRESS_SIGN_IN}
        try:
            response = original(self, method, url, raise_for_status, **kwargs)
        except requests.HTTPError as error:
            if error.response is not None:
                watch.observe(source, error.response)
            raise
        watch.observe(source, response)
        return response

    request._ado_watched = True  # type: ignore[attr-defined]
    return request


# -- poetry publish -r NAME ------------------------------------------------------------------


def _prepare_publish(
    event: ConsoleCommandEvent, poetry: Poetry, sources: list[AzureSource]
) -> None:
    try:
        name = event.io.input.option("repository")
    except Exception:
        return
    source = next((s for s in sources if s.name == name), None)
    if source is None:
        return
    _watch_uploads(source)
    from poetry_ado_plugin.poetry_config import find_repository_setting

    try:
        configured = find_repository_setting(source.name, poetry.pyproject_path.parent)
    except Exception:
        return  # an unreadable config file: Poetry decides, not us
    if configured is not None:
        return
    url = source.feed.upload_url
    poetry.config.merge({"repositories": {source.name: {"url": url}}})
    _verbose(
        event.io,
        f"Publishing to {url}: the upload URL of source {source.name} (repositories."
        f"{source.name}.url is not set; nothing was written)",
    )


def _watch_uploads(source: AzureSource) -> None:
    from poetry.publishing.uploader import Uploader

    original = Uploader.make_session
    if getattr(original, "_ado_watched", False):
        return

    @functools.wraps(original)
    def make_session(self: Uploader) -> requests.Session:
        session = original(self)
        session.headers.update(SUPPRESS_SIGN_IN)

        def remember(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            watch = _WATCH
            if watch is not None:
                watch.observe(source, response)

        session.hooks["response"].append(remember)
        return session

    make_session._ado_watched = True  # type: ignore[attr-defined]
    Uploader.make_session = make_session  # type: ignore[method-assign]


def _verbose(io: IO, line: str) -> None:
    from cleo.formatters.formatter import Formatter
    from cleo.io.outputs.output import Verbosity

    io.write_line(Formatter.escape(line), verbosity=Verbosity.VERBOSE)
