"""The emulator answers as docs/azure-artifacts.md says Azure does, row by row."""

from __future__ import annotations

import hashlib
import http.client
import inspect
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.emulator import FeedEmulator
from tests.emulator.emulator import make_jwt
from tests.emulator.emulator import make_pat
from tests.emulator.feed import EmulatedFeed
from tests.emulator.feed import normalized_version
from tests.emulator.packages import build_sdist
from tests.emulator.packages import build_wheel
from tests.emulator.packages import upload_file
from tests.emulator.pytest_plugin import LOCAL_SIGN_IN_HOST
from tests.emulator.pytest_plugin import AdoEmulator
from tests.emulator.pytest_plugin import EmulatorFactory
from tests.public_index_plugin import PublicIndexFactory
from tests.public_index_server import PublicIndexServer
from tests.public_index_server import closed_port_url


SUPPRESS = {"X-TFS-FedAuthRedirect": "Suppress"}
TIMEOUT = 10
REASON_RE = re.compile(
    r"^(?P<phrase>[A-Za-z ]+) - (?P<message>.*) \(DevOps Activity ID: [0-9A-F-]{36}\)$"
)


def get(url: str, auth: tuple[str, str] | None = None, **kwargs: Any) -> requests.Response:
    return requests.get(url, auth=auth, timeout=TIMEOUT, allow_redirects=False, **kwargs)


def error_of(response: requests.Response, status: int) -> dict[str, Any]:
    """Azure's JSON error document of a response with `status`."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    document: dict[str, Any] = response.json()
    assert document["$id"] == "1"
    return document


def reason_message(response: requests.Response) -> str:
    match = REASON_RE.match(response.reason)
    assert match is not None, response.reason
    return match.group("message")


@pytest.fixture
def wheel(tmp_path: Path) -> Path:
    return build_wheel(tmp_path / "dist", "Demo.Pkg", "4.0.0", requires_python=">=3.8,<4")


# --------------------------------------------------------------------------- index pages


@pytest.mark.parametrize(
    "path",
    [
        "/contoso/Fabrikam%20Web/_packaging/team-feed/pypi/simple/",
        "/contoso/Fabrikam%20Web/_packaging/team-feed@Release/pypi/simple/",
        "/contoso/_packaging/org-feed/pypi/simple/",
        "/contoso/_packaging/no-such-feed/pypi/simple/",  # not looked up: the same answer
        "/nobody/_packaging/no-such-feed@nope/pypi/simple/",
    ],
)
def test_feed_root_is_404_text_for_every_feed(ado_emulator: AdoEmulator, path: str) -> None:
    response = get(ado_emulator.base_url + path, auth=ado_emulator.read_auth)

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/plain"
    assert response.content == b"This functionality is currently not available."


def test_feed_root_authenticates_first(ado_emulator: AdoEmulator) -> None:
    """Emulator's choice: the root's 404 comes after authentication."""
    assert get(ado_emulator.feed.index_url, headers=SUPPRESS).status_code == 401
    assert get(ado_emulator.feed.index_url, auth=("u", make_pat())).status_code == 401


def test_project_page_bytes(ado_emulator: AdoEmulator, published: Path, tmp_path: Path) -> None:
    feed = ado_emulator.feed
    sdist = build_sdist(tmp_path, "Demo.Pkg", "0.9")
    assert upload_file(feed.upload_url, sdist, auth=ado_emulator.write_auth).status_code == 200
    base = (
        f"{ado_emulator.base_url}/contoso/{feed.project_id}/_packaging/{feed.feed_id}"
        "/pypi/download/demo-pkg"
    )
    sdist_hash = hashlib.sha256(sdist.read_bytes()).hexdigest()
    wheel_hash = hashlib.sha256(published.read_bytes()).hexdigest()
    expected = (
        "<!DOCTYPE html>\n<html><head><title>Links for demo-pkg</title></head><body>"
        "<h1>Links for demo-pkg</h1>"
        f'<a href="{base}/0.9/demo_pkg-0.9.tar.gz#sha256={sdist_hash}">demo_pkg-0.9.tar.gz</a><br/>'
        f'<a href="{base}/4/demo_pkg-4.0.0-py3-none-any.whl#sha256={wheel_hash}" '
        'data-requires-python="&gt;=3.8,&lt;4">demo_pkg-4.0.0-py3-none-any.whl</a><br/>'
        "</body></html>"
    )

    page = get(feed.project_url("demo-pkg"), auth=ado_emulator.read_auth)
    as_json = get(
        feed.project_url("demo-pkg"),
        auth=ado_emulator.read_auth,
        headers={"Accept": "application/vnd.pypi.simple.v1+json"},
    )

    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html"
    assert page.text == expected
    assert as_json.headers["Content-Type"] == "text/html"  # Accept is ignored
    assert as_json.content == page.content


def test_deleted_versions_are_left_out(ado_emulator: AdoEmulator, published: Path) -> None:
    feed = ado_emulator.feed
    feed.add_package("demo-pkg", "5.0")
    feed.delete_version("demo-pkg", "4")

    page = get(feed.project_url("demo-pkg"), auth=ado_emulator.read_auth)

    assert "demo_pkg-5.0-py3-none-any.whl" in page.text
    assert published.name not in page.text


@pytest.mark.parametrize(
    ("version", "normal"),
    [("4.0.0", "4"), ("1.0", "1"), ("0.1", "0.1"), ("1.0.0rc1", "1rc1"), ("2.10.0", "2.10")],
)
def test_normalized_versions(version: str, normal: str) -> None:
    assert normalized_version(version) == normal


def test_links_through_a_view_use_feed_and_view_guids(
    ado_emulator: AdoEmulator, published: Path
) -> None:
    feed = ado_emulator.feed
    feed.promote("Demo.Pkg", "4.0.0", "Release")  # views show promoted versions only
    view_id = feed.view_id("Release")
    by_guid = (
        f"{ado_emulator.base_url}/contoso/{feed.project_id}/_packaging/"
        f"{feed.feed_id}@{view_id}/pypi/simple/demo-pkg/"
    )

    page = get(feed.project_url("demo-pkg", view="Release"), auth=ado_emulator.read_auth)
    again = get(by_guid, auth=ado_emulator.read_auth)

    link = re.findall(r'href="([^"#]+)', page.text)[0]
    assert link == (
        f"{ado_emulator.base_url}/contoso/{feed.project_id}/_packaging/{feed.feed_id}@{view_id}"
        f"/pypi/download/demo-pkg/4/{published.name}"
    )
    assert again.status_code == 200
    assert get(link, auth=ado_emulator.read_auth).status_code == 303
    assert ado_emulator.requests[-1].view == "Release"


@pytest.mark.parametrize("spelling", ["Demo_Pkg/", "DEMO.pkg/", "demo-pkg"])
def test_other_spellings_redirect_to_the_absolute_canonical_url(
    ado_emulator: AdoEmulator, spelling: str
) -> None:
    response = get(ado_emulator.feed.index_url + spelling, auth=ado_emulator.read_auth)

    assert response.status_code == 301
    assert response.headers["Location"] == ado_emulator.feed.project_url("demo-pkg")
    assert response.headers["Location"].startswith("http://127.0.0.1:")


def test_not_found_texts_and_reason_phrases(ado_emulator: AdoEmulator) -> None:
    feed, auth = ado_emulator.feed, ado_emulator.read_auth
    cases = {
        feed.project_url(
            "nothing-here"
        ): "Cannot find the package 'nothing-here' in feed 'team-feed'",
        feed.project_url("x").replace(
            "team-feed", "no-feed"
        ): "The feed with ID 'no-feed' doesn't exist.",
        feed.project_url("x", view="Release").replace("@Release", "@Nope"): (
            "The feed view with name 'Nope' doesn't exist."
        ),
    }
    for url, message in cases.items():
        response = get(url, auth=auth)
        assert error_of(response, 404)["message"] == message
        assert response.reason.startswith("Not Found - ")
        assert reason_message(response) == message


def test_reason_phrase_is_cut_at_512(ado_emulator: AdoEmulator) -> None:
    name = "a" * 700
    response = get(ado_emulator.feed.project_url(name), auth=ado_emulator.read_auth)

    assert name in error_of(response, 404)["message"]
    assert len(response.reason) == 512
    assert response.reason.startswith("Not Found - Cannot find the package 'aaa")


def test_reason_phrase_of_other_errors(ado_emulator: AdoEmulator, published: Path) -> None:
    again = upload_file(ado_emulator.feed.upload_url, published, auth=ado_emulator.write_auth)

    assert again.reason.startswith("Conflict - The feed 'team-feed' already contains file")
    assert reason_message(again) == error_of(again, 409)["message"]


def test_head_is_405(ado_emulator: AdoEmulator, published: Path) -> None:
    feed = ado_emulator.feed
    for url in (feed.project_url("demo-pkg"), feed.download_url(published.name)):
        response = requests.head(url, auth=ado_emulator.read_auth, timeout=TIMEOUT)
        assert response.status_code == 405, url
        assert response.headers["Allow"] == "GET"


# --------------------------------------------------------------------------- downloads


def test_hosted_download_is_a_303_to_the_blob_host(
    ado_emulator: AdoEmulator, published: Path
) -> None:
    emulator, auth = ado_emulator.emulator, ado_emulator.read_auth

    redirect = get(ado_emulator.feed.download_url(published.name), auth=auth)

    assert redirect.status_code == 303
    location = redirect.headers["Location"]
    assert location.startswith(emulator.blob_url + "/")
    assert urlsplit(location).hostname == "127.0.0.2"
    assert "sig=" in location
    assert "se=" in location
    with_credentials = get(location, auth=auth)
    assert with_credentials.status_code == 400
    assert "<Code>InvalidAuthenticationInfo</Code>" in with_credentials.text
    without = get(location)
    assert without.status_code == 200
    assert without.content == published.read_bytes()
    assert f'filename="{published.name}"' in without.headers["Content-Disposition"]
    assert [(r.status, r.authorization_sent) for r in emulator.blob_requests] == [
        (400, True),
        (200, False),
    ]


def test_blob_urls_are_signed(ado_emulator: AdoEmulator, published: Path) -> None:
    location = get(
        ado_emulator.feed.download_url(published.name), auth=ado_emulator.read_auth
    ).headers["Location"]

    forged = re.sub(r"sig=[0-9a-f]+", "sig=" + "0" * 64, location)

    assert get(forged).status_code == 403
    assert "AuthenticationFailed" in get(forged).text


def test_following_the_redirect_drops_credentials(
    ado_emulator: AdoEmulator, published: Path
) -> None:
    download = requests.get(
        ado_emulator.feed.download_url(published.name),
        auth=ado_emulator.read_auth,
        timeout=TIMEOUT,
    )

    assert download.status_code == 200
    assert download.content == published.read_bytes()
    assert [r.authorization_sent for r in ado_emulator.emulator.blob_requests] == [False]


@pytest.mark.parametrize(
    ("wanted", "status", "part"),
    [
        ("bytes=0-9", 206, slice(0, 10)),
        ("bytes=-5", 206, slice(-5, None)),
        ("bytes=5-", 206, slice(5, None)),
    ],
)
def test_range_requests_on_the_blob_host(
    ado_emulator: AdoEmulator, published: Path, wanted: str, status: int, part: slice
) -> None:
    location = get(
        ado_emulator.feed.download_url(published.name), auth=ado_emulator.read_auth
    ).headers["Location"]

    response = get(location, headers={"Range": wanted})

    assert response.status_code == status
    data = published.read_bytes()
    assert response.content == data[part]
    assert response.headers["Content-Range"].endswith(f"/{len(data)}")
    assert get(location, headers={"Range": f"bytes={len(data) + 5}-"}).status_code == 416


def test_server_mode_downloads_from_the_same_host(
    ado_emulator_factory: EmulatorFactory, wheel: Path
) -> None:
    emulator = ado_emulator_factory(mode="server")
    feed = emulator.add_feed("ignored-org", "onprem", project="Web")
    token = emulator.generate_token()
    auth = ("u", token)
    assert (
        feed.index_url
        == f"{emulator.base_url}/tfs/DefaultCollection/Web/_packaging/onprem/pypi/simple/"
    )
    assert upload_file(feed.upload_url, wheel, auth=auth).status_code == 200

    page = get(feed.project_url("demo-pkg"), auth=auth)
    link = re.findall(r'href="([^"#]+)', page.text)[0]
    download = get(link, auth=auth)
    ranged = get(link, auth=auth, headers={"Range": "bytes=0-3"})

    assert link.startswith(
        f"{emulator.base_url}/tfs/DefaultCollection/{feed.project_id}/_packaging/{feed.feed_id}/"
    )
    assert download.status_code == 200
    assert download.content == wheel.read_bytes()
    assert ranged.status_code == 206
    assert ranged.content == wheel.read_bytes()[:4]
    with pytest.raises(RuntimeError):
        _ = emulator.blob_url


# --------------------------------------------------------------------------- authentication


def test_registered_token_in_every_position(ado_emulator: AdoEmulator, published: Path) -> None:
    url, token = ado_emulator.feed.project_url("demo-pkg"), ado_emulator.read_token

    assert get(url, auth=("anyone", token)).status_code == 200
    assert get(url, auth=("", token)).status_code == 200  # an empty Basic user name is fine
    assert get(url, auth=(token, "")).status_code == 200  # the PAT as the user name
    assert get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    jwt = make_jwt({"tid": ado_emulator.emulator.tenant_id})
    ado_emulator.emulator.add_token(jwt, write=False)
    assert get(url, auth=("", jwt)).status_code == 200
    assert get(url, headers={"Authorization": f"Bearer {jwt}"}).status_code == 200


@pytest.mark.parametrize("kind", ["pat", "new-pat", "jwt"])
@pytest.mark.parametrize("suppress", [True, False])
def test_well_formed_unknown_token_is_401_with_an_empty_body(
    ado_emulator: AdoEmulator, kind: str, suppress: bool
) -> None:
    token = {"pat": make_pat(), "new-pat": "A" * 76 + "AZDO" + "x1y2", "jwt": make_jwt()}[kind]

    response = get(
        ado_emulator.feed.project_url("demo-pkg"),
        auth=("user", token),
        headers=SUPPRESS if suppress else {},
    )

    assert response.status_code == 401
    assert response.content == b""
    challenges = response.headers["WWW-Authenticate"]
    assert 'Basic realm="https://pkgsprodeus21.pkgs.visualstudio.com/"' in challenges
    assert "Bearer authorization_uri=https://login.microsoftonline.com/" in challenges


def test_expired_token(ado_emulator: AdoEmulator) -> None:
    response = get(
        ado_emulator.feed.project_url("demo-pkg"), auth=("u", ado_emulator.expired_token)
    )

    assert error_of(response, 401)["message"] == (
        "Access Denied: The Personal Access Token used has expired."
    )


@pytest.mark.parametrize(
    "auth", [None, ("user", "hunter2"), ("", ""), ("user", "not a token at all")]
)
def test_anonymous_with_suppress_is_tf400813(
    ado_emulator: AdoEmulator, auth: tuple[str, str] | None
) -> None:
    response = get(ado_emulator.feed.project_url("demo-pkg"), auth=auth, headers=SUPPRESS)

    assert error_of(response, 401)["message"] == (
        "TF400813: Resource not available for anonymous access. Client authentication required."
    )
    assert "TFS-Federated" in response.headers["WWW-Authenticate"]
    sign_in = response.headers["X-TFS-FedAuthRedirect"]
    assert sign_in.startswith(f"{ado_emulator.emulator.sign_in_host}/_signin?realm=")


@pytest.mark.parametrize("auth", [None, ("user", "hunter2")])
def test_anonymous_without_suppress_is_a_302_to_sign_in(
    ado_emulator: AdoEmulator, auth: tuple[str, str] | None
) -> None:
    url = ado_emulator.feed.project_url("demo-pkg")

    response = get(url, auth=auth)

    assert response.status_code == 302
    location = response.headers["Location"]
    # the suite's emulators redirect to loopback; Azure's own host is the emulator's default
    assert location.startswith(f"{LOCAL_SIGN_IN_HOST}/_signin?realm=")
    assert "reply_to=" in location
    default = inspect.signature(FeedEmulator).parameters["sign_in_host"].default
    assert re.match(r"^https://[a-z0-9]+\.vssps\.visualstudio\.com$", default)


def test_sign_in_page_is_opt_in(ado_emulator_factory: EmulatorFactory) -> None:
    emulator = ado_emulator_factory(sign_in="page")
    feed = emulator.add_feed("contoso", "f")

    response = get(feed.project_url("x"))

    assert response.status_code == 203
    assert response.headers["Content-Type"].startswith("text/html")
    assert "Sign in" in response.text


def test_not_authorized_names_the_identity_guid(ado_emulator: AdoEmulator) -> None:
    grant = ado_emulator.emulator.add_token(make_pat(), packaging_scope=False)

    response = get(ado_emulator.feed.project_url("x"), auth=("alice", grant.token))

    message = error_of(response, 401)["message"]
    assert (
        message
        == f"TF400813: The user '{grant.user_id}' is not authorized to access this resource."
    )
    assert "alice" not in message


def test_every_401_names_tenant_and_authorization_endpoint(ado_emulator: AdoEmulator) -> None:
    scoped = ado_emulator.emulator.add_token(make_pat(), packaging_scope=False)
    url = ado_emulator.feed.project_url("x")
    answers = [
        get(url, headers=SUPPRESS),
        get(url, auth=("u", make_pat())),
        get(url, auth=("u", ado_emulator.expired_token)),
        get(url, auth=("u", scoped.token)),
    ]
    for response in answers:
        assert response.status_code == 401
        assert (
            f"Bearer authorization_uri=https://login.microsoftonline.com/{ado_emulator.emulator.tenant_id}"
            in response.headers["WWW-Authenticate"]
        )
        assert (
            response.headers["X-VSS-AuthorizationEndpoint"]
            == f"{ado_emulator.base_url}/_vssps/contoso/"
        )


def test_server_mode_has_no_entra_challenge_and_no_sign_in_redirect(
    ado_emulator_factory: EmulatorFactory,
) -> None:
    emulator = ado_emulator_factory(mode="server")
    feed = emulator.add_feed(None, "onprem")

    response = get(feed.project_url("x"))

    assert response.status_code == 401
    assert "Bearer" not in response.headers["WWW-Authenticate"]
    assert "Basic realm=" in response.headers["WWW-Authenticate"]
    assert "X-VSS-AuthorizationEndpoint" not in response.headers
    assert response.headers["X-VSS-E2EID"]


def test_roles(ado_emulator: AdoEmulator, wheel: Path) -> None:
    emulator, feed = ado_emulator.emulator, ado_emulator.feed
    grants = {
        role: emulator.add_token(make_pat(), role=role)
        for role in ("reader", "collaborator", "contributor", "owner")
    }
    assert [g.write for g in grants.values()] == [False, False, True, True]
    assert [g.can_ingest for g in grants.values()] == [False, True, True, True]
    assert emulator.add_token(make_pat(), write=False).role == "reader"
    assert emulator.add_token(make_pat()).role == "contributor"
    with pytest.raises(ValueError, match="unknown feed role"):
        emulator.add_token(make_pat(), role="admin")

    refused = upload_file(feed.upload_url, wheel, auth=("u", grants["collaborator"].token))

    assert error_of(refused, 403)["message"] == (
        f"User '{grants['collaborator'].user_id}' lacks permission to complete this action. "
        "You need to have 'AddPackage'."
    )
    assert upload_file(feed.upload_url, wheel, auth=("u", grants["owner"].token)).status_code == 200


# --------------------------------------------------------------------------- uploads


def test_upload_success_is_200_with_an_empty_body(ado_emulator: AdoEmulator, wheel: Path) -> None:
    response = upload_file(ado_emulator.feed.upload_url, wheel, auth=ado_emulator.write_auth)

    assert response.status_code == 200
    assert response.content == b""
    assert ado_emulator.feed.own_files() == [wheel.name]
    assert ado_emulator.feed.upstream_files() == []


def test_duplicate_file_is_409_package_already_exists(
    ado_emulator: AdoEmulator, published: Path
) -> None:
    response = upload_file(ado_emulator.feed.upload_url, published, auth=ado_emulator.write_auth)

    document = error_of(response, 409)
    assert document["typeKey"] == "PackageAlreadyExistsException"
    assert document["message"] == (
        f"The feed 'team-feed' already contains file '{published.name}' in package "
        "'Demo.Pkg 4.0.0'."
    )


def _zip_sdist(tmp_path: Path) -> Path:
    """A second source distribution of Demo.Pkg 4.0.0, in .zip form."""
    tar = build_sdist(tmp_path / "tar", "Demo.Pkg", "4.0.0")
    target = tmp_path / "demo_pkg-4.0.0.zip"
    shutil.copyfile(tar, target)
    return target


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"requires_dist": ["requests>=2", "evil @ https://example.invalid/evil.whl"]},
            "Packages with direct (URL) references in Requires-Dist are not allowed.",
        ),
        (
            {"project_urls": ["Home, https://example.invalid", "L" * 33 + ", https://x.invalid"]},
            "The Project-URL label '" + "L" * 33 + "' is longer than 32 characters.",
        ),
        ({"summary": "s" * 512}, "The summary must be a single line shorter than 512 characters."),
        (
            {"summary": "two\nlines"},
            "The summary must be a single line shorter than 512 characters.",
        ),
        (
            {"description_content_type": "text/html"},
            "The description content type 'text/html' is not valid.",
        ),
        (
            {"description_content_type": "text/markdown; variant=Fancy"},
            "The description content type 'text/markdown; variant=Fancy' is not valid.",
        ),
        (
            {"sha256_digest": "0" * 64},
            "The sha256 digest of 'demo_pkg-4.0.0-py3-none-any.whl' does not match the content.",
        ),
        (
            {"md5_digest": "0" * 32},
            "The md5 digest of 'demo_pkg-4.0.0-py3-none-any.whl' does not match the content.",
        ),
        (
            {"metadata_version": "3.0"},
            "Metadata version '3.0' is unsupported. "
            "Supported versions are: 1.0,1.1,1.2,2.0,2.1,2.2,2.3,2.4.",
        ),
    ],
)
def test_invalid_uploads_are_400(
    ado_emulator: AdoEmulator, wheel: Path, fields: dict[str, str | list[str]], message: str
) -> None:
    response = upload_file(
        ado_emulator.feed.upload_url, wheel, auth=ado_emulator.write_auth, fields=fields
    )

    document = error_of(response, 400)
    assert document["typeKey"] == "InvalidPackageException"
    assert document["message"] == message
    assert ado_emulator.feed.stored_files() == []


def test_valid_form_fields_pass(ado_emulator: AdoEmulator, wheel: Path) -> None:
    fields: dict[str, str | list[str]] = {
        "requires_dist": ["requests>=2", 'tomli; python_version < "3.11"'],
        "project_urls": ["L" * 32 + ", https://x.invalid"],
        "summary": "s" * 511,
        "description_content_type": "text/markdown; charset=UTF-8; variant=GFM",
        "metadata_version": "2.4",
    }
    response = upload_file(
        ado_emulator.feed.upload_url, wheel, auth=ado_emulator.write_auth, fields=fields
    )
    assert response.status_code == 200, response.text


def test_local_version_is_400(ado_emulator: AdoEmulator, tmp_path: Path) -> None:
    local = build_wheel(tmp_path, "demo-pkg", "1.0+abc")

    response = upload_file(ado_emulator.feed.upload_url, local, auth=ado_emulator.write_auth)

    assert "local version" in error_of(response, 400)["message"]


def test_second_sdist_for_a_version_is_400(ado_emulator: AdoEmulator, tmp_path: Path) -> None:
    feed, auth = ado_emulator.feed, ado_emulator.write_auth
    first = build_sdist(tmp_path, "Demo.Pkg", "4.0.0")
    assert upload_file(feed.upload_url, first, auth=auth).status_code == 200

    second = upload_file(feed.upload_url, _zip_sdist(tmp_path), auth=auth)

    assert "only one is allowed per version" in error_of(second, 400)["message"]
    assert feed.stored_files() == [first.name]


@pytest.mark.parametrize(
    ("mode", "maximum", "metadata_version", "accepted"),
    [
        ("server", None, "2.1", True),
        ("server", None, "2.2", False),
        ("server", None, "2.4", False),
        ("hosted", None, "2.4", True),
        ("hosted", "2.2", "2.2", True),
        ("hosted", "2.2", "2.3", False),
        ("hosted", "2.1", "2.2", False),
    ],
)
def test_metadata_version_allowlist(
    ado_emulator_factory: EmulatorFactory,
    wheel: Path,
    mode: str,
    maximum: str | None,
    metadata_version: str,
    accepted: bool,
) -> None:
    emulator = ado_emulator_factory(
        mode="server" if mode == "server" else "hosted", max_metadata_version=maximum
    )
    feed = emulator.add_feed("contoso", "f")
    token = emulator.generate_token()

    # The form field decides, not the file (whose METADATA says 2.1).
    response = upload_file(
        feed.upload_url, wheel, auth=("u", token), fields={"metadata_version": metadata_version}
    )

    if accepted:
        assert response.status_code == 200, response.text
    else:
        supported = ",".join(emulator.metadata_versions)
        assert error_of(response, 400)["message"] == (
            f"Metadata version '{metadata_version}' is unsupported. "
            f"Supported versions are: {supported}."
        )
    if mode == "server":
        assert emulator.metadata_versions == ("1.0", "1.1", "1.2", "2.0", "2.1")


def test_file_over_the_size_limit(ado_emulator_factory: EmulatorFactory, wheel: Path) -> None:
    emulator = ado_emulator_factory(max_file_size=wheel.stat().st_size // 2)
    feed = emulator.add_feed("contoso", "f")

    response = upload_file(feed.upload_url, wheel, auth=("u", emulator.generate_token()))

    assert error_of(response, 400)["message"] == (
        f"File is too large to publish. The size limit is {wheel.stat().st_size // 2}."
    )
    assert feed.stored_files() == []


def test_size_limit_is_decided_before_the_body_is_read(ado_emulator: AdoEmulator) -> None:
    """A body that never comes: only an answer from Content-Length alone can arrive."""
    feed = ado_emulator.feed
    parts = urlsplit(feed.upload_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        connection.putrequest("POST", parts.path)
        connection.putheader(
            "Authorization", requests.auth._basic_auth_str(*ado_emulator.write_auth)
        )
        connection.putheader("Content-Type", "multipart/form-data; boundary=xyz")
        connection.putheader("Content-Length", str(524_288_001))
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    assert response.status == 400
    assert b"File is too large to publish. The size limit is 524288000." in body


# --------------------------------------------------------------------------- upstream sources


@dataclass
class Upstreamed:
    public: PublicIndexServer
    emulator: FeedEmulator
    feed: EmulatedFeed
    reader: tuple[str, str]
    collaborator: tuple[str, str]
    contributor: tuple[str, str]


@pytest.fixture
def upstreamed(
    ado_emulator_factory: EmulatorFactory, public_index_factory: PublicIndexFactory
) -> Upstreamed:
    public = public_index_factory(["flask"])
    public.add_package("requests", "2.31.0", ">=3.7")
    public.add_package("requests", "2.32.0", ">=3.8")
    emulator = ado_emulator_factory(upstream=public)
    feed = emulator.add_feed("contoso", "team-feed", project="Fabrikam Web")
    return Upstreamed(
        public,
        emulator,
        feed,
        ("u", emulator.generate_token(role="reader")),
        ("u", emulator.generate_token(role="collaborator")),
        ("u", emulator.generate_token(role="contributor")),
    )


def _links(page: requests.Response) -> list[str]:
    return re.findall(r'href="([^"]+)"', page.text)


def test_upstream_versions_are_listed_with_feed_links(upstreamed: Upstreamed) -> None:
    feed = upstreamed.feed

    page = get(feed.project_url("requests"), auth=upstreamed.collaborator)

    assert page.status_code == 200
    public = {f.filename: f.sha256 for f in upstreamed.public.files("requests")}
    links = _links(page)
    assert [link.rsplit("/", 1)[-1] for link in links] == [
        f"{name}#sha256={sha}" for name, sha in sorted(public.items())
    ]
    assert all(
        link.startswith(f"{upstreamed.emulator.base_url}/contoso/{feed.project_id}/")
        for link in links
    )
    assert 'data-requires-python="&gt;=3.8"' in page.text
    assert feed.stored_files() == []  # listing saves nothing


def test_reader_gets_404_for_a_never_seen_public_name(upstreamed: Upstreamed) -> None:
    page = get(upstreamed.feed.project_url("requests"), auth=upstreamed.reader)

    assert (
        error_of(page, 404)["message"] == "Cannot find the package 'requests' in feed 'team-feed'"
    )


def test_download_of_an_unsaved_version_needs_collaborator(upstreamed: Upstreamed) -> None:
    feed = upstreamed.feed
    wheel = "requests-2.31.0-py3-none-any.whl"
    url = feed.download_url(wheel)

    refused = get(url, auth=upstreamed.reader)
    assert error_of(refused, 403)["message"].endswith("You need to have 'AddUpstreamPackage'.")
    assert feed.stored_files() == []

    saved = requests.get(url, auth=upstreamed.collaborator, timeout=TIMEOUT)

    public = next(f for f in upstreamed.public.files("requests") if f.filename == wheel)
    assert saved.status_code == 200
    assert saved.content == public.data
    assert feed.upstream_files() == [wheel]
    assert feed.own_files() == []
    assert feed.is_from_upstream(wheel)
    assert feed.upstream_origin(wheel) == upstreamed.public.file_url(wheel)
    assert hashlib.sha256((feed.storage / wheel).read_bytes()).hexdigest() == public.sha256

    # Now the name is known to the feed: a Reader sees every version, saved or not, and may
    # download the saved one only.
    page = get(feed.project_url("requests"), auth=upstreamed.reader)
    assert page.status_code == 200
    assert len(_links(page)) == 2
    assert f"#sha256={public.sha256}" in page.text
    assert get(url, auth=upstreamed.reader).status_code == 303
    other = feed.download_url("requests-2.32.0-py3-none-any.whl")
    assert get(other, auth=upstreamed.reader).status_code == 403


def test_publishing_a_name_hides_its_upstream_versions(
    upstreamed: Upstreamed, tmp_path: Path
) -> None:
    feed = upstreamed.feed
    shadow = build_wheel(tmp_path, "requests", "99.0")
    assert upload_file(feed.upload_url, shadow, auth=upstreamed.contributor).status_code == 200

    page = get(feed.project_url("requests"), auth=upstreamed.collaborator)
    assert [link.split("#")[0].rsplit("/", 1)[-1] for link in _links(page)] == [shadow.name]
    hidden = get(
        feed.download_url("requests-2.31.0-py3-none-any.whl"), auth=upstreamed.collaborator
    )
    assert hidden.status_code == 404

    feed.allow_external_versions("requests")
    page = get(feed.project_url("requests"), auth=upstreamed.collaborator)
    assert len(_links(page)) == 3
    assert feed.allows_external_versions("Requests")


def test_allow_external_versions_can_be_set_before_the_package_exists(
    upstreamed: Upstreamed, tmp_path: Path
) -> None:
    feed = upstreamed.feed
    feed.allow_external_versions("requests")
    feed.add_package("requests", "99.0")

    page = get(feed.project_url("requests"), auth=upstreamed.collaborator)

    assert len(_links(page)) == 3


def test_publishing_a_version_that_exists_upstream_is_409(
    upstreamed: Upstreamed, tmp_path: Path
) -> None:
    copy = build_wheel(tmp_path, "requests", "2.32.0")

    response = upload_file(upstreamed.feed.upload_url, copy, auth=upstreamed.contributor)

    message = error_of(response, 409)["message"]
    assert message.startswith(
        "'requests 2.32.0' cannot be published to the feed because it exists in at least one "
        "of the feed's upstream sources."
    )


def test_upstream_down_is_502(upstreamed: Upstreamed, tmp_path: Path) -> None:
    upstreamed.public.fail_all = True
    feed = upstreamed.feed

    page = get(feed.project_url("requests"), auth=upstreamed.collaborator)
    upload = upload_file(
        feed.upload_url, build_wheel(tmp_path, "requests", "99.0"), auth=upstreamed.contributor
    )

    for response in (page, upload):
        assert error_of(response, 502)["message"].startswith(
            "Failed to retrieve data from the upstream package source "
        )


def test_upstream_refusing_connections_is_502(ado_emulator_factory: EmulatorFactory) -> None:
    emulator = ado_emulator_factory(upstream=closed_port_url())
    feed = emulator.add_feed("contoso", "f")

    page = get(
        feed.project_url("requests"), auth=("u", emulator.generate_token(role="collaborator"))
    )

    assert page.status_code == 502


def test_upstream_per_feed_and_in_json_mode(
    ado_emulator_factory: EmulatorFactory, public_index_factory: PublicIndexFactory
) -> None:
    public = public_index_factory(json=True)
    public.add_package("numpy", "2.0.0")
    emulator = ado_emulator_factory()
    proxied = emulator.add_feed("contoso", "proxied", upstream=public)
    plain = emulator.add_feed("contoso", "plain")
    auth = ("u", emulator.generate_token(role="collaborator"))

    page = get(proxied.project_url("numpy"), auth=auth)
    saved = proxied.save_upstream_version("numpy", "2")

    assert page.status_code == 200
    assert "numpy-2.0.0-py3-none-any.whl" in page.text
    assert get(plain.project_url("numpy"), auth=auth).status_code == 404
    assert saved == ["numpy-2.0.0-py3-none-any.whl"]
    assert proxied.upstream_files() == saved


def test_emulator_upstream_can_be_switched_off_per_feed(
    upstreamed: Upstreamed,
) -> None:
    own = upstreamed.emulator.add_feed("contoso", "no-upstream", upstream=False)

    assert get(own.project_url("requests"), auth=upstreamed.collaborator).status_code == 404


# --------------------------------------------------------------------------- public index


def test_public_index_serves_packages_and_keeps_file_less_projects(
    public_index_factory: PublicIndexFactory,
) -> None:
    public = public_index_factory(["flask"])
    public.add_package("Requests", "2.31.0", ">=3.7")
    page = get(public.url + "requests/")
    empty = get(public.url + "flask/")
    (file,) = public.files("requests")
    served = get(public.file_url(file.filename))

    assert page.status_code == 200
    assert f'href="/files/{file.filename}#sha256={file.sha256}"' in page.text
    assert 'data-requires-python="&gt;=3.7"' in page.text
    assert empty.status_code == 200
    assert "<a " not in empty.text
    assert served.content == file.data
    assert hashlib.sha256(served.content).hexdigest() == file.sha256


def test_public_index_json_project_page(public_index_factory: PublicIndexFactory) -> None:
    public = public_index_factory(json=True)
    file = public.add_package("numpy", "2.0.0", ">=3.9")
    page = get(public.url + "numpy/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})

    document = page.json()
    assert document["name"] == "numpy"
    assert document["files"] == [
        {
            "filename": file.filename,
            "url": f"/files/{file.filename}",
            "hashes": {"sha256": file.sha256},
            "requires-python": ">=3.9",
        }
    ]
