"""Messages of the commands mask a URL's password whatever it holds, and never print a known
token: the add-feed diff, its update message and its conflict error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.inprocess import in_process_poetry
from tests.poetry_env import Source


if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from tests.poetry_env import ProjectFactory


SECRET = "p@ss@CANARY9d2"
OLD = f"https://build:{SECRET}@pkgs.dev.azure.com/contoso/_packaging/old-feed/pypi/simple/"
NEW = "https://pkgs.dev.azure.com/contoso/_packaging/new-feed/pypi/simple/"


def test_the_diff_and_the_update_mask_a_password_holding_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, project_factory: ProjectFactory
) -> None:
    project = project_factory(sources=[Source("team-feed", OLD)])
    run = in_process_poetry(tmp_path, monkeypatch, project)

    dry = run("ado", "add-feed", NEW, "--name", "team-feed", "--dry-run", "--no-repository")
    done = run("ado", "add-feed", NEW, "--name", "team-feed", "--no-repository")

    for outcome in (dry, done):
        assert outcome.exit_code == 0, outcome.output
        assert "CANARY" not in outcome.output
        assert "ss@" not in outcome.output
    assert "https://***@pkgs.dev.azure.com/contoso/_packaging/old-feed" in dry.output
    assert "url: https://***@pkgs.dev.azure.com/contoso/_packaging/old-feed" in done.output


def test_the_conflict_error_masks_a_password_holding_at(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, project_factory: ProjectFactory
) -> None:
    project = project_factory()
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        f'[repositories.team-feed]\nurl = "{OLD.replace("/simple/", "/upload/")}"\n'
    )
    run = in_process_poetry(tmp_path, monkeypatch, project)

    outcome = run("ado", "add-feed", NEW, "--name", "team-feed")

    assert outcome.exit_code == 1, outcome.output
    assert "already points at another feed (https://***@pkgs.dev.azure.com/" in outcome.stderr
    assert "CANARY" not in outcome.output
    assert "ss@" not in outcome.output
