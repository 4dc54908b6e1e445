"""Messages of the commands mask a URL's password whatever it holds, and never print a known
token: the add-feed diff, its update message and its conflict error."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.poetry_env import Source


if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.poetry_env import Outcome
    from tests.poetry_env import ProjectFactory


SECRET = "p@ss@CANARY9d2"
OLD = f"https://build:{SECRET}@pkgs.dev.azure.com/contoso/_packaging/old-feed/pypi/simple/"
NEW = "https://pkgs.dev.azure.com/contoso/_packaging/new-feed/pypi/simple/"


def test_the_diff_and_the_update_mask_a_password_holding_at(
    ado_app: Callable[..., Outcome], project_factory: ProjectFactory
) -> None:
    project_factory(sources=[Source("team-feed", OLD)])

    dry = ado_app("ado", "add-feed", NEW, "--name", "team-feed", "--dry-run", "--no-repository")
    done = ado_app("ado", "add-feed", NEW, "--name", "team-feed", "--no-repository")

    for outcome in (dry, done):
        assert outcome.exit_code == 0, outcome.output
        assert "CANARY" not in outcome.output
        assert "ss@" not in outcome.output
    assert "https://***@pkgs.dev.azure.com/contoso/_packaging/old-feed" in dry.output
    assert "url: https://***@pkgs.dev.azure.com/contoso/_packaging/old-feed" in done.output


def test_the_conflict_error_masks_a_password_holding_at(
    tmp_path: Path, ado_app: Callable[..., Outcome], project_factory: ProjectFactory
) -> None:
    project_factory()
    (tmp_path / "config" / "config.toml").write_text(
        f'[repositories.team-feed]\nurl = "{OLD.replace("/simple/", "/upload/")}"\n'
    )

    outcome = ado_app("ado", "add-feed", NEW, "--name", "team-feed")

    assert outcome.exit_code == 1, outcome.output
    assert "already points at another feed (https://***@pkgs.dev.azure.com/" in outcome.stderr
    assert "CANARY" not in outcome.output
    assert "ss@" not in outcome.output
