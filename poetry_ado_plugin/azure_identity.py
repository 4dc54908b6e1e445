"""Entra ID tokens from Microsoft's ``azure-identity`` library (the optional extra
``poetry-ado-plugin[azure-identity]``), imported only when ``--azure-identity`` is chosen.

``DefaultAzureCredential`` tries, in its order: a service principal from ``AZURE_CLIENT_ID``,
``AZURE_TENANT_ID`` and ``AZURE_CLIENT_SECRET`` or ``AZURE_CLIENT_CERTIFICATE_PATH``; workload
identity federation (``AZURE_FEDERATED_TOKEN_FILE``, as GitHub's OIDC setups and AKS provide it);
a managed identity; the az and azd CLIs. A login in a terminal also allows the browser, then a
device code. The token is for Azure DevOps' resource and is exchanged for a session token
(``session_tokens``) before anything is stored. The library's messages are reduced to their
first line, with anything that looks like a token masked."""

from __future__ import annotations

import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from poetry_ado_plugin.errors import AzureIdentityError


INSTALL_COMMAND = "poetry self add 'poetry-ado-plugin[azure-identity]'"
SCOPE = "499b84ac-1321-427f-aa17-267ca6975798/.default"


@dataclass(frozen=True)
class IdentityToken:
    token: str = field(repr=False)
    expires_on: int
    tenant: str | None

    def __str__(self) -> str:
        return "<azure-identity access token>"


def _library() -> Any:
    import importlib

    try:
        library = importlib.import_module("azure.identity")
    except ImportError:
        raise AzureIdentityError(
            "--azure-identity needs the azure-identity extra in Poetry's own environment: run "
            f"`{INSTALL_COMMAND}`"
        ) from None
    return library


def get_token(tenant: str | None = None, *, interactive: bool = False) -> IdentityToken:
    """An Entra ID token for Azure DevOps through ``DefaultAzureCredential``."""
    library = _library()
    options: dict[str, Any] = {}
    if tenant:
        # The feed's tenant may differ from the one an identity is configured with.
        options["additionally_allowed_tenants"] = [tenant]
    if interactive:
        options["exclude_interactive_browser_credential"] = False
    try:
        credential: Any = library.DefaultAzureCredential(**options)
        if interactive and hasattr(library, "ChainedTokenCredential"):
            device_code = getattr(library, "DeviceCodeCredential", None)
            if device_code is not None:
                credential = library.ChainedTokenCredential(
                    credential, device_code(**({"tenant_id": tenant} if tenant else {}))
                )
        kwargs = {"tenant_id": tenant} if tenant else {}
        access: Any = credential.get_token(SCOPE, **kwargs)
    except Exception as error:
        raise AzureIdentityError(
            f"azure-identity found no usable Azure identity ({type(error).__name__}"
            f"{_first_line(str(error))}): set AZURE_CLIENT_ID and AZURE_TENANT_ID with "
            "AZURE_FEDERATED_TOKEN_FILE or AZURE_CLIENT_SECRET, run on a managed identity, or "
            "sign in with `az login`"
        ) from None
    token = getattr(access, "token", None)
    if not isinstance(token, str) or not token.strip():
        raise AzureIdentityError("azure-identity answered without a token: update azure-identity")
    expires_on = getattr(access, "expires_on", None)
    if not isinstance(expires_on, int) or isinstance(expires_on, bool):
        expires_on = int(time.time()) + 3000
    return IdentityToken(token.strip(), expires_on, tenant)


def _first_line(text: str) -> str:
    from poetry_ado_plugin.azure_cli import _TOKEN_LIKE
    from poetry_ado_plugin.redact import safe_text

    for line in text.splitlines():
        line = safe_text(_TOKEN_LIKE.sub("***", line)).strip()
        if line:
            return f": {line[:199]}…" if len(line) > 200 else f": {line}"
    return ""
