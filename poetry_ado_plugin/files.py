"""The one way the plugin writes a file: atomically, under an advisory lock.

``write_atomic(path, data)`` writes a temporary file in the same directory, flushes it to disk,
gives it the original's mode and owner, renames it over the original and flushes the directory.
A reader, or a process killed at any moment, sees the old file or the new one, never a truncated
or empty one. On failure the temporary file is removed and the original is untouched. A file that
is read-only by its mode bits is refused, even for root (who could replace it anyway): the user
marked it read-only on purpose. Symlinks are followed: the file they point to is replaced.

``locked(path)`` holds an advisory lock for a read-modify-write: ``fcntl.flock`` on a lock file
``.<name>.lock`` beside the file (``msvcrt.locking`` on an exclusive lock file on Windows),
removed again on release. The kernel drops the lock when the process dies, so a killed command
never blocks the next one. Locks are re-entrant within a process; take several in one order
(pyproject.toml, then config.toml, auth.toml, the expiry records) so that commands cannot deadlock.
``write_atomic`` takes the lock itself, so even a blind write waits for a read-modify-write.

``all_or_nothing(*paths)`` locks the files and keeps a copy of each; when the block fails, every
file is put back as it was. SIGINT and SIGTERM are held back while it runs, so Ctrl-C between two
writes cannot leave one done and the other not: the block completes, then the signal ends the
command (:class:`~poetry_ado_plugin.errors.Interrupted`).

Fault injection, for the kill-mid-write tests: ``POETRY_ADO_FAULT_AT_WRITE=<file name>[:<action>]``
stops the process the first time it writes a file of that name. Actions: ``kill`` (the default:
SIGKILL after half of the temporary file is written, before the rename), ``kill-after-rename``
(SIGKILL right after the rename), ``sigint`` and ``sigterm`` (that signal, sent to ourselves after
the temporary file is written, as if the user pressed Ctrl-C or the machine shut down at that
moment). Nothing else reads the variable; without it the writer does no extra work."""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from poetry_ado_plugin.errors import AdoError
from poetry_ado_plugin.errors import Interrupted


if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Iterator
    from types import FrameType

    # What a failure raises: the caller's AdoError class (or OSError, for a cache whose
    # failures only cost speed), built from the one-line message.
    ErrorType = Callable[[str], Exception]


FAULT_VARIABLE = "POETRY_ADO_FAULT_AT_WRITE"
LOCK_TIMEOUT_VARIABLE = "POETRY_ADO_LOCK_TIMEOUT"
DEFAULT_LOCK_TIMEOUT = 30.0
# The temporary files are named .<name>.ado-<random>.tmp: while the lock is held, any such file
# is a leftover of a killed writer and is removed.
_TEMP_MARK = ".ado-"
_TEMP_SUFFIX = ".tmp"


# --- writing -----------------------------------------------------------------------------------


def write_atomic(
    path: Path,
    data: bytes | str,
    *,
    error: ErrorType = AdoError,
    mode: int | None = None,
    new_file_mode: int = 0o600,
) -> None:
    """Replace ``path``'s content with ``data`` (str is written as UTF-8, newlines untouched).

    ``mode`` forces the permission bits; otherwise an existing file keeps its own and a new one
    gets ``new_file_mode``. Failures raise ``error(message)``, the message one line."""
    target = _resolved(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with locked(target, error=error):
        try:
            info: os.stat_result | None = target.stat()
        except FileNotFoundError:
            info = None
        except OSError as failure:
            raise error(f"cannot write {path}: {_reason(failure)}") from None
        if info is not None and is_read_only(info):
            raise error(f"{path} is read-only: make it writable (or edit it by hand) and run again")
        _remove_leftovers(target)
        if info is not None:
            permissions = stat.S_IMODE(info.st_mode) if mode is None else mode
        else:
            permissions = new_file_mode if mode is None else mode
        fault = _fault_for(target)
        temporary: Path | None = None
        try:
            fd, name = tempfile.mkstemp(
                prefix=f".{target.name}{_TEMP_MARK}", suffix=_TEMP_SUFFIX, dir=target.parent
            )
            temporary = Path(name)
            with os.fdopen(fd, "wb") as handle:
                if fault == "kill":
                    handle.write(payload[: len(payload) // 2])
                    handle.flush()
                    _die()
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            temporary.chmod(permissions)
            if info is not None:
                _copy_owner(temporary, info)
            if fault in ("sigint", "sigterm"):
                signal.raise_signal(signal.SIGINT if fault == "sigint" else signal.SIGTERM)
            temporary.replace(target)
            temporary = None
        except OSError as failure:
            raise error(
                f"cannot write {path}: {_reason(failure)}; the file was not changed"
            ) from None
        finally:
            if temporary is not None:
                with contextlib.suppress(OSError):
                    temporary.unlink()
        if fault == "kill-after-rename":
            _die()
        _fsync_directory(target.parent)


def remove_file(path: Path, *, error: ErrorType = AdoError) -> bool:
    """Delete ``path`` under its lock; False when there was nothing to delete."""
    target = _resolved(path)
    with locked(target, error=error):
        try:
            target.unlink()
        except FileNotFoundError:
            return False
        except OSError as failure:
            raise error(f"cannot remove {path}: {_reason(failure)}") from None
    _fsync_directory(target.parent)
    return True


def read_bytes_or_none(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def is_read_only(info: os.stat_result) -> bool:
    """Read-only by its mode bits. Root may write any file, so for root "read-only" means no
    write bit at all; for everyone else it is what the mode grants them."""
    if os.name != "posix":
        return not info.st_mode & stat.S_IWRITE
    if os.geteuid() == 0:
        return not info.st_mode & 0o222
    if info.st_uid == os.geteuid():
        return not info.st_mode & stat.S_IWUSR
    if info.st_gid == os.getegid() or info.st_gid in os.getgroups():
        return not info.st_mode & stat.S_IWGRP
    return not info.st_mode & stat.S_IWOTH


def _resolved(path: Path) -> Path:
    # Follow symlinks (replace the file, keep the link); the rest of the path as given.
    path = Path(path)
    return path.resolve() if path.is_symlink() else path.absolute()


def _reason(failure: OSError) -> str:
    return failure.strerror or type(failure).__name__


def _copy_owner(path: Path, info: os.stat_result) -> None:
    chown = getattr(os, "chown", None)
    if chown is None:
        return
    current = path.stat()
    if (current.st_uid, current.st_gid) != (info.st_uid, info.st_gid):
        # Only root can give a file away; anyone else keeps the file as theirs.
        with contextlib.suppress(OSError):
            chown(path, info.st_uid, info.st_gid)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable; directories cannot be opened on Windows.
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_leftovers(target: Path) -> None:
    prefix = f".{target.name}{_TEMP_MARK}"
    with contextlib.suppress(OSError):
        for entry in os.scandir(target.parent):
            if entry.name.startswith(prefix) and entry.name.endswith(_TEMP_SUFFIX):
                with contextlib.suppress(OSError):
                    Path(entry.path).unlink()


# --- fault injection ---------------------------------------------------------------------------

_fault_fired = False


def _fault_for(target: Path) -> str | None:
    global _fault_fired
    spec = os.environ.get(FAULT_VARIABLE)
    if not spec or _fault_fired:
        return None
    name, _, action = spec.partition(":")
    if name != target.name:
        return None
    _fault_fired = True
    return action or "kill"


def _die() -> None:
    kill = getattr(signal, "SIGKILL", None)
    if kill is not None:
        os.kill(os.getpid(), kill)
    os._exit(137)


# --- locking -----------------------------------------------------------------------------------


class _Held:
    def __init__(self, fd: int, lock_path: Path) -> None:
        self.fd = fd
        self.lock_path = lock_path
        self.count = 1


_held: dict[Path, _Held] = {}
_held_guard = threading.Lock()


def lock_file_for(path: Path) -> Path:
    target = _resolved(path)
    return target.with_name(f".{target.name}.lock")


def lock_timeout() -> float:
    from poetry_ado_plugin.environment import env_number

    return env_number(
        LOCK_TIMEOUT_VARIABLE, DEFAULT_LOCK_TIMEOUT, exclusive_minimum=True, maximum=3600
    )


@contextlib.contextmanager
def locked(*paths: Path, error: ErrorType = AdoError) -> Iterator[None]:
    """Hold the advisory lock of each of ``paths``, taken in the order given."""
    with contextlib.ExitStack() as stack:
        for path in paths:
            stack.enter_context(_locked_one(path, error))
        yield


@contextlib.contextmanager
def _locked_one(path: Path, error: ErrorType) -> Iterator[None]:
    lock_path = lock_file_for(path)
    with _held_guard:
        held = _held.get(lock_path)
        if held is not None:
            held.count += 1
    if held is None:
        fd = _acquire(lock_path, path, error)
        held = _Held(fd, lock_path) if fd is not None else None
        if held is not None:
            with _held_guard:
                _held[lock_path] = held
    try:
        yield
    finally:
        if held is not None:
            with _held_guard:
                held.count -= 1
                last = held.count == 0
                if last:
                    del _held[lock_path]
            if last:
                _release(held)


def _acquire(lock_path: Path, path: Path, error: ErrorType) -> int | None:
    """The locked file descriptor, or None when no lock file can be made here (a read-only
    directory: nobody can replace the file there either, and the write will say why)."""
    deadline = time.monotonic() + lock_timeout()
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        except FileNotFoundError:
            return None
        except OSError as failure:
            if failure.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                return None
            raise error(f"cannot lock {path}: {_reason(failure)}") from None
        try:
            while not _try_lock(fd):
                if time.monotonic() > deadline:
                    raise error(
                        f"{path} is being changed by another command (it holds {lock_path.name} "
                        f"for more than {lock_timeout():g} s): run again when it has finished"
                    )
                time.sleep(0.01)
            # The previous holder may have removed the lock file between our open and our lock:
            # then we hold a lock nobody else can see, and must try again on the new file.
            try:
                current = lock_path.stat()
            except FileNotFoundError:
                current = None
            if current is not None and os.path.samestat(os.fstat(fd), current):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)


def _release(held: _Held) -> None:
    # Remove the file while still holding the lock: a waiter then sees that its file is gone.
    with contextlib.suppress(OSError):
        held.lock_path.unlink()
    _unlock(held.fd)
    os.close(held.fd)


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)


# --- all or nothing ----------------------------------------------------------------------------


@contextlib.contextmanager
def all_or_nothing(*paths: Path, error: ErrorType = AdoError) -> Iterator[None]:
    """Lock ``paths``; if the block raises, put every one of them back as it was.

    SIGINT and SIGTERM are held back until the block has finished, then end the command."""
    with locked(*paths, error=error), _signals_held_back() as received:
        saved = {path: read_bytes_or_none(path) for path in paths}
        try:
            yield
        except BaseException:
            _put_back(saved, error)
            raise
    if received:
        raise Interrupted.by(received[0], "after the changes were written completely")


def _put_back(saved: dict[Path, bytes | None], error: ErrorType) -> None:
    for path, before in reversed(saved.items()):
        if read_bytes_or_none(path) == before:
            continue
        # Best effort: the failure that brought us here is the one to report.
        with contextlib.suppress(Exception):
            if before is None:
                remove_file(path, error=error)
            else:
                write_atomic(path, before, error=error)


_HELD_BACK = ("SIGINT", "SIGTERM", "SIGHUP")


@contextlib.contextmanager
def _signals_held_back() -> Iterator[list[int]]:
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def hold(number: int, frame: FrameType | None) -> None:
        received.append(number)

    previous: dict[int, object] = {}
    try:
        for name in _HELD_BACK:
            number = getattr(signal, name, None)
            if number is not None:
                previous[number] = signal.signal(number, hold)
        yield received
    finally:
        for number, handler in previous.items():
            # None: a handler installed outside Python, which cannot be put back; the default.
            restored = signal.SIG_DFL if handler is None else handler
            signal.signal(number, restored)  # type: ignore[arg-type]
