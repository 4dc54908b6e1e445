"""The shared atomic writer, its lock and its all-or-nothing block."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from poetry_ado_plugin import files
from poetry_ado_plugin.errors import AdoError
from poetry_ado_plugin.errors import ConfigError
from poetry_ado_plugin.errors import Interrupted


REPOSITORY = Path(__file__).resolve().parents[2]

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX modes and signals")


def names_in(directory: Path) -> list[str]:
    return sorted(path.name for path in directory.iterdir())


def test_writes_a_new_file_private(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    files.write_atomic(path, "a = 1\n")
    assert path.read_text() == "a = 1\n"
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert names_in(tmp_path) == ["config.toml"]


@posix_only
def test_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("old\n")
    path.chmod(0o640)
    inode = path.stat().st_ino
    files.write_atomic(path, b"new\r\n")
    assert path.read_bytes() == b"new\r\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_ino != inode, "replaced by a rename, not rewritten in place"


@posix_only
def test_a_forced_mode_tightens_the_file(tmp_path: Path) -> None:
    path = tmp_path / "auth.toml"
    path.write_text("old\n")
    path.chmod(0o644)
    files.write_atomic(path, "new\n", mode=0o600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@posix_only
def test_a_read_only_file_is_refused_even_for_root(tmp_path: Path) -> None:
    # Root could replace it, but the user marked it read-only on purpose.
    path = tmp_path / "pyproject.toml"
    path.write_text("old\n")
    path.chmod(0o444)
    with pytest.raises(ConfigError, match=r"pyproject.toml is read-only: make it writable"):
        files.write_atomic(path, "new\n", error=ConfigError)
    assert path.read_text() == "old\n"
    assert names_in(tmp_path) == ["pyproject.toml"]


def test_a_failed_write_leaves_the_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text("old\n")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(AdoError, match="No space left on device; the file was not changed"):
        files.write_atomic(path, "new\n")
    assert path.read_text() == "old\n"
    assert names_in(tmp_path) == ["config.toml"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_a_symlink_stays_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.toml"
    real.write_text("old\n")
    link = tmp_path / "pyproject.toml"
    link.symlink_to(real)
    files.write_atomic(link, "new\n")
    assert link.is_symlink()
    assert real.read_text() == "new\n"


def test_leftovers_of_a_killed_writer_are_removed(tmp_path: Path) -> None:
    path = tmp_path / "auth.toml"
    path.write_text("old\n")
    (tmp_path / ".auth.toml.ado-abc123.tmp").write_text("half")
    (tmp_path / ".auth.toml.other.tmp").write_text("not ours")
    files.write_atomic(path, "new\n")
    assert names_in(tmp_path) == [".auth.toml.other.tmp", "auth.toml"]


def test_remove_file(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    path.write_text("{}")
    assert files.remove_file(path) is True
    assert files.remove_file(path) is False
    assert names_in(tmp_path) == []


# --- the lock ----------------------------------------------------------------------------------


def test_the_lock_is_reentrant_and_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    with files.locked(path):
        assert files.lock_file_for(path).exists()
        with files.locked(path):
            files.write_atomic(path, "a\n")
        assert files.lock_file_for(path).exists()
    assert names_in(tmp_path) == ["config.toml"]


_HOLDER = """
import sys, time
from pathlib import Path
sys.path.insert(0, {repository!r})
from poetry_ado_plugin import files
with files.locked(Path({path!r})):
    print("locked", flush=True)
    time.sleep(float(sys.argv[1]))
"""


def hold_lock(path: Path, seconds: float) -> subprocess.Popen[str]:
    code = _HOLDER.format(repository=str(REPOSITORY), path=str(path))
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None
    assert holder.stdout.readline() == "locked\n"
    return holder


def test_another_process_waits_for_the_lock(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("old\n")
    holder = hold_lock(path, 0.5)
    started = time.monotonic()
    files.write_atomic(path, "new\n")
    waited = time.monotonic() - started
    holder.wait(timeout=10)
    assert waited > 0.2
    assert path.read_text() == "new\n"


def test_a_lock_held_too_long_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("old\n")
    monkeypatch.setenv(files.LOCK_TIMEOUT_VARIABLE, "0.2")
    holder = hold_lock(path, 5)
    try:
        with pytest.raises(ConfigError, match="is being changed by another command"):
            files.write_atomic(path, "new\n", error=ConfigError)
    finally:
        holder.kill()
        holder.wait()
    assert path.read_text() == "old\n"


@posix_only
def test_a_killed_holder_does_not_block_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text("old\n")
    holder = hold_lock(path, 60)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert files.lock_file_for(path).exists(), "the killed holder left its lock file"
    files.write_atomic(path, "new\n")
    assert path.read_text() == "new\n"
    assert names_in(tmp_path) == ["pyproject.toml"]


# --- all or nothing ----------------------------------------------------------------------------


def test_a_failed_block_puts_every_file_back(tmp_path: Path) -> None:
    first = tmp_path / "pyproject.toml"
    first.write_text("old one\n")
    second = tmp_path / "config.toml"
    with pytest.raises(RuntimeError), files.all_or_nothing(first, second):
        files.write_atomic(first, "new one\n")
        files.write_atomic(second, "new two\n")
        raise RuntimeError
    assert first.read_text() == "old one\n"
    assert not second.exists()
    assert names_in(tmp_path) == ["pyproject.toml"]


@posix_only
@pytest.mark.parametrize(("number", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_waits_until_the_block_is_done(tmp_path: Path, number: int, code: int) -> None:
    first = tmp_path / "pyproject.toml"
    second = tmp_path / "config.toml"
    with pytest.raises(Interrupted) as caught, files.all_or_nothing(first, second):
        files.write_atomic(first, "one\n")
        signal.raise_signal(number)
        files.write_atomic(second, "two\n")
    assert (first.read_text(), second.read_text()) == ("one\n", "two\n")
    assert caught.value.exit_code == code
    assert "after the changes were written completely" in str(caught.value)
    assert signal.getsignal(number) is not None


# --- fault injection ---------------------------------------------------------------------------

_WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, {repository!r})
from poetry_ado_plugin import files
files.write_atomic(Path({path!r}), "new content\\n" * 1000)
"""


@posix_only
@pytest.mark.parametrize(
    ("action", "expected"), [("", "old"), ("kill", "old"), ("kill-after-rename", "new")]
)
def test_the_fault_variable_kills_the_writer(tmp_path: Path, action: str, expected: str) -> None:
    path = tmp_path / "auth.toml"
    path.write_text("old content\n")
    spec = "auth.toml" + (f":{action}" if action else "")
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(_WRITER.format(repository=str(REPOSITORY), path=str(path))),
        ],
        env={**os.environ, files.FAULT_VARIABLE: spec},
        check=False,
    )
    assert completed.returncode == -signal.SIGKILL
    content = path.read_text()
    assert content == ("old content\n" if expected == "old" else "new content\n" * 1000)


def test_the_fault_variable_names_one_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(files.FAULT_VARIABLE, "auth.toml")
    path = tmp_path / "config.toml"
    files.write_atomic(path, "fine\n")
    assert path.read_text() == "fine\n"


def test_the_project_list_cache_goes_through_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from poetry_ado_plugin.public_index import CachedMeta
    from poetry_ado_plugin.public_index import ProjectList
    from poetry_ado_plugin.public_index import ProjectListCache

    written: list[str] = []
    real = files.write_atomic

    def recording(path: Path, data: bytes | str, **options: object) -> None:
        written.append(Path(path).name)
        real(path, data, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(files, "write_atomic", recording)
    cache = ProjectListCache(tmp_path, "https://pypi.org/simple/")
    projects = ProjectList.from_names(["alpha", "beta"])
    cache.store(projects, CachedMeta(None, None, 1.0, 1.0, projects.count))
    assert written == ["projects.txt", "meta.json"]
    assert cache.load() is not None
    assert names_in(cache.directory) == ["meta.json", "projects.txt"]
