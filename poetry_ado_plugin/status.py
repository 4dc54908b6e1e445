"""Where things stand, without a request: ``poetry ado`` (``poetry ado status``).

For each Azure source of the project (outside a project: each configured repository whose URL
is an Azure feed), its priority, URLs, publish repository and credential, and the Azure CLI
token-refresh state. Reads pyproject.toml, Poetry's config and auth.toml and the expiry
records; never the keyring (it may hang or prompt) and never the network."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any

from poetry_ado_plugin.sources import AzureSource
from poetry_ado_plugin.sources import azure_sources


if TYPE_CHECKING:
    from pathlib import Path

    from poetry.config.config import Config

    from poetry_ado_plugin.azure_cli import ExpiryRecord
    from poetry_ado_plugin.credential_store import CredentialPlace


SCHEMA = 1

# the publish repository of a source
REPOSITORY_SET = "set"  # repositories.NAME.url is the feed's upload URL
REPOSITORY_MISSING = "missing"  # set nowhere: poetry publish -r NAME gets the upload URL anyway
REPOSITORY_ELSEWHERE = "elsewhere"  # set to another URL: poetry publish -r NAME posts there


@dataclass(frozen=True)
class SourceStatus:
    source: AzureSource
    from_project: bool
    """False for a repository found only in Poetry's config (outside a project)."""
    repository: str
    repository_url: str | None
    repository_where: str | None
    credential: CredentialPlace
    refresh: ExpiryRecord | None


@dataclass(frozen=True)
class Status:
    pyproject: Path | None
    sources: tuple[SourceStatus, ...]


def gather(pyproject: Path | None, config: Config) -> Status:
    from poetry_ado_plugin.azure_cli import load_records
    from poetry_ado_plugin.credential_store import locate_credential
    from poetry_ado_plugin.poetry_config import find_repository_setting

    project_dir = pyproject.parent if pyproject is not None else None
    if pyproject is not None:
        from poetry_ado_plugin.pyproject import PyprojectDocument

        entries: list[Any] = list(PyprojectDocument.read(pyproject).sources())
    else:
        repositories = config.get("repositories") or {}
        entries = [
            {"name": name, "url": value.get("url"), "priority": None}
            for name, value in sorted(repositories.items())
            if isinstance(value, dict)
        ]
    records = load_records()
    found = []
    for source in azure_sources(entries):
        setting = find_repository_setting(source.name, project_dir)
        if setting is None:
            state, url, where = REPOSITORY_MISSING, None, None
        else:
            same = setting.url.rstrip("/") == source.feed.upload_url.rstrip("/")
            state = REPOSITORY_SET if same else REPOSITORY_ELSEWHERE
            url, where = setting.url, setting.where
        found.append(
            SourceStatus(
                source=source,
                from_project=pyproject is not None,
                repository=state,
                repository_url=url,
                repository_where=where,
                credential=locate_credential(source.name, config),
                refresh=records.get(source.name),
            )
        )
    return Status(pyproject, tuple(found))


def to_dict(status: Status, commands: list[tuple[str, str]]) -> dict[str, Any]:
    """The JSON report, ``schema`` 1 (documented in the README)."""
    from poetry_ado_plugin.http import redact_credentials

    return {
        "schema": SCHEMA,
        "pyproject": str(status.pyproject) if status.pyproject is not None else None,
        "sources": [
            {
                "name": s.source.name,
                "priority": s.source.priority if s.from_project else None,
                "index_url": redact_credentials(s.source.url),
                "upload_url": s.source.feed.upload_url,
                "repository": {
                    "state": s.repository,
                    "url": redact_credentials(s.repository_url) if s.repository_url else None,
                    "where": s.repository_where,
                },
                "credential": {
                    "where": s.credential.where,
                    "username": s.credential.username,
                    "expires_on": s.credential.expires_on,
                },
                "refresh": None
                if s.refresh is None
                else {
                    "expires_on": s.refresh.expires_on,
                    "failed_at": s.refresh.refresh_failed_at,
                    "failure": s.refresh.refresh_failure,
                },
            }
            for s in status.sources
        ],
        "commands": [{"name": name, "description": text} for name, text in commands],
    }
