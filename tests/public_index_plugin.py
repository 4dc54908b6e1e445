"""pytest fixtures for the local public index (tests/public_index_server.py).

Load with `pytest_plugins = ["tests.public_index_plugin"]` in tests/conftest.py.

- `public_index`: a started `PublicIndexServer` per test. It knows no project unless the test,
  its class or its module carries `@pytest.mark.public_index(names, json=..., latency=...)`
  (the closest marker wins), whose arguments are `PublicIndexServer`'s.
- `public_index_factory`: `public_index_factory(names=(), *, json=False, latency=0.0)` starts
  further servers (other name lists in one test); each is stopped at teardown.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator

import pytest

from tests.public_index_server import PublicIndexServer


class PublicIndexFactory:
    """Callable that starts public indexes; all are stopped at teardown."""

    def __init__(self) -> None:
        self._started: list[PublicIndexServer] = []

    def __call__(
        self, names: Iterable[str] = (), *, json: bool = False, latency: float = 0.0
    ) -> PublicIndexServer:
        server = PublicIndexServer(tuple(names), json=json, latency=latency)
        self._started.append(server)
        return server.start()

    def close(self) -> None:
        for server in self._started:
            server.stop()


def pytest_configure(config: pytest.Config) -> None:
    # --strict-markers: the marker is this plugin's, so the plugin declares it.
    config.addinivalue_line(
        "markers",
        "public_index(names, json=False, latency=0.0): what the public_index fixture serves",
    )


@pytest.fixture
def public_index_factory() -> Iterator[PublicIndexFactory]:
    factory = PublicIndexFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def public_index(
    request: pytest.FixtureRequest, public_index_factory: PublicIndexFactory
) -> PublicIndexServer:
    marker = request.node.get_closest_marker("public_index")
    if marker is None:
        return public_index_factory()
    return public_index_factory(*marker.args, **marker.kwargs)
