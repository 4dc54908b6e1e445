"""Questions asked of a public package index (PyPI by default, or a mirror of it).

Two kinds of question:

* Does a project exist? ``GET {index}/{normal-name}/`` (the simple API): 404 means free; 200,
  also after redirects, means taken; any other answer or a network failure means "unknown",
  never "free". Many names are asked at once over one pooled session.
* Which projects exist at all? ``GET {index}`` (the root of the simple API; tens of MB for
  PyPI). It is kept in Poetry's cache directory as sorted lines that are queried through a
  memory map without being read (:class:`ProjectList`), revalidated with
  ``If-None-Match``/``If-Modified-Since`` once it is older than a day, and used as it is when
  the index cannot be reached.

Existence is decided from the status code alone: mirrors may ignore the PEP 691 ``Accept``
header and answer HTML, so a body is only parsed where it matters (the project list), and
either form is understood there."""

from __future__ import annotations

import contextlib
import hashlib
import json
import mmap
import os
import re
import time
from collections.abc import Callable
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from urllib.parse import urlsplit

from poetry_ado_plugin import files
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.http import DEFAULT_TIMEOUT
from poetry_ado_plugin.http import describe_connection_error
from poetry_ado_plugin.http import discard_body
from poetry_ado_plugin.http import host_of
from poetry_ado_plugin.http import iter_body
from poetry_ado_plugin.http import make_session
from poetry_ado_plugin.http import read_body
from poetry_ado_plugin.http import redact_credentials
from poetry_ado_plugin.names import is_valid_name
from poetry_ado_plugin.names import normalize
from poetry_ado_plugin.names import ultranormalize
from poetry_ado_plugin.simple_index import IndexFile
from poetry_ado_plugin.simple_index import parse_project_page
from poetry_ado_plugin.simple_index import same_version


if TYPE_CHECKING:
    import requests


DEFAULT_INDEX_URL = "https://pypi.org/simple/"

# Lookups are tiny and latency-bound: enough parallel requests to hide the round trip, few
# enough that PyPI's CDN does not see a burst from one machine.
LOOKUP_WORKERS = 24

# PyPI's project list changes every few minutes, so a conditional request nearly always means
# downloading it again; a day-old list is good enough for similarity warnings (existence itself
# is always asked live).
PROJECT_LIST_MAX_AGE = 24 * 3600.0

ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, "
    "text/html;q=0.1"
)

# 1: projects.txt held one normal name per line, read whole. 2: the form of ProjectList, mapped.
CACHE_FORMAT = 2
# The most of a project list we read: PyPI's is about 30 MB as HTML, so this leaves room to
# grow while a server that streams gigabytes costs a bounded amount of memory.
PROJECT_LIST_MAX_BYTES = 256 * 1024 * 1024
_CHUNK = 256 * 1024

ProgressCallback = Callable[[int, "int | None"], None]
"""Called with (bytes received, total bytes or None) while the project list downloads."""


class Presence(Enum):
    EXISTS = "exists"
    MISSING = "missing"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Lookup:
    """The answer for one normal name; ``reason`` says why it is UNKNOWN. ``files`` is the
    project page's file list when it was asked for and the project exists."""

    name: str
    presence: Presence
    reason: str | None = None
    files: tuple[IndexFile, ...] | None = None

    def sha256_of_version(self, version: str) -> frozenset[str]:
        """The sha256 digests of the files of ``version`` this page lists."""
        return frozenset(
            f.sha256
            for f in self.files or ()
            if f.sha256 and f.version is not None and same_version(f.version, version)
        )


def index_root(url: str) -> str:
    """``url`` as the root of a simple index, ending in ``/``; UsageError when it is no URL
    (empty, no http(s) scheme or host, a bad port or IPv6 address, a line break)."""
    root = url.strip()
    fix = f"pass the root of a simple index, e.g. {DEFAULT_INDEX_URL}"
    if not root:
        raise UsageError(f"--index-url is empty: {fix}")
    if not root.isprintable():
        # urlsplit would quietly drop the line break; the URL is not echoed, it may hold more.
        raise UsageError(f"--index-url contains a line break or control character: {fix}")
    try:
        parts = urlsplit(root)
    except ValueError:  # a bracketed host that is no IPv6 address
        raise UsageError(
            f"--index-url {redact_credentials(url)!r} has an invalid host: {fix}"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--index-url {redact_credentials(url)!r} is not an http(s) URL: {fix}")
    try:
        parts.port  # noqa: B018  # urlsplit checks the port only when asked
    except ValueError:
        raise UsageError(
            f"--index-url {redact_credentials(url)!r} has a port that is not a number from 0 "
            f"to 65535: {fix}"
        ) from None
    if ":" in parts.hostname:
        import ipaddress

        try:
            ipaddress.IPv6Address(parts.hostname)
        except ValueError:
            raise UsageError(
                f"--index-url {redact_credentials(url)!r} has an invalid IPv6 host: {fix}"
            ) from None
    return root if root.endswith("/") else root + "/"


def display_url(url: str) -> str:
    return redact_credentials(url)


class PublicIndex:
    """A simple index, asked over one pooled session. Use as a context manager."""

    def __init__(
        self,
        url: str = DEFAULT_INDEX_URL,
        *,
        session: requests.Session | None = None,
        workers: int = LOOKUP_WORKERS,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = index_root(url)
        self.workers = workers
        self.timeout = timeout
        self._own_session = session is None
        if session is None:
            # A short retry budget: a flaky answer is retried, a dead index fails within a second.
            session = make_session(retries=2, pool_size=workers, backoff=0.2)
            _read_environment_once(session, self.url)
        self.session = session
        # One answer per name for the life of the index: a command that asks twice (publish's
        # name check and its file list) sends one request.
        self._answers: dict[str, Lookup] = {}

    def __enter__(self) -> PublicIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    @property
    def display_url(self) -> str:
        return display_url(self.url)

    def project_url(self, name: str) -> str:
        # Always the normal name: pypi.org answers 301 for any other spelling.
        return f"{self.url}{normalize(name)}/"

    def lookup(self, name: str, *, with_files: bool = False) -> Lookup:
        """Whether ``name`` exists; with ``with_files``, also the files its page lists."""
        normal = normalize(name)
        known = self._answers.get(normal)
        if known is not None and not (with_files and known.presence is Presence.EXISTS):
            return known
        if known is not None and known.files is not None:
            return known
        answer = self._ask(normal, with_files=with_files)
        self._answers[normal] = answer
        return answer

    def _ask(self, normal: str, *, with_files: bool) -> Lookup:
        import requests

        url = self.project_url(normal)
        try:
            with self.session.get(
                url,
                headers={"Accept": ACCEPT},
                timeout=self.timeout,
                allow_redirects=True,
                stream=True,
            ) as response:
                # Reading the body hands the connection back to the pool for the next lookup;
                # a popular project's page can be megabytes, of which only the status counts.
                body = b""
                if with_files and response.status_code == 200:
                    body = read_body(response)
                else:
                    discard_body(response)
        except requests.RequestException as error:
            return Lookup(normal, Presence.UNKNOWN, describe_connection_error(error, url))
        if response.history and not self._is_project_page(response.url):
            # A redirect away from the index's project pages (a proxy's sign-in page, a captive
            # portal) says nothing about the project, whatever its final status.
            where = host_of(response.url)
            return Lookup(normal, Presence.UNKNOWN, f"{host_of(url)} redirected to {where}")
        if response.status_code == 200:
            files = None
            if with_files:
                content_type = response.headers.get("Content-Type", "")
                text = body.decode(response.encoding or "utf-8", errors="replace")
                files = parse_project_page(text, content_type)
            return Lookup(normal, Presence.EXISTS, files=files)
        if response.status_code == 404:
            return Lookup(normal, Presence.MISSING)
        return Lookup(normal, Presence.UNKNOWN, _status_reason(response, url))

    def _is_project_page(self, url: str) -> bool:
        root = urlsplit(self.url).path
        path = urlsplit(url).path
        rest = path[len(root) :].strip("/") if path.startswith(root) else ""
        return bool(rest) and "/" not in rest

    def lookup_all(
        self, names: Iterable[str], *, with_files: Iterable[str] = ()
    ) -> dict[str, Lookup]:
        """Every name's answer, keyed by normal name; asked concurrently. Names in
        ``with_files`` also get their page's file list."""
        unique = list(dict.fromkeys(normalize(name) for name in names))
        wanted = {normalize(name) for name in with_files}

        def ask(name: str) -> Lookup:
            return self.lookup(name, with_files=name in wanted)

        if len(unique) <= 1:
            return {name: ask(name) for name in unique}
        with ThreadPoolExecutor(max_workers=min(self.workers, len(unique))) as pool:
            return dict(zip(unique, pool.map(ask, unique), strict=True))


def _read_environment_once(session: requests.Session, url: str) -> None:
    """Settle the proxy, netrc and CA-bundle settings from the environment now, for this index.

    requests reads them again on every request (two full scans of ``os.environ`` for the proxy
    variables alone); over hundreds of lookups that was half of the client's CPU time. Every
    lookup goes to the same index, so one reading gives the same answer."""
    from requests.utils import get_environ_proxies
    from requests.utils import get_netrc_auth

    session.proxies.update(get_environ_proxies(url))
    if session.auth is None:
        session.auth = get_netrc_auth(url)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle and session.verify is True:
        session.verify = bundle
    session.trust_env = False


def _status_reason(response: requests.Response, url: str) -> str:
    reason = f" {response.reason}" if response.reason else ""
    return f"{host_of(url)} answered HTTP {response.status_code}{reason}"


# --------------------------------------------------------------------------------------------
# The project list


class ProjectList:
    """Every project of an index, in the form of its cache file, queried where it lies.

    The form is text (ASCII for valid names), one line each, every line ending in a newline:

    * a header: the format, the number of names, where the keys start and the size in bytes;
    * the normal names, sorted (membership and ``starting_with``);
    * one ``{ultranormal form} {normal name}`` line per name, sorted (``similar_to``): names PyPI
      calls "too similar" share their ultranormal form, so they sit together.

    A loaded cache is a read-only memory map of that file, so nothing is read into lists: each
    query is a binary search for the block of lines that can match, touching a few pages of
    PyPI's ~900,000 names. A list built from names holds the same bytes in memory and is queried
    the same way, which is also what is written to the cache."""

    def __init__(
        self, data: bytes | mmap.mmap, count: int, names_start: int, keys_start: int
    ) -> None:
        self._data = data
        self._names = (names_start, keys_start)
        self._keys = (keys_start, len(data))
        self.count = count

    @classmethod
    def from_names(cls, names: Iterable[str]) -> ProjectList:
        # dict.fromkeys keeps the index's order, which is nearly sorted already: sorting it is
        # several times faster than sorting a set.
        unique = sorted(dict.fromkeys(names))
        joined = "\n".join(unique)
        if "" in unique or " " in joined or joined.count("\n") != len(unique) - 1:
            # Not a name: an empty line, or one that would break the lines apart.
            unique = [name for name in unique if name and not _BREAKS_LINE.search(name)]
            joined = "\n".join(unique)
        # ultranormalize() over the joined names at once, like _normalize_all.
        keys = ultranormalize(joined).split("\n") if unique else []
        pairs = sorted(map(" ".join, zip(keys, unique, strict=True)))
        names_part = (joined + "\n" if unique else "").encode("utf-8")
        keys_part = ("\n".join(pairs) + "\n" if unique else "").encode("utf-8")
        names_start = len(_header(0, 0, 0))
        keys_start = names_start + len(names_part)
        size = keys_start + len(keys_part)
        data = b"".join((_header(len(unique), keys_start, size), names_part, keys_part))
        return cls(data, len(unique), names_start, keys_start)

    @classmethod
    def from_buffer(cls, data: bytes | mmap.mmap) -> ProjectList | None:
        """The list ``data`` holds, or None when it is not a whole list of this format (another
        format, torn or truncated, a foreign file)."""
        header = _HEADER.match(data[: len(_header(0, 0, 0))])
        if header is None or int(header["format"]) != CACHE_FORMAT:
            return None
        count, keys_start, size = int(header["count"]), int(header["keys"]), int(header["size"])
        names_start = header.end()
        if size != len(data) or not names_start <= keys_start <= size:
            return None
        # Each part is empty or ends with a newline; both are empty or neither.
        for start, end in ((names_start, keys_start), (keys_start, size)):
            if (start == end) != (count == 0) or (end > start and data[end - 1 : end] != b"\n"):
                return None
        return cls(data, count, names_start, keys_start)

    @property
    def data(self) -> bytes:
        """The whole list in its file form."""
        return bytes(self._data)

    def close(self) -> None:
        """Release the memory map, if any (Windows cannot replace a mapped file)."""
        if isinstance(self._data, mmap.mmap):
            self._data.close()

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str):
            return False
        line = normalize(name).encode("utf-8") + b"\n"
        start = self._first_line_at_least(line[:-1], *self._names)
        return self._data[start : start + len(line)] == line and start < self._names[1]

    def starting_with(self, normal_prefix: str) -> list[str]:
        """The names that start with ``normal_prefix``, sorted."""
        prefix = normal_prefix.encode("utf-8")
        # No line that starts with the prefix sorts after prefix + 0xff (no UTF-8 byte).
        block = self._block(prefix, prefix + b"\xff", *self._names)
        return block.split("\n")[:-1]

    def similar_to(self, name: str) -> list[str]:
        """Projects PyPI would call "too similar" to ``name``, without ``name`` itself."""
        key = ultranormalize(name).encode("utf-8")
        # The lines "{key} {name}": " " sorts before every character of a key, "!" right after.
        block = self._block(key + b" ", key + b"!", *self._keys)
        normal = normalize(name)
        found = (line.partition(" ")[2] for line in block.split("\n")[:-1])
        return sorted(match for match in found if match != normal)

    def _block(self, low_key: bytes, high_key: bytes, start: int, end: int) -> str:
        """The lines of ``[start, end)`` from ``low_key`` up to ``high_key``, each ending in a
        newline; "" when there are none."""
        first = self._first_line_at_least(low_key, start, end)
        last = self._first_line_at_least(high_key, first, end)
        return self._data[first:last].decode("utf-8", errors="replace")

    def _first_line_at_least(self, key: bytes, start: int, end: int) -> int:
        """Where the first line of ``[start, end)`` that is >= ``key`` starts (``end`` when
        none is). ``start`` and ``end`` are line starts. Bytes that are not sorted lines give a
        wrong offset within the range, never an error."""
        data = self._data
        low, high = start, end
        while low < high:
            middle = (low + high) // 2
            line = max(low, data.rfind(b"\n", low, middle) + 1)
            stop = data.find(b"\n", line, high)
            if stop < 0:
                stop = high - 1
            if data[line:stop] < key:
                low = stop + 1
            else:
                high = line
        return low


_HEADER = re.compile(
    rb"# poetry-ado project list, format (?P<format>\d+): (?P<count>\d{12}) names, "
    rb"keys at (?P<keys>\d{12}), (?P<size>\d{12}) bytes\n"
)
# What may not be in a name of the file form: it would end the line or the key.
_BREAKS_LINE = re.compile("[ \n]")


def _header(count: int, keys_start: int, size: int) -> bytes:
    # Fixed widths: the header's own length does not depend on the numbers it holds.
    return (
        f"# poetry-ado project list, format {CACHE_FORMAT}: {count:012d} names, "
        f"keys at {keys_start:012d}, {size:012d} bytes\n"
    ).encode("ascii")


def parse_project_list(body: bytes, content_type: str = "") -> list[str]:
    """Normal names from the root page of a simple index, PEP 691 JSON or PEP 503 HTML.

    Anchors whose text is no valid name are left out (a valid name needs no HTML escaping)."""
    text = body.decode("utf-8", errors="replace")
    if "json" in content_type or text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            document = None
        if isinstance(document, dict) and isinstance(document.get("projects"), list):
            raw = [p.get("name") for p in document["projects"] if isinstance(p, dict)]
            return _normalize_all([n for n in raw if isinstance(n, str) and is_valid_name(n)])
    return _normalize_all(_ANCHOR_NAME.findall(text))


# The anchor text when it is a valid name, whitespace around it allowed.
_ANCHOR_NAME = re.compile(
    r"<a\b[^>]*>\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*</a\s*>", re.IGNORECASE
)


def _normalize_all(names: list[str]) -> list[str]:
    # normalize() over the joined names at once: 700,000 calls would take seconds.
    if not names:
        return []
    joined = "\n".join(names).replace("_", "-").replace(".", "-")
    if "--" in joined:
        joined = re.sub("-{2,}", "-", joined)
    return joined.lower().split("\n")


@dataclass(frozen=True)
class CachedMeta:
    etag: str | None
    last_modified: str | None
    downloaded_at: float
    checked_at: float
    """When the index last confirmed this list (download or 304)."""
    count: int


class ProjectListCache:
    """``{cache-dir}/ado/public-index/{hash of the index URL}/``: ``projects.txt`` (the file
    form of :class:`ProjectList`) and ``meta.json``. Written atomically; a torn pair, a
    truncated or foreign ``projects.txt`` read as no cache. A cache of format 1 (one name per
    line) is converted once, keeping its validators, so that it still serves offline."""

    def __init__(self, cache_dir: Path, index_url: str) -> None:
        key = hashlib.sha256(display_url(index_url).encode()).hexdigest()[:16]
        self.directory = Path(cache_dir) / "ado" / "public-index" / key
        self.index_url = display_url(index_url)

    @property
    def names_path(self) -> Path:
        return self.directory / "projects.txt"

    @property
    def meta_path(self) -> Path:
        return self.directory / "meta.json"

    def load(self) -> tuple[ProjectList, CachedMeta] | None:
        try:
            meta = json.loads(self.meta_path.read_text(encoding="utf-8"))
            cached = CachedMeta(
                etag=meta.get("etag"),
                last_modified=meta.get("last_modified"),
                downloaded_at=float(meta["downloaded_at"]),
                checked_at=float(meta["checked_at"]),
                count=int(meta["count"]),
            )
        except (OSError, KeyError, TypeError, ValueError, AttributeError):
            return None
        if meta.get("format") == 1:
            return self._convert(cached)
        if meta.get("format") != CACHE_FORMAT:
            return None
        projects = _map(self.names_path)
        if projects is None or projects.count != cached.count:
            if projects is not None:
                projects.close()
            return None
        return projects, cached

    def _convert(self, cached: CachedMeta) -> tuple[ProjectList, CachedMeta] | None:
        try:
            text = self.names_path.read_text(encoding="utf-8")
        except (OSError, ValueError):
            return None
        if (
            not text.startswith("\n")
            or not text.endswith("\n")
            or text.count("\n") - 1 != cached.count
        ):
            return None
        projects = ProjectList.from_names(text[1:-1].split("\n") if cached.count else [])
        if projects.count != cached.count:
            return None
        with contextlib.suppress(OSError):
            self.store(projects, cached)
        return projects, cached

    def store(self, projects: ProjectList, meta: CachedMeta) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        files.write_atomic(self.names_path, projects.data, error=OSError)
        self.store_meta(meta)

    def store_meta(self, meta: CachedMeta) -> None:
        document = {
            "format": CACHE_FORMAT,
            "index_url": self.index_url,
            "etag": meta.etag,
            "last_modified": meta.last_modified,
            "downloaded_at": meta.downloaded_at,
            "checked_at": meta.checked_at,
            "count": meta.count,
        }
        files.write_atomic(self.meta_path, json.dumps(document, indent=1) + "\n", error=OSError)


def _map(path: Path) -> ProjectList | None:
    """The list in ``path``, memory-mapped read-only; None when there is no whole one."""
    try:
        with path.open("rb") as handle:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # ValueError: an empty file cannot be mapped
        return None
    projects = ProjectList.from_buffer(data)
    if projects is None:
        data.close()
    return projects


class ListStatus(Enum):
    DOWNLOADED = "downloaded"
    REVALIDATED = "revalidated"
    CACHED = "cached"
    STALE = "stale"
    """The index could not be reached; the older cached list is used."""
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class ProjectListResult:
    status: ListStatus
    projects: ProjectList | None
    age: float | None
    """Seconds since the index last confirmed the list."""
    reason: str | None
    index_url: str

    @property
    def message(self) -> str:
        host = host_of(self.index_url)
        count = f"{self.projects.count:,} projects" if self.projects else ""
        age = format_age(self.age or 0.0)
        if self.status is ListStatus.DOWNLOADED:
            return f"Downloaded the project list of {host} ({count})."
        if self.status is ListStatus.REVALIDATED:
            return f"The cached project list of {host} is up to date ({count})."
        if self.status is ListStatus.CACHED:
            return f"Using the project list of {host} cached {age} ({count})."
        if self.status is ListStatus.STALE:
            return (
                f"Could not refresh the project list of {host} ({self.reason}); "
                f"using the one cached {age} ({count})."
            )
        return f"Could not download the project list of {host}: {self.reason}."


def format_age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size:
            value = int(seconds // size)
            return f"{value} {unit}{'s' if value != 1 else ''} ago"
    return "just now"


def fetch_project_list(
    index: PublicIndex,
    cache: ProjectListCache | None,
    *,
    max_age: float = PROJECT_LIST_MAX_AGE,
    progress: ProgressCallback | None = None,
    now: Callable[[], float] = time.time,
) -> ProjectListResult:
    """The index's project list: from the cache while it is younger than ``max_age``, else
    revalidated or downloaded, else (index unreachable) the cache however old, else nothing.

    ``cache=None`` neither reads nor writes a cache (Poetry's ``--no-cache``)."""
    import requests

    cached = cache.load() if cache is not None else None
    started = now()
    if cached is not None and started - cached[1].checked_at < max_age:
        return _from_cache(index, cached, ListStatus.CACHED, started)

    headers = {"Accept": ACCEPT}
    if cached is not None:
        if cached[1].etag:
            headers["If-None-Match"] = cached[1].etag
        if cached[1].last_modified:
            headers["If-Modified-Since"] = cached[1].last_modified
    try:
        with index.session.get(
            index.url, headers=headers, timeout=index.timeout, stream=True
        ) as response:
            if response.status_code == 304 and cached is not None:
                projects, meta = cached
                refreshed = CachedMeta(
                    etag=response.headers.get("ETag", meta.etag),
                    last_modified=response.headers.get("Last-Modified", meta.last_modified),
                    downloaded_at=meta.downloaded_at,
                    checked_at=started,
                    count=meta.count,
                )
                if cache is not None:
                    with contextlib.suppress(OSError):
                        cache.store_meta(refreshed)
                return ProjectListResult(ListStatus.REVALIDATED, projects, 0.0, None, index.url)
            if response.status_code != 200:
                return _failed(index, cached, _status_reason(response, index.url), started)
            if response.history and urlsplit(response.url).path != urlsplit(index.url).path:
                # A sign-in page or a captive portal is not an empty index: with no list,
                # similar names are "could not check", not "none".
                where = f"{host_of(index.url)} redirected to {host_of(response.url)}"
                return _failed(index, cached, where, started)
            body = _read_with_progress(response, progress)
            content_type = response.headers.get("Content-Type", "")
            etag = response.headers.get("ETag")
            last_modified = response.headers.get("Last-Modified")
    except requests.RequestException as error:
        return _failed(index, cached, describe_connection_error(error, index.url), started)

    projects = ProjectList.from_names(parse_project_list(body, content_type))
    if cache is not None:
        meta = CachedMeta(etag, last_modified, started, started, projects.count)
        if cached is not None:
            cached[0].close()  # the old file is replaced: Windows refuses while it is mapped
        # A read-only cache directory costs speed next time, not this answer.
        with contextlib.suppress(OSError):
            cache.store(projects, meta)
    return ProjectListResult(ListStatus.DOWNLOADED, projects, 0.0, None, index.url)


def _from_cache(
    index: PublicIndex,
    cached: tuple[ProjectList, CachedMeta],
    status: ListStatus,
    started: float,
    reason: str | None = None,
) -> ProjectListResult:
    projects, meta = cached
    return ProjectListResult(status, projects, started - meta.checked_at, reason, index.url)


def _failed(
    index: PublicIndex,
    cached: tuple[ProjectList, CachedMeta] | None,
    reason: str,
    started: float,
) -> ProjectListResult:
    if cached is not None:
        return _from_cache(index, cached, ListStatus.STALE, started, reason)
    return ProjectListResult(ListStatus.UNAVAILABLE, None, None, reason, index.url)


def _read_with_progress(response: requests.Response, progress: ProgressCallback | None) -> bytes:
    length = response.headers.get("Content-Length")
    total = int(length) if length and length.isdigit() else None
    raw: Any = response.raw
    chunks: list[bytes] = []
    received = 0
    for chunk in iter_body(response, PROJECT_LIST_MAX_BYTES, _CHUNK):
        chunks.append(chunk)
        received += len(chunk)
        if progress is not None:
            # Content-Length counts the bytes on the wire (gzip), so report those when known.
            wire = raw.tell() if total is not None and hasattr(raw, "tell") else received
            progress(wire, total)
    if progress is not None:
        progress(total if total is not None else received, total)
    return b"".join(chunks)


def default_cache_dir() -> Path:
    """Poetry's cache directory: ``POETRY_CACHE_DIR`` when set (cheap), else Poetry's config."""
    configured = os.environ.get("POETRY_CACHE_DIR")
    if configured:
        return Path(configured)
    try:
        from poetry.config.config import Config

        return Path(Config.create().get("cache-dir"))
    except Exception:  # a broken config.toml must not stop a name check
        from poetry.locations import DEFAULT_CACHE_DIR

        return Path(DEFAULT_CACHE_DIR)
