"""A local Azure DevOps Artifacts Python feed emulator for tests and demos.

pypiserver serves and stores the packages (one app and one storage directory per feed); the
emulator in front of it implements Azure's URLs, authentication, errors, views, faults and
request recording. See `FeedEmulator`, the pytest fixtures in `tests.emulator.pytest_plugin`
and `python -m tests.emulator --help`.
"""

from __future__ import annotations

from tests.emulator.emulator import FeedEmulator
from tests.emulator.feed import DEFAULT_VIEWS
from tests.emulator.feed import EmulatedFeed
from tests.emulator.records import RecordedRequest
from tests.emulator.records import RecordedUpload
from tests.emulator.records import TokenGrant
from tests.emulator.records import UploadInfo


__all__ = [
    "DEFAULT_VIEWS",
    "EmulatedFeed",
    "FeedEmulator",
    "RecordedRequest",
    "RecordedUpload",
    "TokenGrant",
    "UploadInfo",
]
