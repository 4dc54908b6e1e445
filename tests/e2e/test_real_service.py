"""The stories that break on a real Azure feed and not on a naive emulator, end to end with the
real ``poetry``: a feed root that answers 404, a feed that proxies PyPI through an upstream
source, downloads that redirect to blob storage, and an Azure DevOps Server that takes
Metadata-Version 2.1 at most (docs/azure-artifacts.md)."""

from __future__ import annotations

import re
import subprocess
import tarfile
from typing import TYPE_CHECKING

import pytest
import requests

from tests.poetry_env import ok
from tests.poetry_env import write_project
from tests.public_index_server import PublicIndexServer


if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulator.pytest_plugin import AdoEmulator
    from tests.emulator.pytest_plugin import EmulatorFactory
    from tests.poetry_env import PoetryEnv


pytestmark = pytest.mark.e2e


def sdist_metadata(path: Path) -> str:
    with tarfile.open(path) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("/PKG-INFO"))
        extracted = archive.extractfile(member)
        assert extracted is not None
        return extracted.read().decode()


def add_feed_and_login(
    poetry_env: PoetryEnv, project: Path, url: str, token: str, *extra: str
) -> None:
    ok(poetry_env.run("ado", "add-feed", url, "--name", "team-feed", *extra, cwd=project))
    ok(poetry_env.run("ado", "login", "--pat-stdin", cwd=project, stdin=token + "\n"))


def test_login_on_a_feed_whose_root_answers_404(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, project_dir: Path
) -> None:
    root = requests.get(
        ado_emulator.feed.index_url, auth=ado_emulator.read_auth, timeout=10, allow_redirects=False
    )
    assert (root.status_code, root.text) == (404, "This functionality is currently not available.")
    write_project(project_dir)

    add_feed_and_login(
        poetry_env, project_dir, ado_emulator.feed.index_url, ado_emulator.read_token
    )

    paths = [r.raw_path for r in ado_emulator.feed.requests()[1:]]
    assert paths and all(not path.endswith("/pypi/simple/") for path in paths)
    # and the credential works for Poetry itself
    ok(poetry_env.run("source", "show", cwd=project_dir))


def test_audit_tells_upstream_packages_from_a_shadowed_name(
    poetry_env: PoetryEnv,
    ado_emulator_factory: EmulatorFactory,
    public_index: PublicIndexServer,
    project_dir: Path,
) -> None:
    public_index.add_package("requests", "2.32.0")
    # someone owns our private name on the public index (another file of the same version)
    public_index.add_package("kpv-shadow", "1.0", requires_python=">=3.8")
    emulator = ado_emulator_factory(upstream=public_index)
    feed = emulator.add_feed("contoso", "team-feed", project="Fabrikam Web")
    token = emulator.generate_token()  # a contributor may save upstream versions
    feed.add_package("kpv-shadow", "1.0")  # ours, published to the feed
    feed.add_package("kpv-core", "1.0")
    write_project(project_dir, "kpv-app")
    # primary: the feed is the project's only index, so public packages come through it
    add_feed_and_login(poetry_env, project_dir, feed.index_url, token, "--priority", "primary")
    ok(poetry_env.run("add", "requests==2.32.0", "kpv-shadow==1.0", "kpv-core", cwd=project_dir))
    lock = (project_dir / "poetry.lock").read_text()
    assert lock.count('reference = "team-feed"') == 3  # requests too is locked from the feed
    assert feed.is_from_upstream("requests-2.32.0-py3-none-any.whl")

    result = poetry_env.run(
        "ado", "check-name", "--dependencies", "--index-url", public_index.url, "--format", "json",
        cwd=project_dir,
    )  # fmt: skip

    assert result.exit_code == 1, result
    report = result.json()
    assert report["schema"] == 2
    found = {d["name"]: d for d in report["dependencies"]}
    assert found["requests"]["verdict"] == "upstream"
    assert found["requests"]["checks"][0]["verdict"] == "upstream"
    assert "from team-feed" in found["requests"]["checks"][0]["reason"]
    assert found["kpv-shadow"]["verdict"] == "problem"
    assert found["kpv-shadow"]["checks"][0]["reason"].startswith("shadows a public name")
    assert found["kpv-core"]["checks"][0]["verdict"] == "ok"
    assert report["summary"]["upstream"] == 1

    text = poetry_env.run(
        "ado", "check-name", "--dependencies", "--index-url", public_index.url, cwd=project_dir
    )  # fmt: skip
    assert text.exit_code == 1, text
    rows = [line for line in text.stdout.splitlines() if line.startswith("requests (team-feed)")]
    assert len(rows) == 1, text
    [row] = rows
    assert row.split()[2:4] == ["public", "upstream"]
    assert "Traceback" not in text.stderr


def test_install_follows_the_303_to_blob_storage_without_credentials(
    poetry_env: PoetryEnv, ado_emulator: AdoEmulator, project_dir: Path
) -> None:
    ado_emulator.feed.add_package("contoso-lib", "4.0.0")
    write_project(project_dir, "consumer-app")
    add_feed_and_login(
        poetry_env, project_dir, ado_emulator.feed.index_url, ado_emulator.read_token,
        "--priority", "explicit",
    )  # fmt: skip

    ok(poetry_env.run("add", "contoso-lib", "--source", "team-feed", cwd=project_dir))

    downloads = [r for r in ado_emulator.feed.requests() if "/pypi/download/" in r.path]
    assert downloads and {r.status for r in downloads} == {303}
    # GUID links with the normalized version: 4.0.0 is /4/
    assert all("/contoso-lib/4/" in r.path for r in downloads)
    assert ado_emulator.emulator.blob_requests
    assert all(not r.authorization for r in ado_emulator.emulator.blob_requests)
    python = project_dir / ".venv" / "bin" / "python"
    imported = subprocess.run(
        [str(python), "-c", "import contoso_lib; print(contoso_lib.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert imported.stdout.strip() == "4.0.0"


def test_publish_of_a_poetry_2_build_to_azure_devops_server(
    poetry_env: PoetryEnv,
    ado_emulator_factory: EmulatorFactory,
    public_index: PublicIndexServer,
    project_dir: Path,
) -> None:
    emulator = ado_emulator_factory(mode="server")
    feed = emulator.add_feed(None, "onprem-feed", project="Web")
    token = emulator.generate_token()
    pyproject = write_project(project_dir, "contoso-onprem")
    text = pyproject.read_text()
    pyproject.write_text(
        text.replace("dependencies = []\n", 'license = "MIT"\ndependencies = []\n')
    )
    add_feed_and_login(poetry_env, project_dir, feed.index_url, token)
    ok(poetry_env.run("build", cwd=project_dir))
    built_sdist = project_dir / "dist" / "contoso_onprem-0.1.0.tar.gz"
    metadata = built_sdist.stat().st_mtime

    # What users meet today: Poetry's own publish sends the build's Metadata-Version.
    plain = poetry_env.run("publish", "-r", "team-feed", cwd=project_dir)
    assert plain.exit_code == 1, plain
    assert "400" in plain.output
    assert feed.stored_files() == []

    result = poetry_env.run("ado", "publish", "--index-url", public_index.url, cwd=project_dir)

    assert result.exit_code == 0, result
    # poetry-core 2.5 writes 2.4 (with License-Expression), poetry-core 2.0 writes 2.3
    found = re.search(r"Metadata-Version: (\S+)", sdist_metadata(built_sdist))
    assert found is not None
    declared = found.group(1)
    assert declared in ("2.3", "2.4")
    assert (
        f"Declaring Metadata-Version 2.1 in the upload (the files say {declared}; Azure DevOps "
        "Server takes 2.1 at most)"
    ) in result.stdout
    if "License-Expression" in sdist_metadata(built_sdist):
        assert "License-Expression sent as License" in result.stdout
    assert sorted(feed.stored_files()) == [
        "contoso_onprem-0.1.0-py3-none-any.whl",
        "contoso_onprem-0.1.0.tar.gz",
    ]
    # the files are the build's own, byte for byte, and dist/ is untouched
    stored = feed.storage / "contoso_onprem-0.1.0.tar.gz"
    built = project_dir / "dist" / "contoso_onprem-0.1.0.tar.gz"
    assert stored.read_bytes() == built.read_bytes()
    assert built.stat().st_mtime == metadata


def test_hosted_feed_that_refuses_the_metadata_version_is_explained(
    poetry_env: PoetryEnv,
    ado_emulator_factory: EmulatorFactory,
    public_index: PublicIndexServer,
    project_dir: Path,
) -> None:
    emulator = ado_emulator_factory(max_metadata_version="2.2")
    feed = emulator.add_feed("contoso", "team-feed")
    token = emulator.generate_token()
    write_project(project_dir, "contoso-hosted")
    add_feed_and_login(poetry_env, project_dir, feed.index_url, token)
    ok(poetry_env.run("build", cwd=project_dir))

    kept = poetry_env.run(
        "ado",
        "publish",
        "--index-url",
        public_index.url,
        "--keep-metadata-version",
        cwd=project_dir,
    )
    assert kept.exit_code == 1, kept
    assert "is unsupported" in kept.stderr
    assert "--metadata-version-compat" in kept.stderr

    compat = poetry_env.run(
        "ado",
        "publish",
        "--index-url",
        public_index.url,
        "--metadata-version-compat",
        cwd=project_dir,
    )
    assert compat.exit_code == 0, compat
    assert len(feed.stored_files()) == 2


def test_publish_never_takes_upstream_copies_for_its_own(
    poetry_env: PoetryEnv,
    ado_emulator_factory: EmulatorFactory,
    public_index: PublicIndexServer,
    project_dir: Path,
) -> None:
    public_index.add_package("contoso-tool", "0.1.0")  # the public package of the same name
    emulator = ado_emulator_factory(upstream=public_index)
    feed = emulator.add_feed("contoso", "team-feed")
    token = emulator.generate_token()
    feed.save_upstream_version("contoso-tool", "0.1.0")
    write_project(project_dir, "contoso-tool")
    add_feed_and_login(poetry_env, project_dir, feed.index_url, token)
    ok(poetry_env.run("build", cwd=project_dir))
    before = [r for r in feed.requests() if r.method == "POST"]

    result = poetry_env.run(
        "ado", "publish", "--index-url", public_index.url, "--no-check-name", "--skip-existing",
        cwd=project_dir,
    )  # fmt: skip

    assert result.exit_code == 1, result
    assert "lists from its upstream source" in result.stderr
    assert "already on the feed" not in result.output
    assert "Skipping" not in result.output
    assert [r for r in feed.requests() if r.method == "POST"] == before
