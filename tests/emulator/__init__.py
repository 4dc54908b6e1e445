"""A local Azure DevOps Artifacts Python feed emulator for tests and demos.

`FeedEmulator` answers Azure's URLs, authentication, project pages, downloads (303 to a blob
host in hosted mode), uploads and errors, with a hosted and a server (Azure DevOps Server) mode
and an optional upstream index. See tests/emulator/README.md, the pytest fixtures in
`tests.emulator.pytest_plugin` and `python -m tests.emulator --help`.
"""

from __future__ import annotations

from tests.emulator.emulator import FeedEmulator
from tests.emulator.emulator import make_jwt
from tests.emulator.emulator import make_pat
from tests.emulator.feed import DEFAULT_VIEWS
from tests.emulator.feed import EmulatedFeed
from tests.emulator.records import ROLES
from tests.emulator.records import BlobRequest
from tests.emulator.records import RecordedRequest
from tests.emulator.records import RecordedUpload
from tests.emulator.records import TokenGrant
from tests.emulator.records import UploadInfo


__all__ = [
    "DEFAULT_VIEWS",
    "ROLES",
    "BlobRequest",
    "EmulatedFeed",
    "FeedEmulator",
    "RecordedRequest",
    "RecordedUpload",
    "TokenGrant",
    "UploadInfo",
    "make_jwt",
    "make_pat",
]
