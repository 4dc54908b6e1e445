"""The REST client: hosts for hosted and Server feeds (URL building only, nothing is sent
there), and every endpoint against the emulator, which plays an Azure DevOps Server."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from poetry_ado_plugin.devops_api import ALLOW_EXTERNAL
from poetry_ado_plugin.devops_api import AUTO
from poetry_ado_plugin.devops_api import DevOpsApiError
from poetry_ado_plugin.devops_api import DevOpsClient
from poetry_ado_plugin.devops_api import api_roots
from poetry_ado_plugin.devops_api import with_api_version
from poetry_ado_plugin.errors import FeedResponseError
from poetry_ado_plugin.feed import parse_feed_url


if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.emulator.pytest_plugin import EmulatorFactory


def roots_of(url: str) -> tuple[str, str, str]:
    roots = api_roots(parse_feed_url(url).feed)
    return roots.feeds, roots.packages, roots.connection_data


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://pkgs.dev.azure.com/contoso/Fabrikam%20Web/_packaging/team-feed/pypi/simple/",
            (
                "https://feeds.dev.azure.com/contoso/Fabrikam%20Web/_apis/packaging",
                "https://pkgs.dev.azure.com/contoso/Fabrikam%20Web/_apis/packaging",
                "https://dev.azure.com/contoso/_apis/connectionData",
            ),
        ),
        (
            "https://pkgs.dev.azure.com/contoso/_packaging/org-feed@Release/pypi/simple/",
            (
                "https://feeds.dev.azure.com/contoso/_apis/packaging",
                "https://pkgs.dev.azure.com/contoso/_apis/packaging",
                "https://dev.azure.com/contoso/_apis/connectionData",
            ),
        ),
        (
            "https://contoso.pkgs.visualstudio.com/Web/_packaging/team-feed/pypi/simple/",
            (
                "https://feeds.dev.azure.com/contoso/Web/_apis/packaging",
                "https://pkgs.dev.azure.com/contoso/Web/_apis/packaging",
                "https://dev.azure.com/contoso/_apis/connectionData",
            ),
        ),
        (
            "http://tfs.example.com:8080/tfs/DefaultCollection/Web/_packaging/onprem/pypi/simple/",
            (
                "http://tfs.example.com:8080/tfs/DefaultCollection/Web/_apis/packaging",
                "http://tfs.example.com:8080/tfs/DefaultCollection/Web/_apis/packaging",
                "http://tfs.example.com:8080/tfs/DefaultCollection/_apis/connectionData",
            ),
        ),
        (
            "https://ado.example.com/Collection/_packaging/onprem/pypi/upload/",
            (
                "https://ado.example.com/Collection/_apis/packaging",
                "https://ado.example.com/Collection/_apis/packaging",
                "https://ado.example.com/Collection/_apis/connectionData",
            ),
        ),
    ],
)
def test_rest_roots_for_hosted_and_server_feeds(url: str, expected: tuple[str, str, str]) -> None:
    assert roots_of(url) == expected


def test_endpoint_urls_on_the_hosted_service() -> None:
    feed = parse_feed_url(
        "https://pkgs.dev.azure.com/contoso/Fabrikam%20Web/_packaging/team-feed@Release/pypi/simple/"
    ).feed
    client = DevOpsClient(feed, "azure", "not-sent")
    try:
        assert client.feed_url("views") == (
            "https://feeds.dev.azure.com/contoso/Fabrikam%20Web/_apis/packaging/Feeds/team-feed/views"
        )
        assert client.pypi_url("Acme_Tools", "versions", "1.0") == (
            "https://pkgs.dev.azure.com/contoso/Fabrikam%20Web/_apis/packaging/feeds/team-feed/"
            "pypi/packages/Acme_Tools/versions/1.0"
        )
        assert with_api_version(client.pypi_url("x", "upstreaming")).endswith(
            "/pypi/packages/x/upstreaming?api-version=7.1-preview.1"
        )
    finally:
        client.close()


# --------------------------------------------------------------------------------------------
# Against the emulator


@pytest.fixture
def owner(ado_emulator: AdoEmulator) -> str:
    return ado_emulator.emulator.generate_token(role="owner")


def client_for(ado_emulator: AdoEmulator, token: str, *, scheme: str = "basic") -> DevOpsClient:
    feed = parse_feed_url(ado_emulator.feed.index_url).feed
    return DevOpsClient(feed, "azure", token, scheme=scheme, source="team-feed")  # type: ignore[arg-type]


@pytest.fixture
def client(ado_emulator: AdoEmulator, owner: str) -> Iterator[DevOpsClient]:
    with client_for(ado_emulator, owner) as opened:
        yield opened


def test_every_request_sends_suppress_and_the_api_version(
    ado_emulator: AdoEmulator, client: DevOpsClient
) -> None:
    client.views()
    [request] = ado_emulator.requests
    assert "api-version=7.1-preview.1" in request.query
    assert request.path == "/contoso/Fabrikam Web/_apis/packaging/Feeds/team-feed/views"


@pytest.mark.parametrize("scheme", ["basic", "bearer"])
def test_connection_data_names_the_identity(ado_emulator: AdoEmulator, scheme: str) -> None:
    grant = ado_emulator.emulator.add_token("a-jwt-like-token", user_id="1234-abcd")
    grant.display_name = "Mona Lisa"
    with client_for(ado_emulator, grant.token, scheme=scheme) as client:
        identity = client.connection_data()
    assert (identity.display_name, identity.id) == ("Mona Lisa", "1234-abcd")
    assert ado_emulator.requests[-1].path == "/contoso/_apis/connectionData"


def test_feed_views_and_packages(ado_emulator: AdoEmulator, client: DevOpsClient) -> None:
    feed = ado_emulator.feed
    feed.add_package("acme-tools", "1.0")
    feed.add_package("acme-tools", "1.1")
    feed.add_package("acme-tools-extra", "2.0")  # matched by packageNameQuery, filtered out
    feed.delete_version("acme-tools", "1.1")

    info = client.get_feed()
    views = client.views()
    package = client.package("Acme_Tools")
    alive = client.package("acme-tools", include_deleted=False)

    assert (info.name, info.id) == ("team-feed", feed.feed_id)
    assert [(v.name, v.type) for v in views] == [
        ("Local", "implicit"),
        ("Prerelease", "release"),
        ("Release", "release"),
    ]
    assert package is not None and package.normalized_name == "acme-tools"
    assert [(v.version, v.is_deleted, v.is_latest) for v in package.versions] == [
        ("1.1", True, False),
        ("1.0", False, True),
    ]
    assert alive is not None and [v.version for v in alive.versions] == ["1.0"]
    assert client.package("nothing-here") is None


def test_promote_adds_the_view_and_the_version_document(
    ado_emulator: AdoEmulator, client: DevOpsClient
) -> None:
    ado_emulator.feed.add_package("acme-tools", "1.0")

    client.promote("acme-tools", "1.0", "Release")

    package = client.package("acme-tools")
    assert package is not None
    found = package.find("1.0.0")
    assert found is not None and found.views == ("Local", "Release")
    assert found.in_view("release")
    document = client.pypi_version("acme-tools", "1.0")
    assert document is not None and document["version"] == "1.0"
    assert client.pypi_version("acme-tools", "9.9") is None
    assert [r.method for r in ado_emulator.requests].count("PATCH") == 1


def test_upstreaming_read_and_set(ado_emulator: AdoEmulator, client: DevOpsClient) -> None:
    assert client.upstreaming("not-published-yet") == AUTO
    client.set_upstreaming("not-published-yet", ALLOW_EXTERNAL)
    assert client.upstreaming("Not_Published_Yet") == ALLOW_EXTERNAL
    assert ado_emulator.feed.allows_external_versions("not-published-yet")
    client.set_upstreaming("not-published-yet", AUTO)
    assert not ado_emulator.feed.allows_external_versions("not-published-yet")


@pytest.mark.parametrize(
    ("role", "call", "needs"),
    [
        ("reader", "promote", "Contributor role or higher"),
        ("collaborator", "promote", "Contributor role or higher"),
        ("contributor", "protect", "Owner role (feed"),
    ],
)
def test_missing_roles_name_the_role(
    ado_emulator: AdoEmulator, role: str, call: str, needs: str
) -> None:
    ado_emulator.feed.add_package("acme-tools", "1.0")
    token = ado_emulator.emulator.generate_token(role=role)
    with client_for(ado_emulator, token) as client, pytest.raises(DevOpsApiError) as caught:
        if call == "promote":
            client.promote("acme-tools", "1.0", "Release")
        else:
            client.set_upstreaming("acme-tools", AUTO)
    assert caught.value.answer.status == 403
    assert needs in str(caught.value)
    assert token not in str(caught.value)


def test_errors_are_one_line_without_the_token(ado_emulator: AdoEmulator) -> None:
    with (
        client_for(ado_emulator, ado_emulator.expired_token) as client,
        pytest.raises(DevOpsApiError) as expired,
    ):
        client.views()
    with (
        client_for(ado_emulator, "not-a-registered-token") as client,
        pytest.raises(DevOpsApiError) as anonymous,
    ):
        client.views()
    for error in (expired.value, anonymous.value):
        assert "\n" not in str(error)
        assert error.answer.status == 401
    assert "expired" in str(expired.value)
    assert "poetry ado login team-feed" in str(anonymous.value)


def test_unknown_feed_and_server_errors(ado_emulator_factory: EmulatorFactory) -> None:
    emulator = ado_emulator_factory(mode="server")
    feed = emulator.add_feed(None, "onprem", project="Web")
    token = emulator.generate_token(role="owner")
    missing = parse_feed_url(feed.index_url.replace("/onprem/", "/nope/")).feed

    with DevOpsClient(missing, "azure", token) as client, pytest.raises(DevOpsApiError) as caught:
        client.views()
    assert caught.value.answer.status == 404
    assert "The feed with ID 'nope' doesn't exist." in str(caught.value)

    emulator.fail_next(10, 503, path_contains="_apis")
    existing = parse_feed_url(feed.index_url).feed
    with DevOpsClient(existing, "azure", token) as client, pytest.raises(FeedResponseError):
        client.views()
    # GET is retried (3 retries); nothing else was sent
    assert [r.status for r in emulator.requests] == [404, 503, 503, 503, 503]


def test_a_patch_is_never_retried(ado_emulator: AdoEmulator, client: DevOpsClient) -> None:
    ado_emulator.feed.add_package("acme-tools", "1.0")
    ado_emulator.emulator.fail_next(5, 503, method="PATCH")
    with pytest.raises(DevOpsApiError):
        client.promote("acme-tools", "1.0", "Release")
    assert [r.method for r in ado_emulator.requests] == ["PATCH"]
