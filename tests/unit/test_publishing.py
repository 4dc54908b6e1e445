"""The core of `poetry ado publish`, without a console: source and URL choice, dist/ checks, the
feed's index, the upload plan, failure messages and the retrying uploader (against the feed
emulator in this process)."""

from __future__ import annotations

import hashlib
import http.client
import tarfile
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING
from typing import Any
from typing import cast

import pytest
import requests
from cleo.io.buffered_io import BufferedIO
from urllib3.exceptions import ProtocolError

from poetry_ado_plugin.answers import IMMUTABLE
from poetry_ado_plugin.answers import read_answer
from poetry_ado_plugin.errors import DistFileError
from poetry_ado_plugin.errors import FeedResponseError
from poetry_ado_plugin.errors import UsageError
from poetry_ado_plugin.errors import VersionExistsError
from poetry_ado_plugin.http import make_session
from poetry_ado_plugin.name_check import check_project_name
from poetry_ado_plugin.publishing.dist_files import DistFile
from poetry_ado_plugin.publishing.dist_files import DistSelection
from poetry_ado_plugin.publishing.dist_files import check_azure_rules
from poetry_ado_plugin.publishing.dist_files import select_dist_files
from poetry_ado_plugin.publishing.feed_index import FeedFile
from poetry_ado_plugin.publishing.feed_index import FeedProject
from poetry_ado_plugin.publishing.feed_index import UploadPlan
from poetry_ado_plugin.publishing.feed_index import explain
from poetry_ado_plugin.publishing.feed_index import plan_uploads
from poetry_ado_plugin.publishing.feed_index import read_feed_project
from poetry_ado_plugin.publishing.metadata_compat import downgrade_fields
from poetry_ado_plugin.publishing.metadata_compat import plan_metadata_compat
from poetry_ado_plugin.publishing.target import upload_target
from poetry_ado_plugin.publishing.uploader import GuardedUploader
from poetry_ado_plugin.publishing.uploader import RetryPolicy
from poetry_ado_plugin.pyproject import Source
from poetry_ado_plugin.simple_index import filename_name_version
from poetry_ado_plugin.simple_index import parse_project_page
from poetry_ado_plugin.sources import AzureSource
from poetry_ado_plugin.sources import select_azure_source
from tests.emulator.packages import build_sdist
from tests.emulator.packages import build_wheel
from tests.public_index_server import PublicIndexServer
from tests.public_index_server import closed_port_url


if TYPE_CHECKING:
    from collections.abc import Iterator

    from packaging.metadata import RawMetadata
    from poetry.poetry import Poetry

    from tests.emulator.pytest_plugin import AdoEmulator


HOSTED = "https://pkgs.dev.azure.com/contoso/Web/_packaging/team-feed/pypi/simple/"
HOSTED_UPLOAD = "https://pkgs.dev.azure.com/contoso/Web/_packaging/team-feed/pypi/upload/"
PROJECT = "sample-app"


def source_of(url: str, name: str = "team-feed") -> AzureSource:
    return select_azure_source([Source(name, url, "explicit")], name, command="poetry ado publish")


# --- where to upload -----------------------------------------------------------------------


def test_configured_upload_url_is_used_as_is() -> None:
    assert upload_target(source_of(HOSTED), HOSTED_UPLOAD).url == HOSTED_UPLOAD
    assert upload_target(source_of(HOSTED), HOSTED_UPLOAD).warning is None


@pytest.mark.parametrize(
    "configured",
    [None, HOSTED, HOSTED.replace("team-feed", "team-feed@Release")],
    ids=["unset", "simple", "view"],
)
def test_unset_or_install_url_publishes_to_the_feed_with_a_warning(configured: str | None) -> None:
    target = upload_target(source_of(HOSTED), configured)
    assert target.url == HOSTED_UPLOAD
    assert target.warning is not None
    assert "poetry ado add-feed" in target.warning


def test_source_url_filled_in_by_poetry_reads_as_not_set() -> None:
    warning = upload_target(source_of(HOSTED), HOSTED).warning
    assert warning is not None
    assert warning.startswith("repositories.team-feed.url is not set to the feed's upload URL")
    assert "gets 405" in warning


def test_a_view_source_uploads_to_the_feed_itself() -> None:
    view = source_of(HOSTED.replace("team-feed", "team-feed@Release"))
    assert view.index_url == HOSTED
    assert upload_target(view, HOSTED_UPLOAD).url == HOSTED_UPLOAD


def test_repository_of_another_feed_is_an_error() -> None:
    with pytest.raises(UsageError, match="is another feed than source team-feed"):
        upload_target(source_of(HOSTED), HOSTED_UPLOAD.replace("team-feed", "other"))
    with pytest.raises(UsageError, match="not an Azure Artifacts feed URL"):
        upload_target(source_of(HOSTED), "https://upload.example.com/legacy/")


def test_credentials_in_the_repository_url_are_never_echoed() -> None:
    secret = "s3cr3t-token"
    configured = HOSTED.replace("https://", f"https://user:{secret}@")
    target = upload_target(source_of(HOSTED), configured)
    assert target.url == HOSTED_UPLOAD
    assert target.warning is not None
    assert secret not in target.warning


# --- the files in dist/ --------------------------------------------------------------------


def test_only_the_current_version_is_selected(tmp_path: Path) -> None:
    build_wheel(tmp_path, PROJECT, "0.1.0")
    build_sdist(tmp_path, PROJECT, "0.1.0")
    build_wheel(tmp_path, PROJECT, "0.2.0")
    build_wheel(tmp_path, "other-project", "0.1.0")
    (tmp_path / "notes.txt").write_text("not a distribution")
    selection = select_dist_files(tmp_path, PROJECT, "0.1.0")
    assert [f.filename for f in selection.files] == [
        "sample_app-0.1.0.tar.gz",
        "sample_app-0.1.0-py3-none-any.whl",
    ]
    assert [(i.path.name, i.reason) for i in selection.ignored] == [
        ("sample_app-0.2.0-py3-none-any.whl", "it is version 0.2.0; the project is 0.1.0")
    ]


def test_equal_versions_in_another_spelling_are_accepted(tmp_path: Path) -> None:
    build_wheel(tmp_path, "Sample_App", "1.0")
    assert len(select_dist_files(tmp_path, PROJECT, "1.0.0").files) == 1


def test_file_whose_metadata_disagrees_is_refused(tmp_path: Path) -> None:
    built = build_wheel(tmp_path, PROJECT, "0.2.0")
    built.rename(tmp_path / "sample_app-0.1.0-py3-none-any.whl")
    with pytest.raises(DistFileError, match=r"says it is sample-app 0\.2\.0 in its METADATA"):
        select_dist_files(tmp_path, PROJECT, "0.1.0")


def test_sdist_of_another_project_under_our_name_is_refused(tmp_path: Path) -> None:
    built = build_sdist(tmp_path, "intruder", "0.1.0")
    built.rename(tmp_path / "sample_app-0.1.0.tar.gz")
    with pytest.raises(DistFileError, match=r"says it is intruder 0\.1\.0 in its PKG-INFO"):
        select_dist_files(tmp_path, PROJECT, "0.1.0")


def test_unreadable_archive_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sample_app-0.1.0-py3-none-any.whl").write_bytes(b"not a zip")
    with pytest.raises(DistFileError, match=r"cannot read sample_app-0\.1\.0-py3-none-any\.whl"):
        select_dist_files(tmp_path, PROJECT, "0.1.0")


def test_sdist_without_pkg_info_is_refused(tmp_path: Path) -> None:
    with tarfile.open(tmp_path / "sample_app-0.1.0.tar.gz", "w:gz"):
        pass
    with pytest.raises(DistFileError, match="has no PKG-INFO"):
        select_dist_files(tmp_path, PROJECT, "0.1.0")


def test_nothing_to_publish_names_the_versions_found(tmp_path: Path) -> None:
    build_wheel(tmp_path, PROJECT, "0.2.0")
    with pytest.raises(DistFileError, match=r"found only other versions: 0\.2\.0.*--build"):
        select_dist_files(tmp_path, PROJECT, "0.1.0")
    with pytest.raises(DistFileError, match=r"no files of sample-app 0\.1\.0"):
        select_dist_files(tmp_path / "missing", PROJECT, "0.1.0")


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("sample_app-0.1.0-py3-none-any.whl", ("sample-app", "0.1.0")),
        ("sample_app-0.1.0-1-cp311-cp311-linux_x86_64.whl", ("sample-app", "0.1.0")),
        ("sample-app-0.1.0.tar.gz", ("sample-app", "0.1.0")),
        ("Sample_App-0.1.0.zip", ("sample-app", "0.1.0")),
        ("sample-app-0.1.0-py3-none-any.whl", None),  # a wheel name has no hyphen
        ("sample_app.whl", None),
        ("README.md", None),
    ],
)
def test_filename_name_version(filename: str, expected: tuple[str, str] | None) -> None:
    assert filename_name_version(filename) == expected


# --- the feed's index and the plan ---------------------------------------------------------


PAGE = """<!DOCTYPE html><html><body>
<a href="https://x/_packaging/g/pypi/download/sample-app/0.1.0/sample_app-0.1.0.tar.gz#sha256=AB{h}">sample_app-0.1.0.tar.gz</a><br>
<a href="../../download/sample_app-0.1.0-cp311-none-any.whl#md5=00">
sample_app-0.1.0-cp311-none-any.whl</a>
<a href="https://x/download/sample_app-0.0.9-py3-none-any.whl"></a>
</body></html>""".format(h="c" * 62)


def test_project_page_is_parsed_with_hashes() -> None:
    assert parse_project_page(PAGE) == (
        FeedFile("sample_app-0.1.0.tar.gz", "ab" + "c" * 62),
        FeedFile("sample_app-0.1.0-cp311-none-any.whl", None),
        FeedFile("sample_app-0.0.9-py3-none-any.whl", None),
    )


@pytest.fixture
def dist(tmp_path: Path) -> DistSelection:
    build_wheel(tmp_path, PROJECT, "0.1.0")
    build_sdist(tmp_path, PROJECT, "0.1.0")
    return select_dist_files(tmp_path, PROJECT, "0.1.0")


def test_version_not_on_the_feed_uploads_everything(dist: DistSelection) -> None:
    feed = FeedProject("u", (FeedFile("sample_app-0.0.9-py3-none-any.whl"),))
    plan = plan_uploads(dist, feed, skip_existing=False, source=source_of(HOSTED))
    assert plan.upload == dist.files
    assert plan.skipped == () and plan.other_files == ()


def test_existing_file_stops_with_the_immutability_explanation(dist: DistSelection) -> None:
    wheel = dist.files[1]
    feed = FeedProject("u", (FeedFile(wheel.filename, wheel.sha256),))
    with pytest.raises(VersionExistsError) as raised:
        plan_uploads(dist, feed, skip_existing=False, source=source_of(HOSTED))
    message = str(raised.value)
    assert "sample-app 0.1.0 is already on feed team-feed" in message
    assert "not even after it was deleted" in message
    assert "new version" in message
    assert "--skip-existing" in message


def test_skip_existing_skips_only_files_that_are_there(dist: DistSelection) -> None:
    sdist, wheel = dist.files
    feed = FeedProject("u", (FeedFile(wheel.filename.upper(), "0" * 64),))
    plan = plan_uploads(dist, feed, skip_existing=True, source=source_of(HOSTED))
    assert plan.upload == (sdist,)
    [skipped] = plan.skipped
    assert skipped.file == wheel
    assert "different content" in skipped.note


def test_other_files_of_the_version_do_not_block_new_ones(dist: DistSelection) -> None:
    feed = FeedProject("u", (FeedFile("sample_app-0.1.0-cp311-cp311-win_amd64.whl"),))
    plan = plan_uploads(dist, feed, skip_existing=False, source=source_of(HOSTED))
    assert plan.upload == dist.files
    assert plan.other_files == ("sample_app-0.1.0-cp311-cp311-win_amd64.whl",)


def feed_source(ado_emulator: AdoEmulator, *, view: str | None = None) -> AzureSource:
    feed = ado_emulator.feed
    return source_of(feed.view_url(view) if view else feed.index_url)


@pytest.fixture
def session(ado_emulator: AdoEmulator) -> Iterator[requests.Session]:
    with make_session(retries=0) as session:
        session.auth = ado_emulator.write_auth
        yield session


def test_read_feed_project_lists_files_with_hashes(
    ado_emulator: AdoEmulator, session: requests.Session
) -> None:
    wheel = ado_emulator.feed.add_package(PROJECT, "0.1.0")
    found = read_feed_project(session, feed_source(ado_emulator), "Sample_App")
    [listed] = found.files
    assert listed.filename == wheel.name
    assert listed.version == "0.1.0"
    assert found.find(wheel.name.upper()) == listed
    [request] = ado_emulator.requests
    assert request.path.endswith("/team-feed/pypi/simple/sample-app/")


def test_read_feed_project_of_a_view_reads_the_feed_itself(
    ado_emulator: AdoEmulator, session: requests.Session
) -> None:
    read_feed_project(session, feed_source(ado_emulator, view="Release"), PROJECT)
    [request] = ado_emulator.requests
    assert request.view is None


def test_unknown_project_is_an_empty_listing(
    ado_emulator: AdoEmulator, session: requests.Session
) -> None:
    assert read_feed_project(session, feed_source(ado_emulator), PROJECT).files == ()


def test_missing_feed_is_an_error(ado_emulator: AdoEmulator, session: requests.Session) -> None:
    missing = source_of(ado_emulator.feed.index_url.replace("team-feed", "no-such-feed"))
    with pytest.raises(FeedResponseError) as raised:
        read_feed_project(session, missing, PROJECT)
    assert str(raised.value).startswith(
        "feed no-such-feed not found (HTTP 404: The feed with ID 'no-such-feed' doesn't "
        "exist.): check the URL of source team-feed in pyproject.toml"
    )


@pytest.mark.parametrize("token", ["expired", "wrong"])
def test_bad_token_on_the_index_says_login(
    ado_emulator: AdoEmulator, session: requests.Session, token: str
) -> None:
    session.auth = (
        ado_emulator.username,
        ado_emulator.expired_token if token == "expired" else "x",
    )
    with pytest.raises(FeedResponseError) as raised:
        read_feed_project(session, feed_source(ado_emulator), PROJECT)
    if token == "expired":
        assert str(raised.value) == (
            "the token for team-feed has expired (HTTP 401: Access Denied: The Personal "
            "Access Token used has expired.): run poetry ado login team-feed with a new one"
        )
    else:
        assert str(raised.value) == (
            "team-feed did not accept the token for team-feed (HTTP 401): it is wrong or has "
            "expired; run poetry ado login team-feed"
        )
    assert ado_emulator.requests[-1].status == 401  # asked for a 401, not a sign-in page


def test_unreachable_feed_is_one_line(session: requests.Session) -> None:
    source = source_of(closed_port_url().replace("/simple/", "/org/_packaging/f/pypi/simple/"))
    with pytest.raises(FeedResponseError, match=r"could not read f's index: could not connect"):
        read_feed_project(session, source, PROJECT)


# --- explanations --------------------------------------------------------------------------


def answer(status: int, body: str = "", content_type: str = "application/json") -> Any:
    response = requests.Response()
    response.status_code = status
    response._content = body.encode()
    response.headers["Content-Type"] = content_type
    response.reason = http.client.responses.get(status, "")
    return read_answer(response)


SIGN_IN = "<html><head><title>Azure DevOps Services | Sign In</title></head><body>x</body></html>"


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, '{"message":"TF400813: no"}', "it is wrong or has expired; run poetry ado login"),
        (203, SIGN_IN, "(HTTP 203): it is wrong or has expired; run poetry ado login team-feed"),
        (403, '{"message":"You need AddPackage"}', "Contributor role on the feed"),
        (403, "{}", "Packaging Read & write scope"),
        (
            404,
            '{"message":"The feed with ID \'x\' doesn\'t exist."}',
            "feed team-feed not found (HTTP 404",
        ),
        (
            405,
            "{}",
            "does not take uploads (HTTP 405: Method Not Allowed): check that it is the feed",
        ),
        (429, "{}", "is rate-limiting requests (HTTP 429"),
        (409, '{"message":"The feed already contains file"}', "already contains file"),
        (409, "{}", "not even after it was deleted"),
        (400, '{"message":"The sha256 digest does not match."}', "(HTTP 400): The sha256 digest"),
        (502, "<html><title>Bad gateway</title><p>long</p></html>", "HTTP 502: Bad gateway"),
    ],
)
def test_every_failure_is_one_readable_line(status: int, body: str, expected: str) -> None:
    content_type = "text/html" if body.startswith("<") else "application/json"
    line = explain(
        answer(status, body, content_type),
        source=source_of(HOSTED),
        action="upload",
        url=HOSTED_UPLOAD,
        filename="sample_app-0.1.0.tar.gz",
    )
    assert expected in line
    assert "\n" not in line
    assert "<" not in line


def test_a_405_from_the_index_url_says_so() -> None:
    line = explain(
        answer(405),
        source=source_of(HOSTED),
        action="upload",
        url=HOSTED_UPLOAD.replace("/upload/", "/simple/"),
    )
    assert "points at /simple/ (the install URL) instead of /upload/; run poetry ado" in line


# --- retry policy --------------------------------------------------------------------------


def test_retry_policy_defaults_and_environment() -> None:
    policy = RetryPolicy()
    assert policy.attempts == 4
    assert [policy.delay(n) for n in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert policy.delay(1, retry_after=10) == 10
    assert policy.delay(1, retry_after=1000) == 60
    configured = RetryPolicy.from_environment(
        {"POETRY_ADO_PUBLISH_RETRIES": "1", "POETRY_ADO_PUBLISH_BACKOFF": "0.25"}
    )
    assert (configured.retries, configured.backoff) == (1, 0.25)
    assert RetryPolicy.from_environment({}) == RetryPolicy()
    with pytest.raises(UsageError, match="POETRY_ADO_PUBLISH_RETRIES"):
        RetryPolicy.from_environment({"POETRY_ADO_PUBLISH_RETRIES": "many"})
    with pytest.raises(UsageError, match="POETRY_ADO_PUBLISH_BACKOFF"):
        RetryPolicy.from_environment({"POETRY_ADO_PUBLISH_BACKOFF": "-1"})


# --- the guarded uploader, against the emulator --------------------------------------------


class Harness:
    """A GuardedUploader for the emulator's feed, with recorded sleeps and output."""

    def __init__(self, emulator: AdoEmulator, dist: DistSelection, tmp_path: Path) -> None:
        self.emulator = emulator
        self.dist = dist
        self.io = BufferedIO()
        self.sleeps: list[float] = []
        self.source = feed_source(emulator)
        self.pyproject = tmp_path / "pyproject.toml"
        self.lookups = 0

    def lookup(self) -> FeedProject:
        self.lookups += 1
        with make_session(retries=0) as session:
            session.auth = self.emulator.write_auth
            return read_feed_project(session, self.source, PROJECT)

    def uploader(
        self,
        *,
        skip_existing: bool = False,
        session_factory: Any = None,
        retries: int = 3,
    ) -> GuardedUploader:
        package = SimpleNamespace(name=PROJECT, pretty_name=PROJECT)
        poetry = cast(
            "Poetry", SimpleNamespace(package=package, file=SimpleNamespace(path=self.pyproject))
        )
        uploader = GuardedUploader(
            poetry,
            self.io,
            plan=UploadPlan(self.dist.files),
            version="0.1.0",
            source=self.source,
            lookup=self.lookup,
            policy=RetryPolicy(retries=retries, backoff=0.5),
            skip_existing=skip_existing,
            sleep=self.sleeps.append,
            session_factory=session_factory,
        )
        uploader.auth(*self.emulator.write_auth)
        return uploader

    def upload(self, **kwargs: Any) -> GuardedUploader:
        uploader = self.uploader(**kwargs)
        uploader.upload(self.emulator.feed.upload_url)
        return uploader

    def posts(self) -> list[int | None]:
        return [r.status for r in self.emulator.requests if r.method == "POST"]

    @property
    def output(self) -> str:
        return self.io.fetch_output() + self.io.fetch_error()


@pytest.fixture
def harness(ado_emulator: AdoEmulator, dist: DistSelection, tmp_path: Path) -> Harness:
    return Harness(ado_emulator, dist, tmp_path)


def test_uploads_every_planned_file_and_reports_poetry_progress(harness: Harness) -> None:
    uploader = harness.upload()
    assert [r.outcome for r in uploader.results] == ["uploaded", "uploaded"]
    assert harness.emulator.feed.stored_files() == sorted(f.filename for f in harness.dist.files)
    assert uploader.files == [f.path for f in harness.dist.files]
    assert uploader.version == "0.1.0"
    assert " - Uploading sample_app-0.1.0.tar.gz" in harness.output
    assert harness.sleeps == []


def test_server_errors_are_retried_with_backoff_and_reported(harness: Harness) -> None:
    harness.emulator.emulator.fail_next(2, status=503, method="POST")
    uploader = harness.upload()
    assert harness.posts() == [503, 503, 200, 200]
    assert [r.attempts for r in uploader.results] == [3, 1]
    assert harness.sleeps == [0.5, 1.0]
    output = harness.output
    assert (
        "Retrying upload of sample_app-0.1.0.tar.gz (attempt 2 of 4) after 503 Service Unavailable"
    ) in output
    assert "(attempt 3 of 4)" in output


def test_retry_after_is_honoured(harness: Harness) -> None:
    harness.emulator.emulator.fail_next(1, status=503, method="POST", retry_after=7)
    harness.upload()
    assert harness.sleeps == [7.0]


def test_dropped_connection_is_retried(harness: Harness) -> None:
    harness.emulator.emulator.drop_next(1, method="POST")
    uploader = harness.upload()
    assert [r.outcome for r in uploader.results] == ["uploaded", "uploaded"]
    assert "(attempt 2 of 4) after a dropped connection to 127.0.0.1" in harness.output


def test_persistent_server_error_gives_up_after_all_attempts(harness: Harness) -> None:
    harness.emulator.emulator.fail_next(10, status=500, method="POST")
    with pytest.raises(FeedResponseError) as raised:
        harness.upload()
    assert harness.posts() == [500, 500, 500, 500]
    assert "after 4 attempts (last: 500 Internal Server Error)" in str(raised.value)
    assert "--skip-existing" in str(raised.value)


@pytest.mark.parametrize("status", [400, 403, 404, 429])
def test_client_errors_are_never_retried(harness: Harness, status: int) -> None:
    harness.emulator.emulator.fail_next(1, status=status, method="POST")
    with pytest.raises(FeedResponseError):
        harness.upload()
    assert harness.posts() == [status]
    assert harness.sleeps == []


def test_read_only_token_is_explained(harness: Harness) -> None:
    uploader = harness.uploader()
    uploader.auth(*harness.emulator.read_auth)
    with pytest.raises(FeedResponseError, match="Contributor role") as raised:
        uploader.upload(harness.emulator.feed.upload_url)
    assert "AddPackage" in str(raised.value)
    assert harness.posts() == [403]


@pytest.mark.parametrize(("sign_in", "status"), [("page", 203), ("redirect", 302)])
def test_sign_in_page_is_not_taken_for_success(harness: Harness, sign_in: str, status: int) -> None:
    # Without the Suppress header an unreadable token is answered with a redirect to the
    # sign-in page (or, from the sign-in front end, a 203 page), never with a 401.
    harness.emulator.emulator.sign_in = sign_in  # type: ignore[assignment]

    def without_suppress() -> requests.Session:
        session = requests.Session()
        session.headers["X-TFS-FedAuthRedirect"] = "Suppress"
        original = session.send

        def send(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            request.headers.pop("X-TFS-FedAuthRedirect", None)
            return original(request, **kwargs)

        session.send = send  # type: ignore[method-assign]
        return session

    uploader = harness.uploader(session_factory=without_suppress)
    uploader.auth(harness.emulator.username, "wrong-token")
    with pytest.raises(FeedResponseError, match=rf"\(HTTP {status}\): it is wrong or has expired"):
        uploader.upload(harness.emulator.feed.upload_url)


def test_upload_to_simple_url_is_explained(harness: Harness) -> None:
    with pytest.raises(FeedResponseError, match=r"HTTP 405\): the repository URL points at"):
        harness.uploader().upload(harness.emulator.feed.index_url)


class LosesFirstAnswer(requests.Session):
    """The server stores the file, then the connection drops before the answer arrives."""

    lost = False

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = super().send(request, **kwargs)
        if request.method == "POST" and not LosesFirstAnswer.lost:
            LosesFirstAnswer.lost = True
            dropped = http.client.RemoteDisconnected("Remote end closed connection")
            raise requests.ConnectionError(ProtocolError("Connection aborted.", dropped))
        return response


@pytest.fixture
def loses_first_answer() -> Iterator[type[LosesFirstAnswer]]:
    LosesFirstAnswer.lost = False
    yield LosesFirstAnswer


def test_conflict_after_a_lost_answer_is_success_when_the_index_lists_the_file(
    harness: Harness, loses_first_answer: type[LosesFirstAnswer]
) -> None:
    uploader = harness.upload(session_factory=loses_first_answer)
    assert harness.posts() == [200, 409, 200]
    assert [r.outcome for r in uploader.results] == ["already-stored", "uploaded"]
    assert "an earlier attempt stored it" in harness.output
    assert harness.lookups == 1


def test_conflict_after_a_lost_answer_fails_if_the_feed_holds_other_content(
    harness: Harness, loses_first_answer: type[LosesFirstAnswer], tmp_path: Path
) -> None:
    # Someone else's file of the same name: the index lists it with another sha256.
    other = build_sdist(tmp_path / "other", PROJECT, "0.1.0", summary="Another build.")
    harness.emulator.feed.add_file(other)
    uploader = harness.uploader(session_factory=loses_first_answer, retries=1)
    with pytest.raises(VersionExistsError, match="HTTP 409"):
        uploader.upload(harness.emulator.feed.upload_url)
    assert harness.posts() == [409, 409]


def test_first_conflict_on_a_deleted_version_is_a_failure_even_with_skip_existing(
    harness: Harness,
) -> None:
    harness.emulator.feed.add_package(PROJECT, "0.1.0")
    harness.emulator.feed.delete_version(PROJECT, "0.1.0")
    with pytest.raises(VersionExistsError) as raised:
        harness.upload(skip_existing=True)
    message = str(raised.value)
    assert "was published before and deleted" in message
    assert IMMUTABLE in message
    assert harness.posts() == [409]


def test_conflict_on_a_file_that_appeared_since_the_check_is_skipped_with_skip_existing(
    harness: Harness,
) -> None:
    harness.emulator.feed.add_file(harness.dist.files[0].path)
    uploader = harness.upload(skip_existing=True)
    assert [r.outcome for r in uploader.results] == ["skipped", "uploaded"]
    assert "Skipping sample_app-0.1.0.tar.gz: appeared on the feed since the check" in (
        harness.output
    )


def test_conflict_without_skip_existing_is_the_immutability_error(harness: Harness) -> None:
    harness.emulator.feed.add_file(harness.dist.files[0].path)
    with pytest.raises(VersionExistsError, match="HTTP 409: The feed 'team-feed' already contains"):
        harness.upload()


# --- name checks ---------------------------------------------------------------------------


@pytest.mark.public_index(["taken-name"])
def test_name_checks_pass_for_a_free_name(public_index: PublicIndexServer) -> None:
    result = check_project_name(PROJECT, prefix=None, index_url=public_index.url)
    assert (result.problems, result.unchecked) == ((), ())


@pytest.mark.public_index(["taken-name"])
def test_name_on_the_public_index_is_a_problem(public_index: PublicIndexServer) -> None:
    result = check_project_name("Taken_Name", prefix=None, index_url=public_index.url)
    [problem] = result.problems
    assert "taken-name exists on 127.0.0.1" in problem


@pytest.mark.public_index(["taken-name"])
def test_prefix_and_stdlib_are_checked(public_index: PublicIndexServer) -> None:
    result = check_project_name("asyncio", prefix="acme-", index_url=public_index.url)
    assert len(result.problems) == 2
    assert any("prefix acme-" in p for p in result.problems)
    assert any("standard-library" in p for p in result.problems)


def test_unreachable_public_index_is_only_unchecked() -> None:
    result = check_project_name(PROJECT, prefix=None, index_url=closed_port_url())
    assert result.problems == ()
    [reason] = result.unchecked
    assert "could not check 127.0.0.1" in reason


# --- Azure's upload rules, before the first byte ---------------------------------------------


def rules_case(tmp_path: Path, version: str = "0.1.0", **fields: Any) -> DistSelection:
    path = build_wheel(tmp_path, PROJECT, version)
    metadata = cast(
        "RawMetadata",
        {"metadata_version": "2.4", "name": PROJECT, "version": version, **fields},
    )
    return DistSelection((DistFile(path, PROJECT, version, metadata),))


@pytest.mark.parametrize(
    ("version", "fields", "expected"),
    [
        ("0.1.0+abc", {}, r"local version segment \(\+abc\).*poetry version 0\.1\.0"),
        ("0.1.0", {"requires_dist": ["tool @ https://x.test/t.whl"]}, "direct URL reference"),
        ("0.1.0", {"project_urls": {"A" * 33: "https://x.test"}}, "at most 32"),
        ("0.1.0", {"summary": "x" * 512}, "is 512 characters"),
        ("0.1.0", {"summary": "two\nlines"}, "spans several lines"),
    ],
)
def test_each_azure_rule_stops_before_the_upload(
    tmp_path: Path, version: str, fields: dict[str, Any], expected: str
) -> None:
    selection = rules_case(tmp_path, version, **fields)
    with pytest.raises(DistFileError, match=expected) as raised:
        check_azure_rules(selection, FeedProject("u"))
    assert "\n" not in str(raised.value)


def test_files_within_the_rules_pass(tmp_path: Path) -> None:
    selection = rules_case(
        tmp_path,
        requires_dist=["requests>=2"],
        project_urls={"Homepage": "https://x.test"},
        summary="x" * 511,
    )
    check_azure_rules(selection, FeedProject("u"))


def test_a_file_over_500_mb_is_refused_unread(tmp_path: Path) -> None:
    selection = rules_case(tmp_path)
    with selection.files[0].path.open("r+b") as stream:
        stream.truncate(524_288_001)  # sparse: nothing is written
    with pytest.raises(DistFileError, match=r"524,288,001 bytes.*at most 524,288,000"):
        check_azure_rules(selection, FeedProject("u"))


def test_a_second_sdist_for_a_version_is_refused(dist: DistSelection) -> None:
    on_feed = FeedProject("u", (FeedFile("sample_app-0.1.0.zip"),), feed="team-feed")
    with pytest.raises(DistFileError, match="one sdist per version, and feed team-feed"):
        check_azure_rules(dist, on_feed)
    # the same sdist already there is the existing-file case, not this rule
    check_azure_rules(dist, FeedProject("u", (FeedFile("sample_app-0.1.0.tar.gz"),)))


# --- Metadata-Version for Azure DevOps Server ------------------------------------------------


def test_poetry_core_2_metadata_is_declared_as_2_1() -> None:
    form = {
        "metadata_version": "2.4",
        "name": "sample-app",
        "license_expression": "MIT",
        "license_file": ["LICENSE"],
        "dynamic": ["Requires-Dist"],
        "summary": "s",
    }
    downgraded, notes = downgrade_fields(form)
    assert downgraded == {
        "metadata_version": "2.1",
        "name": "sample-app",
        "license": "MIT",
        "summary": "s",
    }
    assert notes == (
        "License-Expression sent as License",
        "License-File left out (the license files stay in the archive)",
        "Dynamic left out (it only tells an index what a wheel may change)",
    )
    assert form["metadata_version"] == "2.4"  # the caller's fields are not changed


def test_metadata_2_1_or_older_is_left_alone(tmp_path: Path) -> None:
    assert downgrade_fields({"metadata_version": "2.1", "dynamic": ["x"]})[1] == ()
    selection = rules_case(tmp_path, metadata_version="2.1")
    assert plan_metadata_compat(selection) is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"metadata_version": "3.0"}, "Metadata-Version 3.0"),
        (
            {"metadata_version": "2.4", "license": "BSD", "license_expression": "MIT"},
            "both License",
        ),
    ],
)
def test_metadata_that_2_1_cannot_state_stops(fields: dict[str, Any], expected: str) -> None:
    with pytest.raises(DistFileError, match=expected):
        downgrade_fields(fields)


def test_the_plan_says_what_changes(tmp_path: Path) -> None:
    compat = plan_metadata_compat(rules_case(tmp_path, license_expression="MIT"))
    assert compat is not None
    assert compat.describe() == (
        "Declaring Metadata-Version 2.1 in the upload (the files say 2.4; Azure DevOps Server "
        "takes 2.1 at most): License-Expression sent as License. The files themselves are "
        "uploaded unchanged."
    )


# --- upstream copies ---------------------------------------------------------------------------


def test_upstream_copies_are_not_ours(dist: DistSelection) -> None:
    [wheel] = [f for f in dist.files if not f.is_sdist]
    listed = FeedProject("u", files=(), upstream=(FeedFile(wheel.filename, wheel.sha256),))
    assert listed.find(wheel.filename) is None
    with pytest.raises(VersionExistsError, match="lists from its upstream source"):
        plan_uploads(dist, listed, skip_existing=True, source=source_of(HOSTED))


def test_read_feed_project_sets_public_files_apart(
    ado_emulator: AdoEmulator, session: requests.Session
) -> None:
    ours = ado_emulator.feed.add_package(PROJECT, "0.2.0")
    theirs = ado_emulator.feed.add_package(PROJECT, "0.1.0")
    public = frozenset({hashlib.sha256(theirs.read_bytes()).hexdigest()})
    project = read_feed_project(session, feed_source(ado_emulator), PROJECT, public_sha256=public)
    assert [f.filename for f in project.files] == [ours.name]
    assert [f.filename for f in project.upstream] == [theirs.name]
