"""What the emulator borrows from pypiserver (its file-name parser), and the upload form parser.

The emulator used to serve feeds through pypiserver apps; Azure's project pages, downloads and
upload checks differ enough from pypiserver's that the emulator now answers them itself.
"""

from __future__ import annotations

import email.parser
import email.policy
import warnings
from dataclasses import dataclass
from dataclasses import field
from typing import Any


with warnings.catch_warnings():
    # pypiserver's vendored bottle imports `cgi`, deprecated since Python 3.11 (pypiserver
    # depends on legacy-cgi from 3.13 on). Nothing to act on here.
    warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
    from pypiserver.pkg_helpers import guess_pkgname_and_version


def name_and_version(filename: str) -> tuple[str, str] | None:
    """(name, version) as pypiserver reads them from a distribution file name, else None."""
    guessed: Any = guess_pkgname_and_version(filename)
    if not guessed or not guessed[0] or not guessed[1]:
        return None
    return str(guessed[0]), str(guessed[1])


@dataclass
class UploadForm:
    """The parts of a legacy-API upload the emulator needs before pypiserver stores the file."""

    fields: dict[str, str] = field(default_factory=dict)  # the first value of each field
    lists: dict[str, list[str]] = field(default_factory=dict)  # every value, in order
    filename: str | None = None
    content: bytes | None = None


def parse_multipart(content_type: str, body: bytes) -> UploadForm | None:
    """Split a multipart/form-data body; None when it is not one.

    The emulator reads the form fields and the file for Azure's checks and stores the file.
    """
    header = email.parser.HeaderParser(policy=email.policy.HTTP).parsestr(
        f"Content-Type: {content_type}\r\n\r\n"
    )
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        return None
    delimiter = b"--" + boundary.encode("latin-1")
    form = UploadForm()
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, separator, payload = chunk.partition(b"\r\n\r\n")
        if not separator:
            continue
        payload = payload.removesuffix(b"\r\n")
        headers = email.parser.HeaderParser(policy=email.policy.HTTP).parsestr(
            head.strip(b"\r\n").decode("utf-8", "replace") + "\r\n\r\n"
        )
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_param("filename", header="content-disposition")
        if not isinstance(name, str):
            continue
        if isinstance(filename, str):
            if name == "content":
                form.filename, form.content = filename, payload
        else:
            value = payload.decode("utf-8", "replace")
            form.fields.setdefault(name, value)
            form.lists.setdefault(name, []).append(value)
    return form
