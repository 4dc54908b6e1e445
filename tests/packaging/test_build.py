"""The wheel and the sdist that ``python3 dev.py build`` makes, checked as PyPI and a user see
them: ``twine check --strict``, the entry point Poetry loads, what each archive holds, and the
metadata (readme, classifiers, project URLs)."""

from __future__ import annotations

import email
import email.message
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import tomlkit

import dev


pytestmark = pytest.mark.packaging

ROOT = Path(dev.__file__).resolve().parent
PYPROJECT = tomlkit.parse((ROOT / "pyproject.toml").read_text(encoding="utf-8")).unwrap()
VERSION: str = PYPROJECT["project"]["version"]


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    built = dev.build_artifacts(out)
    by_kind = {("wheel" if path.suffix == ".whl" else "sdist"): path for path in built}
    assert set(by_kind) == {"wheel", "sdist"}, built
    return by_kind


def wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def sdist_names(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as archive:
        top = f"poetry_ado_plugin-{VERSION}/"
        return [member.name.removeprefix(top) for member in archive.getmembers()]


def wheel_metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        return email.message_from_bytes(
            archive.read(f"poetry_ado_plugin-{VERSION}.dist-info/METADATA")
        )


def test_twine_check_strict_passes(artifacts: dict[str, Path]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *artifacts.values()],
        capture_output=True,
        text=True,
        env={"NO_COLOR": "1", "PATH": ""},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout


def test_file_names_carry_the_one_version(artifacts: dict[str, Path]) -> None:
    assert artifacts["wheel"].name == f"poetry_ado_plugin-{VERSION}-py3-none-any.whl"
    assert artifacts["sdist"].name == f"poetry_ado_plugin-{VERSION}.tar.gz"
    # The version is written once, in pyproject.toml; the package does not repeat it.
    package = ROOT / "poetry_ado_plugin"
    assert not [p for p in package.rglob("*.py") if f'"{VERSION}"' in p.read_text("utf-8")]


def test_wheel_holds_the_entry_point_poetry_loads(artifacts: dict[str, Path]) -> None:
    with zipfile.ZipFile(artifacts["wheel"]) as archive:
        entry_points = archive.read(f"poetry_ado_plugin-{VERSION}.dist-info/entry_points.txt")
    lines = entry_points.decode().splitlines()
    assert "[poetry.application.plugin]" in lines
    assert "ado=poetry_ado_plugin.plugin:AdoPlugin" in [line.replace(" ", "") for line in lines]


def test_wheel_holds_the_package_and_no_tests(artifacts: dict[str, Path]) -> None:
    names = wheel_names(artifacts["wheel"])
    top_level = {name.split("/", 1)[0] for name in names}
    assert top_level == {"poetry_ado_plugin", f"poetry_ado_plugin-{VERSION}.dist-info"}
    assert not [name for name in names if "tests/" in name or "/test_" in name]
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert "poetry_ado_plugin/py.typed" in names
    assert "poetry_ado_plugin/plugin.py" in names
    assert "poetry_ado_plugin/pypi_stdlib_names.txt" in names  # package data
    assert f"poetry_ado_plugin-{VERSION}.dist-info/licenses/LICENSE" in names


def test_sdist_holds_tests_docs_and_licence(artifacts: dict[str, Path]) -> None:
    names = set(sdist_names(artifacts["sdist"]))
    for required in (
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "pyproject.toml",
        "PKG-INFO",
        "poetry_ado_plugin/py.typed",
        "poetry_ado_plugin/plugin.py",
        "tests/conftest.py",
        "tests/poetry_env.py",
        "tests/emulator/README.md",
        "docs/compatibility.md",
    ):
        assert required in names, required
    assert {name for name in names if name.startswith("tests/e2e/test_")}
    assert {name for name in names if name.startswith("tests/unit/test_")}
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]


def test_licence_is_mit(artifacts: dict[str, Path]) -> None:
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert licence.startswith("MIT License")
    assert "poetry-ado-plugin contributors" in licence
    metadata = wheel_metadata(artifacts["wheel"])
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]


def test_metadata_has_readme_classifiers_and_urls(artifacts: dict[str, Path]) -> None:
    metadata = wheel_metadata(artifacts["wheel"])
    assert metadata["Name"] == "poetry-ado-plugin"
    assert metadata["Version"] == VERSION
    assert metadata["Requires-Python"] == ">=3.10"
    assert metadata["Description-Content-Type"] == "text/markdown"
    body = metadata.get_payload(decode=True)
    assert isinstance(body, bytes)
    description = body.decode("utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert description.splitlines()[0] == readme.splitlines()[0] == "# poetry-ado-plugin"
    assert "\n## Install" in description

    classifiers = metadata.get_all("Classifier") or []
    assert "Framework :: Poetry" in classifiers
    assert "Typing :: Typed" in classifiers
    for minor in range(10, 14):
        assert f"Programming Language :: Python :: 3.{minor}" in classifiers

    urls: dict[str, str] = {}
    for value in metadata.get_all("Project-URL") or []:
        label, _, url = str(value).partition(",")
        urls[label.strip()] = url.strip()
    assert urls, "no Project-URL"
    assert urls["PyPI"] == "https://pypi.org/project/poetry-ado-plugin/"
    for label, url in urls.items():
        assert url.startswith("https://"), (label, url)
        assert "example" not in url and "your-" not in url and "TODO" not in url, url
        # Azure Artifacts refuses Project-URL labels over 32 characters.
        assert len(label) <= 32, label

    # The sdist's PKG-INFO says the same.
    with tarfile.open(artifacts["sdist"]) as archive:
        member = archive.extractfile(f"poetry_ado_plugin-{VERSION}/PKG-INFO")
        assert member is not None
        pkg_info = email.message_from_bytes(member.read())
    assert pkg_info.get_all("Classifier") == classifiers
    assert pkg_info.get_all("Project-URL") == metadata.get_all("Project-URL")
