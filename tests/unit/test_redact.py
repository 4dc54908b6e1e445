from __future__ import annotations

import pytest

from poetry_ado_plugin import redact
from poetry_ado_plugin.http import redact_credentials


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("https://u:p@ss@host/x", "https://***@host/x"),
        ("https://***@TOKEN@host/x", "https://***@host/x"),
        (
            "was https://build:p@ss@word@pkgs.dev.azure.com/o/",
            "was https://***@pkgs.dev.azure.com/o/",
        ),
        ("https:/user:TOKEN@host/a", "https:/***@host/a"),
        ("user:TOKEN@host/path", "***@host/path"),
        ("url 'user:TOKEN@pkgs.example.com/simple/'", "url '***@pkgs.example.com/simple/'"),
        ("http://[::1]:8080/x and TOKEN@[::1]:8080/", "http://[::1]:8080/x and ***@[::1]:8080/"),
    ],
)
def test_userinfo_is_masked_whatever_the_password_holds(text: str, expected: str) -> None:
    assert redact.safe_text(text) == expected
    assert redact_credentials(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://pkgs.dev.azure.com/o/_packaging/team-feed@Local/pypi/simple/",
        "feed name 'team-feed@Local' has more than one '@'",
        "http://a.b/c@d",
        "no URL at all",
    ],
)
def test_views_and_paths_with_at_are_left_alone(text: str) -> None:
    assert redact.safe_text(text) == text


def test_a_registered_secret_is_masked_anywhere_also_percent_encoded() -> None:
    token = "s3cr3t/TOKEN+value"
    redact.register_secret(token)

    encoded = token.replace("/", "%2F").replace("+", "%2B")
    said = f"the feed said: bad token {token} (also {encoded})"

    assert token not in redact.safe_text(said)
    assert "%2F" not in redact.safe_text(said)
    assert redact.safe_text(said) == "the feed said: bad token *** (also ***)"


def test_short_strings_are_not_taken_for_secrets() -> None:
    redact.register_secret("ab")
    assert redact.safe_text("ab abc") == "ab abc"


def test_escape_sequences_and_control_characters_are_removed() -> None:
    text = "Bad \x1b[2K\x1b[1A\x1b]0;title\x07FAKE OK\x1b[0m \x9b2J\u202eevil\r\nnext\x00"

    cleaned = redact.safe_text(text)

    assert cleaned == "Bad FAKE OK evil  next"
    assert cleaned.isprintable()


def test_newlines_can_be_kept_for_multi_line_output() -> None:
    assert redact.safe_text("a\nb\x1b[31m", keep_newlines=True) == "a\nb"
