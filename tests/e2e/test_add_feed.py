"""``poetry ado add-feed`` through the real ``poetry`` executable."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.poetry_env import write_project


if TYPE_CHECKING:
    from pathlib import Path

    from tests.poetry_env import PoetryEnv


pytestmark = pytest.mark.e2e

FEED_URL = "https://pkgs.dev.azure.com/contoso/Fabrikam%20Web/_packaging/Team_Feed.Py/pypi/simple/"
INDEX_URL = FEED_URL
UPLOAD_URL = (
    "https://pkgs.dev.azure.com/contoso/Fabrikam%20Web/_packaging/Team_Feed.Py/pypi/upload/"
)
NEW_SOURCE = (
    "\n[[tool.poetry.source]]\n"
    'name = "team-feed-py"\n'
    f'url = "{INDEX_URL}"\n'
    'priority = "supplemental"\n'
)


def repository_url(poetry_env: PoetryEnv, cwd: Path, name: str) -> str:
    result = poetry_env.run("config", f"repositories.{name}.url", cwd=cwd)
    assert result.exit_code == 0, result
    return result.stdout.strip()


def test_adds_source_and_publish_repository(poetry_env: PoetryEnv, project_dir: Path) -> None:
    pyproject = write_project(project_dir)
    before = pyproject.read_bytes()

    result = poetry_env.run("ado", "add-feed", FEED_URL, cwd=project_dir)

    assert result.exit_code == 0, result
    assert pyproject.read_bytes() == before + NEW_SOURCE.encode()
    assert "Added source team-feed-py (priority supplemental)" in result.stdout
    assert repository_url(poetry_env, project_dir, "team-feed-py") == UPLOAD_URL
    check = poetry_env.run("check", cwd=project_dir)
    assert check.exit_code == 0, check
    show = poetry_env.run("source", "show", cwd=project_dir)
    assert show.exit_code == 0, show
    assert "team-feed-py" in show.stdout
    assert INDEX_URL in show.stdout
    assert "supplemental" in show.stdout


@pytest.mark.parametrize(
    ("args", "name", "index_url", "upload_url"),
    [
        (
            ["--org", "contoso", "--ado-project", "Fabrikam Web", "--feed", "team-feed"],
            "team-feed",
            "https://pkgs.dev.azure.com/contoso/Fabrikam%20Web/_packaging/team-feed/pypi/simple/",
            "https://pkgs.dev.azure.com/contoso/Fabrikam%20Web/_packaging/team-feed/pypi/upload/",
        ),
        (
            ["--org", "contoso", "--feed", "shared"],
            "shared",
            "https://pkgs.dev.azure.com/contoso/_packaging/shared/pypi/simple/",
            "https://pkgs.dev.azure.com/contoso/_packaging/shared/pypi/upload/",
        ),
        (
            [
                "--server-url",
                "https://tfs.example.com/tfs/DefaultCollection",
                "--ado-project",
                "Web",
                "--feed",
                "onprem@Release",
                "--name",
                "onprem-release",
            ],
            "onprem-release",
            "https://tfs.example.com/tfs/DefaultCollection/Web/_packaging/onprem@Release/pypi/simple/",
            "https://tfs.example.com/tfs/DefaultCollection/Web/_packaging/onprem/pypi/upload/",
        ),
    ],
    ids=["project-scoped", "organization-scoped", "server-view"],
)
def test_feed_from_parts(
    poetry_env: PoetryEnv,
    project_dir: Path,
    args: list[str],
    name: str,
    index_url: str,
    upload_url: str,
) -> None:
    pyproject = write_project(project_dir)

    result = poetry_env.run("ado", "add-feed", *args, "--priority", "explicit", cwd=project_dir)

    assert result.exit_code == 0, result
    text = pyproject.read_text()
    assert f'name = "{name}"\nurl = "{index_url}"\npriority = "explicit"\n' in text
    assert repository_url(poetry_env, project_dir, name) == upload_url


def test_running_again_changes_nothing(poetry_env: PoetryEnv, project_dir: Path) -> None:
    pyproject = write_project(project_dir)
    assert poetry_env.run("ado", "add-feed", FEED_URL, cwd=project_dir).exit_code == 0
    after_first = pyproject.read_bytes()
    config_after_first = poetry_env.config_file.read_bytes()

    # Mixed case, the upload URL and no trailing slash all name the same feed.
    again = poetry_env.run(
        "ado", "add-feed", UPLOAD_URL.upper()[:8] + UPLOAD_URL[8:-1], cwd=project_dir
    )

    assert again.exit_code == 0, again
    assert "already configured" in again.stdout
    assert pyproject.read_bytes() == after_first
    assert poetry_env.config_file.read_bytes() == config_after_first


def test_rerun_keeps_an_explicit_priority(poetry_env: PoetryEnv, project_dir: Path) -> None:
    pyproject = write_project(project_dir)
    first = poetry_env.run("ado", "add-feed", FEED_URL, "--priority", "explicit", cwd=project_dir)
    assert first.exit_code == 0, first

    again = poetry_env.run("ado", "add-feed", FEED_URL, cwd=project_dir)

    assert again.exit_code == 0, again
    assert pyproject.read_text().count('priority = "explicit"') == 1


def test_same_name_new_url_updates_in_place(poetry_env: PoetryEnv, project_dir: Path) -> None:
    pyproject = write_project(
        project_dir,
        extra=(
            "\n[[tool.poetry.source]]\n"
            "# the team's feed\n"
            'name = "team-feed"\n'
            'url = "https://pkgs.dev.azure.com/contoso/Old/_packaging/team-feed/pypi/simple/"\n'
            'priority = "explicit"  # keep it pinned\n'
        ),
    )
    before = pyproject.read_text()

    result = poetry_env.run(
        "ado", "add-feed", "--org", "contoso", "--ado-project", "New", "--feed", "team-feed",
        cwd=project_dir,
    )  # fmt: skip

    assert result.exit_code == 0, result
    assert pyproject.read_text() == before.replace("/Old/", "/New/")
    assert "Updated source team-feed" in result.stdout
    assert "/Old/_packaging" in result.stdout
    assert "/New/_packaging" in result.stdout


def test_another_name_for_the_same_feed_is_refused(
    poetry_env: PoetryEnv, project_dir: Path
) -> None:
    pyproject = write_project(
        project_dir,
        extra=(
            f'\n[[tool.poetry.source]]\nname = "mine"\nurl = "{INDEX_URL}"\npriority = "explicit"\n'
        ),
    )
    before = pyproject.read_bytes()

    result = poetry_env.run("ado", "add-feed", FEED_URL, cwd=project_dir)

    assert result.exit_code == 1, result
    assert "'mine'" in result.stderr
    assert "Traceback" not in result.output
    assert pyproject.read_bytes() == before
    assert not poetry_env.config_file.exists()


def test_legacy_sources_are_migrated_so_poetry_check_passes(
    poetry_env: PoetryEnv, project_dir: Path
) -> None:
    pyproject = write_project(
        project_dir,
        extra=(
            "\n[[tool.poetry.source]]\n"
            'name = "old-mirror"\n'
            'url = "https://mirror.example.com/simple/"\n'
            "secondary = true\n"
        ),
    )
    assert poetry_env.run("check", cwd=project_dir).exit_code != 0

    result = poetry_env.run("ado", "add-feed", FEED_URL, cwd=project_dir)

    assert result.exit_code == 0, result
    assert "old-mirror" in result.stdout
    assert "secondary" in result.stdout
    text = pyproject.read_text()
    assert "secondary" not in text
    assert 'url = "https://mirror.example.com/simple/"\npriority = "supplemental"\n' in text
    check = poetry_env.run("check", cwd=project_dir)
    assert check.exit_code == 0, check


def test_crlf_file_stays_crlf(poetry_env: PoetryEnv, project_dir: Path) -> None:
    pyproject = write_project(project_dir)
    crlf = pyproject.read_bytes().replace(b"\n", b"\r\n")
    pyproject.write_bytes(crlf)

    result = poetry_env.run("ado", "add-feed", FEED_URL, cwd=project_dir)

    assert result.exit_code == 0, result
    assert pyproject.read_bytes() == crlf + NEW_SOURCE.replace("\n", "\r\n").encode()


def test_dry_run_prints_a_diff_and_writes_nothing(poetry_env: PoetryEnv, project_dir: Path) -> None:
    pyproject = write_project(project_dir)
    before = pyproject.read_bytes()

    result = poetry_env.run("ado", "add-feed", FEED_URL, "--dry-run", cwd=project_dir)

    assert result.exit_code == 0, result
    assert pyproject.read_bytes() == before
    assert not poetry_env.config_file.exists()
    # A unified diff, a line per line: what `patch` and a reviewer read.
    lines = result.stdout.splitlines()
    assert "+++ b/pyproject.toml" in lines
    assert '+name = "team-feed-py"' in lines
    assert "+++ b/config.toml" in lines
    assert f'+url = "{UPLOAD_URL}"' in lines
    assert "nothing was written" in result.stdout


def test_no_repository_leaves_poetry_config_alone(poetry_env: PoetryEnv, project_dir: Path) -> None:
    write_project(project_dir)

    result = poetry_env.run("ado", "add-feed", FEED_URL, "--no-repository", cwd=project_dir)

    assert result.exit_code == 0, result
    assert not poetry_env.config_file.exists()


def test_embedded_credentials_are_never_written_or_printed(
    poetry_env: PoetryEnv, project_dir: Path
) -> None:
    canary = "CANARYaddfeed7d1c0ffee"
    pyproject = write_project(project_dir)
    url = FEED_URL.replace("https://", f"https://build:{canary}@")

    result = poetry_env.run("-vvv", "ado", "add-feed", url, cwd=project_dir)

    assert result.exit_code == 0, result
    assert "poetry ado login team-feed-py" in result.stdout
    assert canary not in result.output
    assert canary not in pyproject.read_text()
    assert canary not in poetry_env.config_file.read_text()
    assert pyproject.read_bytes().endswith(NEW_SOURCE.encode())


def test_project_option_points_at_another_directory(
    poetry_env: PoetryEnv, project_dir: Path, tmp_path: Path
) -> None:
    pyproject = write_project(project_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    result = poetry_env.run("-P", str(project_dir), "ado", "add-feed", FEED_URL, cwd=elsewhere)

    assert result.exit_code == 0, result
    assert pyproject.read_bytes().endswith(NEW_SOURCE.encode())
    assert not (elsewhere / "pyproject.toml").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["https://pypi.org/simple/"], "pypi.org"),
        (["https://pkgs.dev.azure.com/contoso/_packaging/web/npm/registry/"], "npm"),
        (["not a url at all"], "URL"),
        ([FEED_URL, "--name", "Team.Feed"], "Team.Feed"),
        ([FEED_URL, "--priority", "secondary"], "secondary"),
        (["--org=-bad-", "--feed", "x"], "organization"),
        (["--org", "contoso"], "--feed"),
        ([FEED_URL, "--org", "contoso"], "--org"),
    ],
    ids=["pypi", "npm", "garbage", "bad-name", "bad-priority", "bad-org", "no-feed", "both"],
)
def test_bad_input_gets_one_line_and_changes_nothing(
    poetry_env: PoetryEnv, project_dir: Path, args: list[str], expected: str
) -> None:
    pyproject = write_project(project_dir)
    before = pyproject.read_bytes()

    result = poetry_env.run("ado", "add-feed", *args, cwd=project_dir)

    assert result.exit_code == 1, result
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result
    assert "Traceback" not in result.output
    assert pyproject.read_bytes() == before
    assert not poetry_env.config_file.exists()


def test_missing_pyproject(poetry_env: PoetryEnv, project_dir: Path) -> None:
    result = poetry_env.run("ado", "add-feed", FEED_URL, cwd=project_dir)

    assert result.exit_code == 1, result
    assert "no pyproject.toml" in result.stderr
    assert "Traceback" not in result.output
    assert not poetry_env.config_file.exists()


def test_invalid_toml(poetry_env: PoetryEnv, project_dir: Path) -> None:
    pyproject = project_dir / "pyproject.toml"
    pyproject.write_text('[project]\nname = "broken\n')
    before = pyproject.read_bytes()

    result = poetry_env.run("ado", "add-feed", FEED_URL, cwd=project_dir)

    assert result.exit_code == 1, result
    assert "pyproject.toml" in result.stderr
    assert "Traceback" not in result.output
    assert pyproject.read_bytes() == before
    assert not poetry_env.config_file.exists()


def test_poetry_keeps_working_outside_a_project(poetry_env: PoetryEnv, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()

    version = poetry_env.run("--version", cwd=empty)
    listing = poetry_env.run("list", cwd=empty)
    config = poetry_env.run("config", "--list", cwd=empty)

    assert version.exit_code == 0, version
    assert "Poetry (version 2." in version.stdout
    assert config.exit_code == 0, config
    assert listing.exit_code == 0, listing
    assert " ado add-feed" in listing.stdout
    assert "Add an Azure Artifacts feed" in listing.stdout


def test_help_explains_priorities(poetry_env: PoetryEnv, tmp_path: Path) -> None:
    result = poetry_env.run("ado", "add-feed", "--help", cwd=tmp_path)

    assert result.exit_code == 0, result
    assert "--ado-project" in result.stdout
    assert "explicit is the safer choice" in " ".join(result.stdout.split())


def test_a_feed_named_pypi_needs_another_source_name(
    poetry_env: PoetryEnv, project_dir: Path
) -> None:
    pyproject = write_project(project_dir)
    before = pyproject.read_bytes()
    url = "https://pkgs.dev.azure.com/contoso/_packaging/PyPI/pypi/simple/"

    refused = poetry_env.run("ado", "add-feed", url, cwd=project_dir)
    renamed = poetry_env.run("ado", "add-feed", url, "--name", "pypi-mirror", cwd=project_dir)

    assert refused.exit_code == 1, refused
    assert "'pypi' is reserved" in refused.stderr
    assert renamed.exit_code == 0, renamed
    assert pyproject.read_bytes() != before
    assert poetry_env.run("check", cwd=project_dir).exit_code == 0


@pytest.mark.parametrize(
    ("priority_lines", "kept"),
    [("", ""), ("default = true\n", 'priority = "primary"\n')],
    ids=["no-priority-key", "legacy-default"],
)
def test_rerun_never_turns_a_primary_source_supplemental(
    poetry_env: PoetryEnv, project_dir: Path, priority_lines: str, kept: str
) -> None:
    source = f'\n[[tool.poetry.source]]\nname = "team-feed-py"\nurl = "{INDEX_URL}"\n'
    pyproject = write_project(project_dir, extra=source + priority_lines)

    result = poetry_env.run("ado", "add-feed", FEED_URL, cwd=project_dir)

    assert result.exit_code == 0, result
    assert pyproject.read_text().endswith(source + kept)
    assert "supplemental" not in pyproject.read_text()


def test_a_repository_of_another_feed_is_not_taken_over(
    poetry_env: PoetryEnv, tmp_path: Path
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    for directory in (first, second):
        directory.mkdir()
        write_project(directory)
    contoso = "https://pkgs.dev.azure.com/contoso/_packaging/packages/pypi/simple/"
    fabrikam = "https://pkgs.dev.azure.com/fabrikam/_packaging/packages/pypi/simple/"
    assert poetry_env.run("ado", "add-feed", contoso, cwd=first).exit_code == 0
    second_before = (second / "pyproject.toml").read_bytes()

    refused = poetry_env.run("ado", "add-feed", fabrikam, cwd=second)
    second_after_refusal = (second / "pyproject.toml").read_bytes()
    renamed = poetry_env.run("ado", "add-feed", fabrikam, "--name", "fabrikam", cwd=second)

    assert refused.exit_code == 1, refused
    assert "--name" in refused.stderr
    assert second_after_refusal == second_before
    assert renamed.exit_code == 0, renamed
    assert repository_url(poetry_env, first, "packages") == contoso.replace("simple", "upload")
    assert repository_url(poetry_env, second, "fabrikam") == fabrikam.replace("simple", "upload")


def test_the_repository_keeps_the_source_names_spelling(
    poetry_env: PoetryEnv, project_dir: Path
) -> None:
    write_project(
        project_dir,
        extra=f'\n[[tool.poetry.source]]\nname = "Team-Feed-Py"\nurl = "{INDEX_URL}"\n',
    )

    result = poetry_env.run("ado", "add-feed", FEED_URL, cwd=project_dir)

    assert result.exit_code == 0, result
    assert repository_url(poetry_env, project_dir, "Team-Feed-Py") == UPLOAD_URL


@pytest.mark.parametrize(
    "same_feed",
    [
        "https://contoso.pkgs.visualstudio.com/Fabrikam%20Web/_packaging/team_feed.py/pypi/simple/",
        FEED_URL.replace("Team_Feed.Py", "Team_Feed.Py@Release"),
    ],
    ids=["legacy-host", "view"],
)
def test_the_same_feed_under_another_name_is_refused(
    poetry_env: PoetryEnv, project_dir: Path, same_feed: str
) -> None:
    pyproject = write_project(project_dir)
    assert poetry_env.run("ado", "add-feed", FEED_URL, cwd=project_dir).exit_code == 0
    before = pyproject.read_bytes()

    result = poetry_env.run("ado", "add-feed", same_feed, "--name", "other", cwd=project_dir)

    assert result.exit_code == 1, result
    assert "'team-feed-py' already points at this feed" in result.stderr
    assert pyproject.read_bytes() == before


def test_another_spelling_of_the_same_feed_changes_nothing(
    poetry_env: PoetryEnv, project_dir: Path
) -> None:
    pyproject = write_project(project_dir)
    assert poetry_env.run("ado", "add-feed", FEED_URL, cwd=project_dir).exit_code == 0
    before = pyproject.read_bytes()

    result = poetry_env.run(
        "ado", "add-feed", FEED_URL.replace("Team_Feed.Py", "TEAM_FEED.PY"), cwd=project_dir
    )

    assert result.exit_code == 0, result
    assert "already configured" in result.stdout
    assert pyproject.read_bytes() == before


def test_a_broken_poetry_config_is_one_line_and_changes_nothing(
    poetry_env: PoetryEnv, project_dir: Path
) -> None:
    pyproject = write_project(project_dir)
    before = pyproject.read_bytes()
    poetry_env.config_file.write_text('[repositories]\nteam-feed-py = "not a table"\n')

    result = poetry_env.run("-v", "ado", "add-feed", FEED_URL, cwd=project_dir)

    assert result.exit_code == 1, result
    assert "config.toml cannot be used" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result
    assert pyproject.read_bytes() == before


@pytest.mark.parametrize("userinfo", ["TOKEN@", "build:TOKEN@"])
def test_any_userinfo_in_the_url_points_to_login(
    poetry_env: PoetryEnv, project_dir: Path, userinfo: str
) -> None:
    write_project(project_dir)

    result = poetry_env.run(
        "ado", "add-feed", FEED_URL.replace("https://", f"https://{userinfo}"), cwd=project_dir
    )

    assert result.exit_code == 0, result
    assert "poetry ado login team-feed-py" in result.stdout
    assert "TOKEN" not in result.output


def test_an_empty_name_is_refused(poetry_env: PoetryEnv, project_dir: Path) -> None:
    write_project(project_dir)

    result = poetry_env.run("ado", "add-feed", FEED_URL, "--name=", cwd=project_dir)

    assert result.exit_code == 1, result
    assert not poetry_env.config_file.exists()
