"""Reading a project page of a simple index (PEP 503 HTML or PEP 691 JSON).

Azure Artifacts answers HTML only and ignores ``Accept``; PyPI and its mirrors may answer either.
A page is read for its files: the file name, the sha256 from the link's fragment (or the JSON
``hashes``), and the version the file name says (wheel and sdist names, parsed by
``packaging``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote
from urllib.parse import urlsplit


_SHA256 = re.compile(r"(?:^|&)sha256=([0-9a-fA-F]{64})")


@dataclass(frozen=True)
class IndexFile:
    """One file a project page lists."""

    filename: str
    sha256: str | None = None

    @property
    def version(self) -> str | None:
        """The version the file name says; None for a name that is not a wheel or sdist."""
        parsed = filename_name_version(self.filename)
        return parsed[1] if parsed else None


def filename_name_version(filename: str) -> tuple[str, str] | None:
    """(normal name, version) from a wheel or sdist file name, parsed by ``packaging`` as pip
    parses it; None for anything else, or a name or version ``packaging`` refuses."""
    from packaging.utils import InvalidSdistFilename
    from packaging.utils import InvalidWheelFilename
    from packaging.utils import parse_sdist_filename
    from packaging.utils import parse_wheel_filename
    from packaging.version import InvalidVersion

    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None
    return str(name), str(version)


def same_version(a: str, b: str) -> bool:
    """PEP 440 equality ("1.0" is "1.0.0"); plain text for versions that are not PEP 440."""
    from packaging.version import InvalidVersion
    from packaging.version import Version

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


class _LinkParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href = dict(attrs).get("href") or ""
            self._text = []

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def parse_project_page(body: str, content_type: str = "") -> tuple[IndexFile, ...]:
    """The files of a project page, in either form."""
    if "json" in content_type or body.lstrip().startswith("{"):
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if isinstance(document, dict):
            return _json_files(document)
    return tuple(IndexFile(filename, sha256) for filename, _href, sha256 in _html_links(body))


def _html_links(body: str) -> list[tuple[str, str, str | None]]:
    """(file name, href, sha256 from the fragment) for each link of an HTML project page."""
    parser = _LinkParser()
    parser.feed(body)
    parser.close()
    links = []
    for href, text in parser.links:
        parts = urlsplit(href)
        filename = text or unquote(parts.path.rsplit("/", 1)[-1])
        if not filename:
            continue
        match = _SHA256.search(parts.fragment)
        links.append((filename, href, match.group(1).lower() if match else None))
    return links


def _json_files(document: dict[str, object]) -> tuple[IndexFile, ...]:
    entries = document.get("files")
    files = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not isinstance(entry.get("filename"), str):
            continue
        hashes = entry.get("hashes")
        sha256 = hashes.get("sha256") if isinstance(hashes, dict) else None
        files.append(
            IndexFile(entry["filename"], sha256.lower() if isinstance(sha256, str) else None)
        )
    return tuple(files)


@dataclass(frozen=True)
class IndexLink:
    """One file link of an HTML project page: the file, its absolute URL, its sha256."""

    filename: str
    url: str
    sha256: str | None = None


def project_page_links(body: str, page_url: str) -> tuple[IndexLink, ...]:
    """The file links of an HTML project page, absolute (resolved against ``page_url``) and
    without their fragment: the URLs an installer downloads."""
    from urllib.parse import urljoin

    return tuple(
        IndexLink(filename, urljoin(page_url, href.split("#", 1)[0]), sha256)
        for filename, href, sha256 in _html_links(body)
        if urlsplit(href).path
    )
