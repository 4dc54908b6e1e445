"""One parser for the numbers read from environment variables, and its users."""

from __future__ import annotations

import pytest

from poetry_ado_plugin.environment import env_number
from poetry_ado_plugin.errors import UsageError


BAD = ["inf", "-inf", "nan", "abc", "-1", "1e400", "", " 3 "]


@pytest.mark.parametrize("raw", BAD)
def test_a_bad_value_is_one_usage_error_naming_the_variable(raw: str) -> None:
    environ = {"X_SECONDS": raw}
    if raw.strip() in ("", "3"):
        assert env_number("X_SECONDS", 5, maximum=10, environ=environ) == (5 if not raw else 3)
        return
    with pytest.raises(UsageError) as raised:
        env_number("X_SECONDS", 5, maximum=10, environ=environ)
    message = str(raised.value)
    assert message.startswith("X_SECONDS must be a number of seconds from 0 to 10, not ")
    assert "\n" not in message


def test_whole_numbers_and_exclusive_minimums() -> None:
    assert env_number("N", 3, maximum=10, integer=True, environ={"N": "7"}) == 7
    with pytest.raises(UsageError, match=r"N must be a whole number from 0 to 10, not '1\.5'"):
        env_number("N", 3, maximum=10, integer=True, environ={"N": "1.5"})
    with pytest.raises(UsageError, match="greater than 0 and at most 10"):
        env_number("T", 3, maximum=10, exclusive_minimum=True, environ={"T": "0"})


@pytest.mark.parametrize(
    ("variable", "read"),
    [
        ("POETRY_ADO_KEYRING_TIMEOUT", "poetry_ado_plugin.credential_store:keyring_timeout"),
        (
            "POETRY_ADO_PUBLISH_BACKOFF",
            "poetry_ado_plugin.publishing.uploader:RetryPolicy.from_environment",
        ),
        (
            "POETRY_ADO_PUBLISH_RETRIES",
            "poetry_ado_plugin.publishing.uploader:RetryPolicy.from_environment",
        ),
        ("POETRY_REQUESTS_TIMEOUT", "poetry_ado_plugin.http:deadlines"),
        ("POETRY_ADO_REQUEST_DEADLINE", "poetry_ado_plugin.http:deadlines"),
        ("POETRY_ADO_RETRY_AFTER_MAX", "poetry_ado_plugin.http:reset_retry_after_budget"),
    ],
)
@pytest.mark.parametrize("raw", ["inf", "nan", "abc", "-1"])
def test_every_numeric_variable_uses_the_one_policy(
    monkeypatch: pytest.MonkeyPatch, variable: str, read: str, raw: str
) -> None:
    import importlib

    module_name, _, attribute = read.partition(":")
    target: object = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    monkeypatch.setenv(variable, raw)

    with pytest.raises(UsageError, match=f"^{variable} must be"):
        assert callable(target)
        target()
