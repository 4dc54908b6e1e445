"""The pypiserver side: one app per feed, and the few helpers borrowed from it."""

from __future__ import annotations

import email.parser
import email.policy
import logging
import threading
import warnings
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any

from tests.emulator._server import LogStream


with warnings.catch_warnings():
    # pypiserver's vendored bottle imports `cgi`, deprecated since Python 3.11 (pypiserver
    # depends on legacy-cgi from 3.13 on). Nothing to act on here.
    warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
    import pypiserver
    from pypiserver.config import DEFAULTS
    from pypiserver.config import RunConfig
    from pypiserver.pkg_helpers import guess_pkgname_and_version


if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


log = logging.getLogger("tests.emulator.pypiserver")

# pypiserver builds each app by re-importing its `_app` module and patching the module's globals;
# two feeds created at the same moment must not interleave that.
_CREATE_LOCK = threading.Lock()


# bottle writes tracebacks to `wsgi.errors`: into the log, not stderr.
ERRORS = LogStream(log, logging.ERROR)


def make_app(root: Path) -> WSGIApplication:
    """A pypiserver app serving and storing `root`: its own auth off, no overwrite, no fallback.

    The config is built field by field rather than with `pypiserver.app(**overrides)`, which
    parses pypiserver's command line defaults and, when watchdog is installed, starts a
    file-watching thread per app that nothing would ever stop.
    """
    config = RunConfig(
        port=0,
        host="127.0.0.1",
        authenticate=[],  # the emulator authenticates; pypiserver must not
        password_file=".",
        disable_fallback=True,  # a missing project is a 404, never a redirect to pypi.org
        fallback_url=DEFAULTS.FALLBACK_URL,
        health_endpoint=DEFAULTS.HEALTH_ENDPOINT,
        server_method="auto",
        overwrite=False,
        welcome_msg="",
        cache_control=None,
        log_req_frmt=DEFAULTS.LOG_REQ_FRMT,
        log_res_frmt=DEFAULTS.LOG_RES_FRMT,
        log_err_frmt=DEFAULTS.LOG_ERR_FRMT,
        server_base_url="/",
        roots=[root.resolve()],
        verbosity=0,
        log_frmt=DEFAULTS.LOG_FRMT,
        log_file=None,
        log_stream=None,
        hash_algo="sha256",
        backend_arg="simple-dir",  # no cache: files seeded into storage show up at once
    )
    with _CREATE_LOCK:
        app = pypiserver.setup_routes_from_config(pypiserver.app_from_config(config), config)
    result: WSGIApplication = app
    return result


def name_and_version(filename: str) -> tuple[str, str] | None:
    """(name, version) as pypiserver reads them from a distribution file name, else None."""
    guessed: Any = guess_pkgname_and_version(filename)
    if not guessed or not guessed[0] or not guessed[1]:
        return None
    return str(guessed[0]), str(guessed[1])


@dataclass
class UploadForm:
    """The parts of a legacy-API upload the emulator needs before pypiserver stores the file."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    content: bytes | None = None


def parse_multipart(content_type: str, body: bytes) -> UploadForm | None:
    """Split a multipart/form-data body; None when it is not one.

    Only to read the form fields and the file for Azure's checks: pypiserver parses the same body
    again to store the file.
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
            form.fields[name] = payload.decode("utf-8", "replace")
    return form
