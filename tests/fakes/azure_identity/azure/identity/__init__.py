"""A fake ``azure.identity`` at the library's seam, for a poetry subprocess with
``tests/fakes/azure_identity`` on ``PYTHONPATH`` (``identity_env``): Entra ID cannot be reached
from the tests.

``DefaultAzureCredential(**options).get_token(scope, tenant_id=...)`` answers from the JSON file
named by ``FAKE_AZURE_IDENTITY_STATE``: ``{"token": ..., "expires_on": epoch}`` or
``{"fail": "message"}`` (raises ``CredentialUnavailableError`` with it). Each call's options,
scope and tenant (never a token) are appended to that file's name + ``.calls``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from typing import NamedTuple


class AccessToken(NamedTuple):
    token: str
    expires_on: int


class CredentialUnavailableError(Exception):
    pass


def _state() -> Path:
    return Path(os.environ["FAKE_AZURE_IDENTITY_STATE"])


class DefaultAzureCredential:
    def __init__(self, **options: Any) -> None:
        self.options = options

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        state = json.loads(_state().read_text(encoding="utf-8"))
        calls = _state().with_name(_state().name + ".calls")
        with calls.open("a", encoding="utf-8") as stream:
            record = {"options": self.options, "scopes": list(scopes), "kwargs": kwargs}
            stream.write(json.dumps(record) + "\n")
        if "fail" in state:
            raise CredentialUnavailableError(state["fail"])
        return AccessToken(state["token"], int(state["expires_on"]))


class DeviceCodeCredential:
    def __init__(self, **options: Any) -> None:
        self.options = options

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        raise CredentialUnavailableError("no device code in tests")


class ChainedTokenCredential:
    def __init__(self, *credentials: Any) -> None:
        self.credentials = credentials

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return self.credentials[0].get_token(*scopes, **kwargs)  # type: ignore[no-any-return]
