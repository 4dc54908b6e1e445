"""The one reader of feed answers: kinds, Azure's messages, and the wording per verb."""

from __future__ import annotations

import json

import pytest
import requests

from poetry_ado_plugin import answers
from poetry_ado_plugin.answers import AnswerContext
from poetry_ado_plugin.answers import explain
from poetry_ado_plugin.answers import read_answer


def response(
    status: int,
    body: str = "",
    *,
    content_type: str = "application/json",
    reason: str = "",
    location: str | None = None,
) -> requests.Response:
    made = requests.Response()
    made.status_code = status
    made._content = body.encode()
    made.headers["Content-Type"] = content_type
    if location is not None:
        made.headers["Location"] = location
    made.reason = reason
    made.url = "https://pkgs.dev.azure.com/contoso/_packaging/team-feed/pypi/simple/x/"
    return made


def azure_error(status: int, message: str, type_key: str = "X") -> requests.Response:
    body = json.dumps({"$id": "1", "message": message, "typeKey": type_key})
    return response(status, body)


@pytest.mark.parametrize(
    ("made", "kind"),
    [
        (response(200, "<html/>", content_type="text/html"), answers.OK),
        (response(401), answers.UNAUTHORIZED),
        (
            response(401, "Access Denied: The Personal Access Token used has expired."),
            answers.EXPIRED,
        ),
        (response(203, "<title>Sign In</title>", content_type="text/html"), answers.UNAUTHORIZED),
        (
            response(302, location="https://app.vssps.visualstudio.com/_signin?realm=x"),
            answers.UNAUTHORIZED,
        ),
        (response(301, location="https://pkgs.dev.azure.com/x/"), answers.REDIRECT),
        (response(403), answers.FORBIDDEN),
        (
            azure_error(404, "Cannot find the package 'x' in feed 'team-feed'"),
            answers.PACKAGE_NOT_FOUND,
        ),
        (azure_error(404, "The feed with ID 'nope' doesn't exist."), answers.FEED_NOT_FOUND),
        (
            azure_error(404, "The feed view with name 'Nope' doesn't exist."),
            answers.FEED_NOT_FOUND,
        ),
        (response(404, "Not Found", content_type="text/html"), answers.NOT_FOUND),
        (
            azure_error(
                409,
                "The feed 'f' already contains file 'a.whl' in package 'a 1.0'.",
                "PackageAlreadyExistsException",
            ),
            answers.CONFLICT,
        ),
        (
            azure_error(
                409,
                "The version 1.0 of a has been deleted. It cannot be restored or pushed.",
                "PackageExistsAsDeletedException",
            ),
            answers.DELETED,
        ),
        (
            azure_error(
                409,
                "'a 1.0' cannot be published to the feed because it exists in at least one of "
                "the feed's upstream sources.",
            ),
            answers.UPSTREAM,
        ),
        (
            azure_error(
                400,
                "Metadata version '2.4' is unsupported. Supported versions are: "
                "1.0,1.1,1.2,2.0,2.1.",
                "InvalidPackageException",
            ),
            answers.METADATA_VERSION,
        ),
        (
            azure_error(400, "File is too large to publish. The size limit is 524288000."),
            answers.TOO_LARGE,
        ),
        (response(429), answers.RATE_LIMITED),
        (response(503), answers.SERVER_ERROR),
    ],
)
def test_kinds(made: requests.Response, kind: str) -> None:
    assert read_answer(made).kind == kind


def test_the_message_comes_from_the_reason_phrase_when_the_body_has_none() -> None:
    made = response(
        404,
        content_type="text/plain",
        reason="Not Found - The feed with ID 'nope' doesn't exist. (DevOps Activity ID: "
        "6F9619FF-8B86-D011-B42D-00C04FC964FF)",
    )
    answer = read_answer(made)
    assert answer.server_message == "The feed with ID 'nope' doesn't exist."
    assert answer.kind == answers.FEED_NOT_FOUND


def test_an_html_body_is_never_the_message() -> None:
    page = "<html><head><title>Azure DevOps Services | Sign In</title></head><body>x</body>"
    answer = read_answer(response(203, page, content_type="text/html"))
    assert answer.server_message == "Azure DevOps Services | Sign In"


def test_the_type_key_is_kept() -> None:
    answer = read_answer(azure_error(409, "x", "PackageExistsAsDeletedException"))
    assert (answer.kind, answer.type_key) == (answers.DELETED, "PackageExistsAsDeletedException")


CONTEXT = AnswerContext(
    feed="team-feed",
    source="team-feed",
    url="https://pkgs.dev.azure.com/contoso/_packaging/team-feed/pypi/upload/",
    filename="demo-1.0.tar.gz",
)


def test_each_verb_words_an_expired_token_its_own_way() -> None:
    answer = read_answer(
        response(401, "Access Denied: The Personal Access Token used has expired.")
    )
    assert explain(answer, "verify", CONTEXT).startswith("the token has expired")
    assert explain(answer, "verify", CONTEXT).endswith("nothing was stored")
    assert "run poetry ado login team-feed" in explain(answer, "upload", CONTEXT)


def test_an_upstream_conflict_says_what_to_do() -> None:
    answer = read_answer(
        azure_error(
            409,
            "'demo 1.0' cannot be published to the feed because it exists in at least one of "
            "the feed's upstream sources.",
        )
    )
    line = explain(answer, "upload", CONTEXT)
    assert "upstream sources" in line
    assert "give the project a version" in line
    assert "\n" not in line


def test_a_view_upload_is_explained_as_read_only() -> None:
    answer = read_answer(
        azure_error(
            405,
            "Cannot perform the requested operation because the feed 'team-feed@Release' is "
            "read-only.",
            "ReadOnlyViewOperationException",
        )
    )
    context = AnswerContext(
        feed="team-feed",
        source="team-feed",
        url="https://pkgs.dev.azure.com/contoso/_packaging/team-feed@Release/pypi/upload/",
    )
    assert "views are read-only" in explain(answer, "upload", context)
