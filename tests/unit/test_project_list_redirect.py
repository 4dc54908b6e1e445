from __future__ import annotations

from typing import TYPE_CHECKING

from poetry_ado_plugin.public_index import ListStatus
from poetry_ado_plugin.public_index import PublicIndex
from poetry_ado_plugin.public_index import fetch_project_list
from tests.hostile.servers import hostile_server


if TYPE_CHECKING:
    import pytest


def test_a_project_list_redirected_to_a_sign_in_page_is_no_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("POETRY_REQUESTS_TIMEOUT", "2")
    with hostile_server("sign-in") as server, PublicIndex(server.index_url) as index:
        result = fetch_project_list(index, None)

    # Not an empty list, which would call every name "not too similar".
    assert result.status is ListStatus.UNAVAILABLE
    assert result.projects is None
    assert result.reason is not None
    assert "redirected" in result.reason
