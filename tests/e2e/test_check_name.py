"""``poetry ado check-name`` through the real ``poetry`` executable, against a local index."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from typing import Any

import pytest

from tests.poetry_env import write_project
from tests.public_index_server import PublicIndexServer
from tests.public_index_server import closed_port_url


if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.poetry_env import PoetryEnv
    from tests.poetry_env import Result


KNOWN = ("requests", "Foo.Bar", "kpv-existing", "kpv-other", "f00bar")
FEED = "https://pkgs.dev.azure.com/contoso/Fabrikam/_packaging/kpv/pypi/simple/"
DAY = 86400

pytestmark = [pytest.mark.e2e, pytest.mark.public_index(KNOWN)]


def check(
    poetry_env: PoetryEnv, cwd: Path, index_url: str, *args: str, json_output: bool = True
) -> Result:
    extra = ("--format", "json") if json_output else ()
    return poetry_env.run("ado", "check-name", *args, "--index-url", index_url, *extra, cwd=cwd)


def report(result: Result) -> dict[str, Any]:
    document: dict[str, Any] = result.json()
    return document


def verdicts(document: dict[str, Any], name: str) -> dict[str, str]:
    [entry] = [n for n in document["names"] if n["name"] == name]
    return {c["check"]: c["verdict"] for c in entry["checks"]}


def test_project_name_and_prefix_from_pyproject(
    poetry_env: PoetryEnv, project_dir: Path, public_index: PublicIndexServer
) -> None:
    write_project(project_dir, "kpv_tools", extra='\n[tool.poetry-ado]\nprefix = "KPV_"\n')

    result = check(poetry_env, project_dir, public_index.url)

    assert result.exit_code == 0, result
    document = report(result)
    assert document["schema"] == 2
    assert document["exit_code"] == 0
    assert document["prefix"]["normalized"] == "kpv-"
    assert document["prefix"]["origin"] == "pyproject.toml"
    [name] = document["names"]
    assert (name["name"], name["normalized"], name["verdict"]) == ("kpv_tools", "kpv-tools", "ok")
    assert verdicts(document, "kpv_tools") == {
        "valid": "ok",
        "prefix": "ok",
        "stdlib": "ok",
        "public": "ok",
    }
    assert public_index.count("/simple/kpv-tools/") == 1
    assert result.stderr == ""


def test_names_and_prefix_option_with_problems(
    poetry_env: PoetryEnv, project_dir: Path, public_index: PublicIndexServer
) -> None:
    write_project(project_dir, "kpv-app", extra='\n[tool.poetry-ado]\nprefix = "other-"\n')

    result = check(
        poetry_env,
        project_dir,
        public_index.url,
        "foo__bar",
        "FOO-bar",
        "kpv-new",
        "--prefix",
        "kpv-",
    )

    assert result.exit_code == 1, result
    document = report(result)
    assert document["prefix"]["origin"] == "--prefix"
    assert [n["normalized"] for n in document["names"]] == ["foo-bar", "foo-bar", "kpv-new"]
    assert verdicts(document, "foo__bar")["public"] == "problem"
    assert verdicts(document, "foo__bar")["prefix"] == "problem"
    assert verdicts(document, "kpv-new") == {
        "valid": "ok",
        "prefix": "ok",
        "stdlib": "ok",
        "public": "ok",
    }
    # one request per distinct normal name, never a non-normal one
    assert public_index.count() == 2
    assert public_index.count(status=301) == 0


def test_text_table_and_quiet(
    poetry_env: PoetryEnv, project_dir: Path, public_index: PublicIndexServer
) -> None:
    result = check(poetry_env, project_dir, public_index.url, "json", "kpv-new", json_output=False)

    assert result.exit_code == 1, result
    lines = result.stdout.splitlines()
    assert lines[0] == f"Checking 2 names against {public_index.url}."
    assert lines[2].split() == ["name", "check", "verdict", "reason"]
    assert any(line.split()[:3] == ["stdlib", "problem", "json"] for line in lines)
    assert "no prefix configured (set [tool.poetry-ado] prefix or pass --prefix)" in result.stdout
    assert lines[-1] == "1 problem."
    assert not any(line != line.rstrip() for line in lines)

    quiet = poetry_env.run(
        "-q", "ado", "check-name", "json", "--index-url", public_index.url, cwd=project_dir
    )
    assert (quiet.exit_code, quiet.stdout, quiet.stderr) == (1, "", "")

    quiet_json = poetry_env.run(
        "-q", "ado", "check-name", "json", "--index-url", public_index.url, "--format", "json",
        cwd=project_dir,
    )  # fmt: skip
    assert quiet_json.exit_code == 1
    assert report(quiet_json)["exit_code"] == 1


def test_dependency_audit_from_pyproject_and_lock(
    poetry_env: PoetryEnv, project_dir: Path, public_index: PublicIndexServer
) -> None:
    write_project(
        project_dir,
        "kpv-app",
        extra=(
            "\n[tool.poetry.dependencies]\n"
            'kpv-core = { version = "^1", source = "kpv" }\n'
            'kpv_existing = { version = "*", source = "kpv" }\n'
            "\n[[tool.poetry.source]]\n"
            'name = "kpv"\n'
            f'url = "{FEED}"\n'
            'priority = "supplemental"\n'
        ),
    )
    (project_dir / "poetry.lock").write_text(
        "# This file is automatically @generated by Poetry 2.5.1 and should not be changed by "
        "hand.\n"
        + "".join(
            f'\n[[package]]\nname = "{name}"\nversion = "1.0"\ndescription = ""\n'
            'optional = false\npython-versions = ">=3.10"\ngroups = ["main"]\nfiles = []\n'
            f'\n[package.source]\ntype = "legacy"\nurl = "{FEED}"\nreference = "kpv"\n'
            for name in ("kpv-core", "kpv-existing", "kpv-transitive")
        )
        + '\n[metadata]\nlock-version = "2.1"\npython-versions = ">=3.10"\ncontent-hash = "0"\n'
    )

    result = check(poetry_env, project_dir, public_index.url, "--dependencies")

    assert result.exit_code == 1, result
    dependencies = {d["normalized"]: d for d in report(result)["dependencies"]}
    assert sorted(dependencies) == ["kpv-core", "kpv-existing", "kpv-transitive"]
    core = dependencies["kpv-core"]
    assert (core["pinned"], core["found_in"], core["verdict"]) == (
        True,
        ["pyproject.toml", "poetry.lock"],
        "ok",
    )
    existing = {c["check"]: c for c in dependencies["kpv-existing"]["checks"]}
    assert existing["public"]["verdict"] == "problem"
    transitive = {c["check"]: c for c in dependencies["kpv-transitive"]["checks"]}
    assert transitive["public"]["verdict"] == "ok"
    assert transitive["pin"]["verdict"] == "warning"
    assert 'priority = "explicit"' in transitive["pin"]["reason"]
    assert 'source = "kpv"' in transitive["pin"]["reason"]

    text = check(poetry_env, project_dir, public_index.url, "--dependencies", json_output=False)
    assert text.exit_code == 1
    assert "Checking 1 name and 3 private dependencies against" in text.stdout
    assert "kpv-transitive (kpv)" in text.stdout


def test_similar_downloads_then_uses_cache_then_revalidates(
    poetry_env: PoetryEnv, project_dir: Path, public_index: PublicIndexServer
) -> None:
    first = check(
        poetry_env, project_dir, public_index.url, "fo0-bar", "--prefix", "kpv", "--similar"
    )
    assert first.exit_code == 1, first  # prefix problem
    document = report(first)
    assert verdicts(document, "fo0-bar")["similar"] == "warning"
    assert document["names"][0]["checks"][4]["related"] == ["f00bar", "foo-bar"]
    assert document["prefix"]["public_matches"] == 2
    assert document["project_list"]["status"] == "downloaded"
    assert [r.status for r in public_index.root_requests()] == [200]

    second = check(poetry_env, project_dir, public_index.url, "kpv-x", "--similar")
    assert second.exit_code == 0, second
    assert report(second)["project_list"]["status"] == "cached"
    assert len(public_index.root_requests()) == 1

    [meta_path] = (poetry_env.cache_dir / "ado" / "public-index").glob("*/meta.json")
    meta = json.loads(meta_path.read_text())
    meta["checked_at"] -= 2 * DAY
    meta_path.write_text(json.dumps(meta))

    third = check(
        poetry_env, project_dir, public_index.url, "kpv-x", "--similar", json_output=False
    )
    assert third.exit_code == 0, third
    assert "The cached project list of" in third.stdout
    request = public_index.root_requests()[-1]
    assert (request.status, request.headers["if-none-match"]) == (304, public_index.etag)

    meta = json.loads(meta_path.read_text())
    meta["checked_at"] -= 3 * 3600
    meta_path.write_text(json.dumps(meta))
    public_index.stop()
    offline = check(
        poetry_env, project_dir, public_index.url, "kpv-x", "--similar", json_output=False
    )
    # the similarity check works from the cache; the live existence check cannot
    assert offline.exit_code == 2, offline
    assert "Using the project list of" in offline.stdout
    assert "cached 3 hours ago (5 projects)" in offline.stdout
    assert "Traceback" not in offline.output

    no_cache = check(poetry_env, project_dir, public_index.url, "kpv-x", "--similar", "--no-cache")
    assert no_cache.exit_code == 2
    assert report(no_cache)["project_list"]["status"] == "unavailable"


@pytest.mark.parametrize("trouble", ["unreachable", "server-error"])
def test_index_trouble_exits_2_with_one_line(
    poetry_env: PoetryEnv, project_dir: Path, public_index: PublicIndexServer, trouble: str
) -> None:
    if trouble == "unreachable":
        url = closed_port_url()
    else:
        public_index.fail_all = True
        url = public_index.url

    result = check(poetry_env, project_dir, url, "kpv-tools", json_output=False)

    assert result.exit_code == 2, result
    assert "Traceback" not in result.output
    [error] = result.stderr.splitlines()
    assert error.startswith(f"Error: 1 check could not be done against {url}: ")
    assert "could-not-check" in result.stdout
    document = report(check(poetry_env, project_dir, url, "kpv-tools"))
    assert document["exit_code"] == 2
    assert verdicts(document, "kpv-tools")["public"] == "could-not-check"


def test_bad_input_is_one_line_exit_1(poetry_env: PoetryEnv, project_dir: Path) -> None:
    url = closed_port_url()
    outside = check(poetry_env, project_dir, url)
    assert outside.exit_code == 1, outside
    assert outside.stdout == ""
    assert outside.stderr.startswith("Error: no NAME given and no project name")
    assert len(outside.stderr.splitlines()) == 1

    for args, message in [
        (("x", "--format", "yaml"), "Error: --format must be text or json"),
        (("x", "--prefix=-bad"), "Error: invalid prefix '-bad' (--prefix)"),
        (("x", "--dependencies"), "Error: no pyproject.toml in"),
    ]:
        result = poetry_env.run("ado", "check-name", *args, "--index-url", url, cwd=project_dir)
        assert result.exit_code == 1, result
        assert result.stderr.startswith(message), result
        assert len(result.stderr.splitlines()) == 1

    # The options are checked before the project is looked for, as for every command.
    empty = poetry_env.run(
        "ado", "check-name", "--dependencies", "--index-url", "", cwd=project_dir
    )  # fmt: skip
    assert empty.exit_code == 1, empty
    assert empty.stderr.startswith("Error: --index-url is empty"), empty

    bad_url = poetry_env.run("ado", "check-name", "x", "--index-url", "ftp://x/", cwd=project_dir)
    assert bad_url.exit_code == 1
    assert bad_url.stderr.startswith("Error: --index-url 'ftp://x/' is not an http(s) URL")


def test_a_bad_index_url_stops_the_audit_before_the_feed_is_asked(
    poetry_env: PoetryEnv, project_dir: Path, ado_emulator: AdoEmulator
) -> None:
    write_project(
        project_dir,
        "kpv-app",
        extra=(
            '\n[tool.poetry.dependencies]\nkpv-core = { version = "^1", source = "kpv" }\n'
            f'\n[[tool.poetry.source]]\nname = "kpv"\nurl = "{ado_emulator.feed.index_url}"\n'
            'priority = "explicit"\n'
        ),
    )
    stored = poetry_env.run(
        "config", "http-basic.kpv", "azure", ado_emulator.read_token, cwd=project_dir
    )
    assert stored.exit_code == 0, stored

    result = check(poetry_env, project_dir, "ftp://x/", "--dependencies")

    assert result.exit_code == 1, result
    assert result.stderr.startswith("Error: --index-url 'ftp://x/' is not an http(s) URL")
    assert ado_emulator.requests == []
