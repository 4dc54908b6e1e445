"""Fixtures of the emulator's own tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.emulator.packages import upload_file


if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulator.pytest_plugin import AdoEmulator


@pytest.fixture
def published(ado_emulator: AdoEmulator, wheel: Path) -> Path:
    """The test module's ``wheel``, uploaded to the project-scoped feed."""
    response = upload_file(ado_emulator.feed.upload_url, wheel, auth=ado_emulator.write_auth)
    assert response.status_code == 200, response.text
    return wheel
