"""A feed's upstream source: a local simple index that plays PyPI, read over HTTP.

The emulator reads the upstream on every request that needs it. Azure caches upstream metadata
for hours; a test that changes the upstream sees the change at once here (emulator's choice).
"""

from __future__ import annotations

import hashlib
import html.parser
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urldefrag
from urllib.parse import urljoin

from packaging.utils import canonicalize_name

from tests.emulator import _pypiserver


_TIMEOUT = 10
_JSON = "application/vnd.pypi.simple.v1+json"


class HasUrl(Protocol):
    """Anything with the simple-index URL of a running index (e.g. PublicIndexServer)."""

    @property
    def url(self) -> str: ...


UpstreamLike = str | HasUrl


class UpstreamError(Exception):
    """The upstream could not be read (refused, timed out, or an error status)."""


@dataclass(frozen=True)
class UpstreamFile:
    filename: str
    name: str
    version: str
    url: str
    sha256: str | None
    requires_python: str | None


class UpstreamSource:
    """The upstream of a feed. `source` is a simple-index URL or an object with `.url`."""

    def __init__(self, source: UpstreamLike) -> None:
        self._source = source

    @property
    def url(self) -> str:
        url = self._source if isinstance(self._source, str) else self._source.url
        return url if url.endswith("/") else url + "/"

    def __repr__(self) -> str:
        return f"UpstreamSource({self.url})"

    def files(self, name: str) -> list[UpstreamFile] | None:
        """The files the upstream lists for project `name`; None when it has no such project."""
        page_url = f"{self.url}{canonicalize_name(name)}/"
        request = urllib.request.Request(page_url, headers={"Accept": f"{_JSON}, text/html;q=0.5"})
        try:
            with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
                body: bytes = response.read()
                content_type = response.headers.get("Content-Type", "")
                final_url = response.geturl()
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise UpstreamError(f"{page_url} answered {error.code}") from error
        except (OSError, urllib.error.URLError) as error:
            raise UpstreamError(f"{page_url}: {error}") from error
        if content_type.startswith(_JSON):
            return _from_json(body, final_url)
        return _from_html(body.decode("utf-8", "replace"), final_url)

    def fetch(self, file: UpstreamFile) -> bytes:
        """The bytes of one upstream file, checked against the hash the index gave."""
        try:
            with urllib.request.urlopen(file.url, timeout=_TIMEOUT) as response:
                data: bytes = response.read()
        except (OSError, urllib.error.URLError) as error:
            raise UpstreamError(f"{file.url}: {error}") from error
        if file.sha256 and hashlib.sha256(data).hexdigest() != file.sha256.lower():
            raise UpstreamError(f"{file.url}: the file does not match its sha256")
        return data


def _file(
    filename: str, url: str, sha256: str | None, requires_python: str | None
) -> UpstreamFile | None:
    guessed = _pypiserver.name_and_version(filename)
    if guessed is None:
        return None
    return UpstreamFile(filename, guessed[0], guessed[1], url, sha256, requires_python or None)


def _from_json(body: bytes, page_url: str) -> list[UpstreamFile]:
    document = json.loads(body)
    result = []
    for entry in document.get("files", []):
        hashes = entry.get("hashes") or {}
        found = _file(
            str(entry["filename"]),
            urljoin(page_url, str(entry["url"])),
            hashes.get("sha256"),
            entry.get("requires-python"),
        )
        if found is not None:
            result.append(found)
    return result


class _Anchors(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._current, self._text = dict(attrs), []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._current is not None:
            self.anchors.append((self._current, "".join(self._text).strip()))
            self._current = None


def _from_html(text: str, page_url: str) -> list[UpstreamFile]:
    parser = _Anchors()
    parser.feed(text)
    result = []
    for attrs, label in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, fragment = urldefrag(urljoin(page_url, href))
        algorithm, _, digest = fragment.partition("=")
        filename = label or url.rsplit("/", 1)[-1]
        found = _file(
            filename,
            url,
            digest if algorithm == "sha256" else None,
            attrs.get("data-requires-python"),
        )
        if found is not None:
            result.append(found)
    return result
