"""The Azure Artifacts feed emulator behaves like Azure where the plugin can tell."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.emulator import FeedEmulator
from tests.emulator.packages import build_sdist
from tests.emulator.packages import build_wheel
from tests.emulator.packages import upload_fields
from tests.emulator.packages import upload_file
from tests.emulator.pytest_plugin import AdoEmulator
from tests.emulator.pytest_plugin import EmulatorFactory
from tests.emulator.test_evidence import SUPPRESS
from tests.emulator.test_evidence import TIMEOUT
from tests.emulator.test_evidence import get
from tests.public_index_server import PublicIndexServer


def azure_error(response: requests.Response, status: int) -> str:
    """Assert Azure's JSON error shape and status; return the message."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {
        "$id",
        "innerException",
        "message",
        "typeName",
        "typeKey",
        "errorCode",
        "eventId",
    }
    assert body["$id"] == "1"
    assert body["innerException"] is None
    assert body["eventId"] == 3000
    message: str = body["message"]
    return message


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return build_wheel(tmp_path / "dist", "Demo.Pkg", "1.0.0")


# --------------------------------------------------------------------------- authentication


def test_no_credentials_with_suppress_get_azure_challenge(ado_emulator: AdoEmulator) -> None:
    response = get(ado_emulator.feed.project_url("anything"), headers=SUPPRESS)

    azure_error(response, 401)
    challenges = response.headers["WWW-Authenticate"]
    assert "Bearer authorization_uri=https://login.microsoftonline.com/" in challenges
    assert 'Basic realm="https://pkgsprodeus21.pkgs.visualstudio.com/"' in challenges
    assert "TFS-Federated" in challenges
    assert response.headers["X-VSS-ResourceTenant"]
    assert response.headers["X-VSS-AuthorizationEndpoint"] == (
        ado_emulator.emulator.authorization_endpoint("contoso")
    )
    assert response.headers["X-VSS-E2EID"]


def test_token_expiring_mid_run(ado_emulator: AdoEmulator) -> None:
    page = ado_emulator.feed.project_url("missing")
    assert get(page, auth=ado_emulator.read_auth).status_code == 404  # authenticated

    ado_emulator.emulator.expire_token(ado_emulator.read_token)

    response = get(page, auth=ado_emulator.read_auth, headers=SUPPRESS)
    assert azure_error(response, 401) == (
        "Access Denied: The Personal Access Token used has expired."
    )


def test_any_username_and_bearer_tokens_work(ado_emulator: AdoEmulator, published: Path) -> None:
    url = ado_emulator.feed.project_url("demo-pkg")
    assert get(url, auth=("build", ado_emulator.read_token)).status_code == 200
    assert get(url, auth=("x", ado_emulator.write_token)).status_code == 200
    assert get(url, auth=("", ado_emulator.read_token)).status_code == 200
    bearer = {"Authorization": f"Bearer {ado_emulator.read_token}"}
    assert get(url, headers=bearer).status_code == 200


def test_read_token_cannot_upload(ado_emulator: AdoEmulator, wheel: Path) -> None:
    grant = ado_emulator.emulator.add_token("reader-2", write=False, user_id="1234-abcd")

    response = upload_file(ado_emulator.feed.upload_url, wheel, auth=("u", grant.token))

    message = azure_error(response, 403)
    assert message == (
        "User '1234-abcd' lacks permission to complete this action. You need to have 'AddPackage'."
    )
    assert ado_emulator.feed.stored_files() == []


def test_token_without_a_role_on_the_feed_gets_403_read_packages(
    ado_emulator: AdoEmulator,
) -> None:
    grant = ado_emulator.emulator.add_token("only-org-feed", feeds=[ado_emulator.org_feed])

    assert get(ado_emulator.org_feed.project_url("x"), auth=("u", grant.token)).status_code == 404
    response = get(ado_emulator.feed.project_url("x"), auth=("u", grant.token))
    assert "You need to have 'ReadPackages'" in azure_error(response, 403)


def test_an_upload_without_a_role_on_the_feed_names_add_package(
    ado_emulator: AdoEmulator, wheel: Path
) -> None:
    grant = ado_emulator.emulator.add_token("org-feed-only", feeds=[ado_emulator.org_feed])

    response = upload_file(ado_emulator.feed.upload_url, wheel, auth=("u", grant.token))

    assert "You need to have 'AddPackage'" in azure_error(response, 403)
    assert ado_emulator.feed.stored_files() == []


def test_every_feed_path_requires_auth(ado_emulator: AdoEmulator, published: Path) -> None:
    feed = ado_emulator.feed
    feed.promote("Demo.Pkg", "1.0.0", "Release")  # views show promoted versions only
    urls = {
        feed.index_url: 404,  # the root is no package list, but only after authentication
        feed.project_url("demo-pkg"): 200,
        feed.download_url(published.name): 303,
        feed.project_url("demo-pkg", view="Release"): 200,
        feed.guid_index_url + "demo-pkg/": 200,
    }
    for url, status in urls.items():
        assert get(url, headers=SUPPRESS).status_code == 401, url
        assert get(url).status_code == 302, url
        assert get(url, auth=ado_emulator.read_auth).status_code == status, url
    assert upload_file(feed.upload_url, published, auth=None).status_code == 302
    assert upload_file(feed.upload_url, published, auth=None, headers=SUPPRESS).status_code == 401


def test_tokens_are_recorded_but_not_shown(ado_emulator: AdoEmulator) -> None:
    get(ado_emulator.feed.index_url + "?x=1", auth=ado_emulator.read_auth)
    get(ado_emulator.feed.index_url)

    authed, anonymous = ado_emulator.emulator.requests
    assert (authed.method, authed.status, authed.query) == ("GET", 404, "x=1")
    assert authed.path == "/contoso/Fabrikam Web/_packaging/team-feed/pypi/simple/"
    assert authed.raw_path == ado_emulator.feed.path() + "/simple/"
    assert authed.username == ado_emulator.username
    assert authed.password == ado_emulator.read_token
    assert authed.password_sent
    assert authed.feed is ado_emulator.feed
    assert ado_emulator.read_token not in repr(authed)
    assert ado_emulator.read_token not in repr(ado_emulator)
    assert (anonymous.status, anonymous.username, anonymous.password_sent) == (302, None, False)


# --------------------------------------------------------------------------- index and downloads


def test_index_project_page_and_download(ado_emulator: AdoEmulator, published: Path) -> None:
    feed = ado_emulator.feed
    auth = ado_emulator.read_auth

    page = get(feed.project_url("Demo.Pkg"), auth=auth)
    assert page.status_code == 200
    links = re.findall(r'href="([^"]+)"', page.text)
    assert len(links) == 1
    url, _, fragment = links[0].partition("#")
    assert fragment.startswith("sha256=")
    # Azure links downloads by project and feed GUID under /pypi/download/{name}/{version}/{file},
    # the version without its trailing ".0" parts.
    assert url == (
        f"{ado_emulator.base_url}/contoso/{feed.project_id}/_packaging/{feed.feed_id}"
        f"/pypi/download/demo-pkg/1/{published.name}"
    )
    assert get(url, headers=SUPPRESS).status_code == 401
    download = requests.get(url, auth=auth, timeout=TIMEOUT)  # follows the 303
    assert download.status_code == 200
    assert download.content == published.read_bytes()


def test_links_by_name_when_guid_links_off(ado_emulator_factory: EmulatorFactory) -> None:
    emulator = ado_emulator_factory()
    feed = emulator.add_feed("contoso", "named", project="Fabrikam Web", guid_links=False)
    emulator.add_token("t")
    feed.add_package("tiny", "0.1")

    page = get(feed.project_url("tiny"), auth=("u", "t"))

    link = re.findall(r'href="([^"#]+)', page.text)[0]
    assert link == f"{feed.url}/download/tiny/0.1/tiny-0.1-py3-none-any.whl"
    assert get(link, auth=("u", "t")).status_code == 303


def test_unknown_project_page_is_404_and_names_are_normalised(
    ado_emulator: AdoEmulator, published: Path
) -> None:
    auth = ado_emulator.read_auth
    assert get(ado_emulator.feed.index_url + "missing/", auth=auth).status_code == 404
    redirect = get(ado_emulator.feed.index_url + "Demo_Pkg/", auth=auth)
    assert redirect.status_code == 301
    assert redirect.headers["Location"] == ado_emulator.feed.project_url("demo-pkg")


def test_pip_installs_through_the_emulator(
    ado_emulator: AdoEmulator, published: Path, tmp_path: Path
) -> None:
    feed = ado_emulator.feed
    index = feed.index_url.replace("http://", f"http://build:{ado_emulator.read_token}@")
    env = {**os.environ, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

    result = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "install", "--no-cache-dir", "--quiet"),
            *("--index-url", index, "--target", str(tmp_path / "target"), "demo-pkg==1.0.0"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "target" / "demo_pkg" / "__init__.py").exists()
    downloads = [r for r in ado_emulator.requests if "/pypi/download/" in r.path]
    assert [r.status for r in downloads] == [303]
    assert [(r.status, r.authorization_sent) for r in ado_emulator.emulator.blob_requests] == [
        (200, False)
    ]


# --------------------------------------------------------------------------- uploads


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # raised inside Poetry's imports
def test_poetry_uploader_publishes_to_the_feed(ado_emulator: AdoEmulator, tmp_path: Path) -> None:
    """Poetry's own uploader (requests_toolbelt multipart, no redirects) against the emulator."""
    from cleo.io.null_io import NullIO
    from poetry.factory import Factory
    from poetry.publishing.uploader import Uploader
    from poetry.publishing.uploader import UploadError

    project = tmp_path / "lib"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "ado-lib"\nversion = "0.1.0"\n', encoding="utf-8"
    )
    build_wheel(project / "dist", "ado-lib", "0.1.0")
    build_sdist(project / "dist", "ado-lib", "0.1.0")
    poetry = Factory().create_poetry(project)

    def publish(skip_existing: bool) -> None:
        uploader = Uploader(poetry, NullIO())
        uploader.auth(ado_emulator.username, ado_emulator.write_token)
        uploader.upload(ado_emulator.feed.upload_url, skip_existing=skip_existing)

    publish(skip_existing=False)
    assert ado_emulator.feed.stored_files() == [
        "ado_lib-0.1.0-py3-none-any.whl",
        "ado_lib-0.1.0.tar.gz",
    ]
    publish(skip_existing=True)  # Poetry reads 409 as "already there"
    with pytest.raises(UploadError, match="409"):
        publish(skip_existing=False)
    assert [(u.name, u.status) for u in ado_emulator.feed.uploads()] == [("ado-lib", 200)] * 2 + [
        ("ado-lib", 409)
    ] * 3


def test_upload_is_stored_and_recorded(ado_emulator: AdoEmulator, wheel: Path) -> None:
    feed = ado_emulator.feed

    response = upload_file(feed.upload_url, wheel, auth=ado_emulator.write_auth)

    assert response.status_code == 200, response.text
    assert feed.stored_files() == [wheel.name]
    assert ado_emulator.emulator.stored_files("team-feed") == [wheel.name]
    (upload,) = feed.uploads()
    assert (upload.filename, upload.name, upload.version) == (wheel.name, "Demo.Pkg", "1.0.0")
    assert upload.accepted
    assert upload.username == ado_emulator.username
    assert ado_emulator.emulator.uploads(feed=ado_emulator.org_feed) == []


def test_upload_without_trailing_slash_and_sdist(ado_emulator: AdoEmulator, tmp_path: Path) -> None:
    sdist = build_sdist(tmp_path, "Demo.Pkg", "2.0")

    response = upload_file(
        ado_emulator.feed.upload_url.rstrip("/"), sdist, auth=ado_emulator.write_auth
    )

    assert response.status_code == 200, response.text
    assert ado_emulator.feed.stored_files() == ["demo_pkg-2.0.tar.gz"]
    assert ado_emulator.feed.uploads()[0].name == "Demo.Pkg"


def test_duplicate_file_is_409(ado_emulator: AdoEmulator, published: Path) -> None:
    response = upload_file(ado_emulator.feed.upload_url, published, auth=ado_emulator.write_auth)

    assert azure_error(response, 409) == (
        "The feed 'team-feed' already contains file 'demo_pkg-1.0.0-py3-none-any.whl' "
        "in package 'Demo.Pkg 1.0.0'."
    )
    assert [u.status for u in ado_emulator.feed.uploads()] == [200, 409]


def test_deleted_version_can_never_be_published_again(
    ado_emulator: AdoEmulator, published: Path, tmp_path: Path
) -> None:
    feed = ado_emulator.feed
    auth = ado_emulator.write_auth

    assert feed.delete_version("demo-pkg", "1.0") == [published.name]
    assert feed.stored_files() == []
    assert get(feed.project_url("demo-pkg"), auth=auth).status_code == 404

    again = upload_file(feed.upload_url, published, auth=auth)
    message = azure_error(again, 409)
    assert message == (
        "The version 1.0.0 of Demo.Pkg has been deleted. It cannot be restored or pushed."
    )
    assert again.json()["typeKey"] == "PackageExistsAsDeletedException"
    sdist = upload_file(feed.upload_url, build_sdist(tmp_path, "demo_pkg", "1.0.0"), auth=auth)
    assert sdist.status_code == 409
    newer = upload_file(feed.upload_url, build_wheel(tmp_path, "Demo.Pkg", "1.0.1"), auth=auth)
    assert newer.status_code == 200


def test_upload_to_a_view_is_refused(ado_emulator: AdoEmulator, wheel: Path) -> None:
    feed = ado_emulator.feed

    response = upload_file(feed.view_upload_url("Release"), wheel, auth=ado_emulator.write_auth)

    message = azure_error(response, 405)
    assert message == (
        "Cannot perform the requested operation because the feed 'team-feed@Release' is read-only."
    )
    assert response.json()["typeKey"] == "ReadOnlyViewOperationException"
    assert feed.stored_files() == []


def test_views_show_only_the_versions_promoted_to_them(
    ado_emulator: AdoEmulator, published: Path
) -> None:
    feed = ado_emulator.feed

    def statuses() -> dict[str, int]:
        pages = {
            v: get(feed.project_url("demo-pkg", view=v), auth=ado_emulator.read_auth)
            for v in feed.views
        }
        for page in pages.values():
            assert (published.name in page.text) == (page.status_code == 200)
        return {v: page.status_code for v, page in pages.items()}

    download = feed.download_url(published.name, "Release")
    assert statuses() == {"Local": 200, "Prerelease": 404, "Release": 404}
    assert get(download, auth=ado_emulator.read_auth).status_code == 404

    assert feed.promote("demo-pkg", "1.0", "Release") is True
    assert feed.promote("demo-pkg", "1.0.0", "release") is False  # already there

    assert statuses() == {"Local": 200, "Prerelease": 404, "Release": 200}
    assert get(download, auth=ado_emulator.read_auth).status_code == 303
    unknown = get(
        feed.project_url("demo-pkg").replace("team-feed", "team-feed@Nope"),
        auth=ado_emulator.read_auth,
    )
    assert azure_error(unknown, 404) == "The feed view with name 'Nope' doesn't exist."


def test_posting_an_upload_to_simple_is_405(ado_emulator: AdoEmulator, wheel: Path) -> None:
    response = upload_file(ado_emulator.feed.index_url, wheel, auth=ado_emulator.write_auth)

    assert "does not support http method 'POST'" in azure_error(response, 405)
    assert ado_emulator.feed.stored_files() == []


def test_get_on_upload_is_405(ado_emulator: AdoEmulator) -> None:
    response = get(ado_emulator.feed.upload_url, auth=ado_emulator.read_auth)
    azure_error(response, 405)


def test_upload_with_wrong_digest_is_400(ado_emulator: AdoEmulator, wheel: Path) -> None:
    response = upload_file(
        ado_emulator.feed.upload_url,
        wheel,
        auth=ado_emulator.write_auth,
        fields={"sha256_digest": "0" * 64},
    )
    assert "sha256" in azure_error(response, 400)


def test_upload_fields_are_what_twine_sends(wheel: Path) -> None:
    fields = upload_fields(wheel)
    assert fields[":action"] == "file_upload"
    assert fields["protocol_version"] == "1"
    assert (fields["name"], fields["version"], fields["filetype"]) == (
        "Demo.Pkg",
        "1.0.0",
        "bdist_wheel",
    )
    assert {"md5_digest", "sha256_digest", "blake2_256_digest"} <= set(fields)


# --------------------------------------------------------------------------- routing


def test_unknown_feed_org_or_project_is_404(ado_emulator: AdoEmulator) -> None:
    base, auth = ado_emulator.base_url, ado_emulator.read_auth
    feed_404 = get(f"{base}/contoso/Fabrikam%20Web/_packaging/nope/pypi/simple/x/", auth=auth)
    assert azure_error(feed_404, 404) == "The feed with ID 'nope' doesn't exist."
    for path in (
        "/fabrikam/Fabrikam%20Web/_packaging/team-feed/pypi/simple/x/",
        "/contoso/Other/_packaging/team-feed/pypi/simple/x/",
        "/contoso/Fabrikam%2520Web/_packaging/team-feed/pypi/simple/x/",  # doubly encoded
        "/contoso/_packaging/team-feed/pypi/simple/x/",  # project feed asked org-scoped
    ):
        assert "doesn't exist" in azure_error(get(base + path, auth=auth), 404), path
    assert get(f"{base}/", auth=auth).status_code == 404


def test_organization_scoped_feed(ado_emulator: AdoEmulator, tmp_path: Path) -> None:
    feed = ado_emulator.org_feed
    assert feed.index_url == f"{ado_emulator.base_url}/contoso/_packaging/org-feed/pypi/simple/"
    wheel = build_wheel(tmp_path, "org-pkg", "1.0")

    assert upload_file(feed.upload_url, wheel, auth=ado_emulator.write_auth).status_code == 200

    page = get(feed.project_url("org-pkg"), auth=ado_emulator.read_auth)
    link = re.findall(r'href="([^"#]+)', page.text)[0]
    assert link.startswith(
        f"{ado_emulator.base_url}/contoso/_packaging/{feed.feed_id}/pypi/download/"
    )
    download = requests.get(link, auth=ado_emulator.read_auth, timeout=TIMEOUT)
    assert download.content == wheel.read_bytes()
    assert ado_emulator.feed.stored_files() == []  # each feed has its own storage


def test_case_insensitive_names_and_guids(ado_emulator: AdoEmulator, published: Path) -> None:
    base, auth = ado_emulator.base_url, ado_emulator.read_auth
    feed = ado_emulator.feed
    feed.promote("Demo.Pkg", "1.0.0", "Release")  # views show promoted versions only
    for path in (
        "/CONTOSO/fabrikam%20web/_packaging/TEAM-FEED/pypi/simple/demo-pkg/",
        "/Contoso/FABRIKAM%20WEB/_Packaging/Team-Feed@release/PyPI/Simple/demo-pkg/",
        f"/contoso/{feed.project_id}/_packaging/{feed.feed_id}/pypi/simple/demo-pkg/",
        f"/contoso/Fabrikam%20Web/_packaging/{feed.feed_id.upper()}/pypi/simple/demo-pkg/",
    ):
        response = get(base + path, auth=auth)
        assert response.status_code == 200, path
        assert published.name in response.text


def test_server_prefix_on_premises(ado_emulator_factory: EmulatorFactory, tmp_path: Path) -> None:
    emulator = ado_emulator_factory(prefix="/tfs")
    collection = emulator.add_feed("DefaultCollection", "onprem", project="Web")
    bare = emulator.add_feed(None, "bare", prefix="/tfs/OtherCollection")
    emulator.add_token("t")
    base = emulator.base_url

    assert (
        collection.index_url == f"{base}/tfs/DefaultCollection/Web/_packaging/onprem/pypi/simple/"
    )
    assert bare.index_url == f"{base}/tfs/OtherCollection/_packaging/bare/pypi/simple/"
    for feed in (collection, bare):
        wheel = build_wheel(tmp_path / feed.name, f"{feed.name}-pkg", "1.0")
        assert upload_file(feed.upload_url, wheel, auth=("u", "t")).status_code == 200
        page = get(feed.project_url(f"{feed.name}-pkg"), auth=("u", "t"))
        link = re.findall(r'href="([^"#]+)', page.text)[0]
        assert link.startswith(f"{base}/tfs/")
        assert get(link, auth=("u", "t")).status_code == 303
    without_prefix = get(
        f"{base}/DefaultCollection/Web/_packaging/onprem/pypi/simple/x/", auth=("u", "t")
    )
    assert without_prefix.status_code == 404


def test_feed_names_are_validated_and_unique(ado_emulator: AdoEmulator) -> None:
    emulator = ado_emulator.emulator
    for bad in ("with space", "a@b", "_hidden", "trailing.", ""):
        with pytest.raises(ValueError, match="invalid feed name"):
            emulator.add_feed("contoso", bad)
    with pytest.raises(ValueError, match="invalid organization"):
        emulator.add_feed("-bad-", "feed")
    with pytest.raises(ValueError, match="already exists"):
        emulator.add_feed("CONTOSO", "TEAM-FEED", project="fabrikam web")


def test_seeding_files(ado_emulator: AdoEmulator, tmp_path: Path) -> None:
    feed = ado_emulator.org_feed
    feed.add_file(build_wheel(tmp_path, "seeded", "3.0"))
    feed.add_package("other", "1.0", requires=["seeded>=3"])

    assert feed.stored_files() == ["other-1.0-py3-none-any.whl", "seeded-3.0-py3-none-any.whl"]
    assert feed.uploads() == []
    assert get(feed.project_url("seeded"), auth=ado_emulator.read_auth).status_code == 200
    with pytest.raises(ValueError, match="not a distribution"):
        feed.add_file(tmp_path / "README.txt")


# --------------------------------------------------------------------------- faults


def test_fail_next_then_recover(ado_emulator: AdoEmulator) -> None:
    emulator, url, auth = ado_emulator.emulator, ado_emulator.feed.index_url, ado_emulator.read_auth
    emulator.fail_next(2, status=503, retry_after=7)

    first, second, third = (get(url, auth=auth) for _ in range(3))

    assert azure_error(first, 503)
    assert first.headers["Retry-After"] == "7"
    assert second.status_code == 503
    assert third.status_code == 404  # the root's own answer
    assert [r.fault for r in emulator.requests] == ["fail", "fail", None]


def test_fail_next_defaults_to_500_and_filters(ado_emulator: AdoEmulator, wheel: Path) -> None:
    emulator = ado_emulator.emulator
    emulator.fail_next(1, method="POST", path_contains="/upload")

    assert get(ado_emulator.feed.index_url, auth=ado_emulator.read_auth).status_code == 404
    upload = upload_file(ado_emulator.feed.upload_url, wheel, auth=ado_emulator.write_auth)
    assert upload.status_code == 500
    retry = upload_file(ado_emulator.feed.upload_url, wheel, auth=ado_emulator.write_auth)
    assert retry.status_code == 200


def test_delay(ado_emulator: AdoEmulator) -> None:
    emulator, url, auth = ado_emulator.emulator, ado_emulator.feed.index_url, ado_emulator.read_auth
    emulator.delay(0.5)

    started = time.monotonic()
    assert get(url, auth=auth).status_code == 404
    delayed = time.monotonic() - started
    emulator.delay(0)
    assert get(url, auth=auth).status_code == 404

    assert delayed >= 0.5
    first, second = emulator.requests
    assert first.duration >= 0.5
    assert second.duration < 0.5


def test_delay_times_out_a_client(ado_emulator: AdoEmulator) -> None:
    ado_emulator.emulator.delay(2, count=1)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(ado_emulator.feed.index_url, auth=ado_emulator.read_auth, timeout=0.3)


def test_dropped_connections(ado_emulator: AdoEmulator, wheel: Path) -> None:
    emulator, url, auth = ado_emulator.emulator, ado_emulator.feed.index_url, ado_emulator.read_auth
    emulator.drop_next(2)

    with pytest.raises(requests.exceptions.ConnectionError):
        get(url, auth=auth)
    with pytest.raises(requests.exceptions.ConnectionError):
        upload_file(ado_emulator.feed.upload_url, wheel, auth=ado_emulator.write_auth)
    assert get(url, auth=auth).status_code == 404
    assert [(r.fault, r.status) for r in emulator.requests] == [
        ("drop", None),
        ("drop", None),
        (None, 404),
    ]
    assert ado_emulator.feed.stored_files() == []


# --------------------------------------------------------------------------- server


def test_concurrent_requests(ado_emulator: AdoEmulator, published: Path) -> None:
    feed, auth = ado_emulator.feed, ado_emulator.read_auth
    urls = [feed.project_url("demo-pkg"), feed.download_url(published.name)] * 25
    urls += [feed.project_url(f"missing-{n}") for n in range(250)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=300) as pool:
        statuses = list(pool.map(lambda url: get(url, auth=auth).status_code, urls))

    assert statuses == [200, 303] * 25 + [404] * 250


def test_startup_and_clean_stop(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    started = time.perf_counter()
    emulator = FeedEmulator(tmp_path)
    emulator.add_feed("contoso", "team-feed", project="Fabrikam Web")
    emulator.add_feed("contoso", "org-feed")
    emulator.add_token("t")
    emulator.start()
    startup = time.perf_counter() - started
    print(f"emulator startup: {startup * 1000:.1f} ms")
    assert startup < 5
    port = emulator.port
    assert get(emulator.feeds[0].index_url, auth=("u", "t")).status_code == 404
    emulator.delay(30)
    outcome: list[object] = []

    def slow_request() -> None:
        try:
            outcome.append(get(emulator.feeds[0].index_url, ("u", "t")).status_code)
        except requests.RequestException as error:
            outcome.append(error)

    slow = threading.Thread(target=slow_request)
    slow.start()
    time.sleep(0.2)

    stopping = time.perf_counter()
    emulator.stop()  # cuts the 30 s delay short and lets the running request finish
    slow.join(5)

    assert time.perf_counter() - stopping < 5
    assert outcome == [404]
    assert set(threading.enumerate()) - before == set()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass
    emulator.stop()  # idempotent


def test_context_manager_and_temporary_storage() -> None:
    with FeedEmulator() as emulator:
        storage = emulator.storage
        feed = emulator.add_feed("contoso", "late-feed")  # feeds can be added while running
        token = emulator.generate_token(write=False)
        assert get(feed.project_url("x"), auth=("u", token)).status_code == 404
        assert storage.exists()
    assert not storage.exists()
    with pytest.raises(RuntimeError):
        emulator.start()


def test_quiet_by_default(
    ado_emulator: AdoEmulator, published: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    get(ado_emulator.feed.index_url)
    get(ado_emulator.feed.project_url("demo-pkg"), auth=ado_emulator.read_auth)
    upload_file(ado_emulator.feed.upload_url, published, auth=ado_emulator.write_auth)
    ado_emulator.emulator.drop_next(1)
    with pytest.raises(requests.exceptions.ConnectionError):
        get(ado_emulator.feed.index_url)

    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""


# --------------------------------------------------------------------------- command line


@contextlib.contextmanager
def command_line(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, Any]]]:
    """``python -m tests.emulator --print-json ARGS`` and its ready line; a process still running
    at the end (a failed assertion) is killed, so that no emulator outlives its test."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.emulator", "--print-json", *args],
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        yield process, json.loads(process.stdout.readline())
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_command_line_demo(tmp_path: Path) -> None:
    started = time.monotonic()
    with command_line("--storage", str(tmp_path)) as (process, info):
        print(f"command line ready in {(time.monotonic() - started) * 1000:.0f} ms")
        assert info["event"] == "ready"
        assert info["index_url"].endswith(
            "/contoso/Fabrikam%20Web/_packaging/team-feed/pypi/simple/"
        )
        assert info["upload_url"].endswith("/_packaging/team-feed/pypi/upload/")
        assert "throwaway" in info["note"]
        wheel = build_wheel(tmp_path / "dist", "cli-pkg", "1.0")
        auth = (info["username"], info["token"])
        assert upload_file(info["upload_url"], wheel, auth=auth).status_code == 200
        assert get(info["index_url"] + "cli-pkg/", auth=auth).status_code == 200

        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)

    assert process.returncode == 0, err
    assert out == ""  # only the JSON line went to stdout
    assert "throwaway" in err
    assert "emulator stopped" in err
    assert list(tmp_path.glob("*/cli_pkg-1.0-py3-none-any.whl"))  # --storage is kept


def test_command_line_server_mode_with_an_upstream(
    tmp_path: Path, public_index: PublicIndexServer
) -> None:
    public_index.add_package("requests", "2.32.0")
    upstream = ("--mode", "server", "--upstream", public_index.url)
    with command_line(*upstream, "--storage", str(tmp_path)) as (process, info):
        auth = (info["username"], info["token"])
        page = get(info["index_url"] + "requests/", auth=auth)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)

    assert info["mode"] == "server"
    assert (
        "/tfs/DefaultCollection/Fabrikam%20Web/_packaging/team-feed/pypi/simple/"
        in (info["index_url"])
    )
    assert page.status_code == 200
    assert "requests-2.32.0-py3-none-any.whl" in page.text
    assert process.returncode == 0


def test_a_redirect_location_is_a_valid_url(ado_emulator: AdoEmulator) -> None:
    page = ado_emulator.feed.index_url + "some-project"  # no trailing slash: pypiserver redirects

    response = requests.get(page, auth=ado_emulator.read_auth, allow_redirects=False, timeout=10)

    assert response.is_redirect
    assert " " not in response.headers["Location"]
    assert "/Fabrikam%20Web/" in response.headers["Location"]
