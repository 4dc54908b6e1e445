"""Poetry's own config file: the publish repository of a feed.

Reads and writes go through Poetry's FileConfigSource on the same ``config.toml`` that
``poetry config repositories.<name> <url>`` writes, so the result is exactly what Poetry
itself would have written."""

from __future__ import annotations

import difflib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from poetry_ado_plugin.errors import ConfigError


if TYPE_CHECKING:
    from poetry.config.file_config_source import FileConfigSource


@dataclass(frozen=True)
class RepositoryChange:
    name: str
    old_url: str | None
    new_url: str

    @property
    def changed(self) -> bool:
        return self.old_url != self.new_url


def config_file() -> Path:
    # CONFIG_DIR is read from POETRY_CONFIG_DIR when poetry.locations is first imported.
    from poetry.locations import CONFIG_DIR

    return Path(CONFIG_DIR) / "config.toml"


def _source(path: Path) -> FileConfigSource:
    from poetry.config.file_config_source import FileConfigSource
    from poetry.toml.file import TOMLFile

    return FileConfigSource(TOMLFile(path))


def _key(name: str) -> str:
    # A dotted string, not a list: Poetry 2.0's config sources only accept strings. Source names
    # are validated to contain no dots, so the split is unambiguous.
    return f"repositories.{name}.url"


def get_repository_url(name: str, path: Path | None = None) -> str | None:
    from poetry.config.config_source import PropertyNotFoundError

    path = path or config_file()
    if not path.exists():
        return None
    try:
        value = _source(path).get_property(_key(name))
    except PropertyNotFoundError:
        return None
    except Exception as error:
        raise _unusable(path, error) from error
    return str(value) if value is not None else None


def _unusable(path: Path, error: Exception) -> ConfigError:
    # Invalid TOML, or a repositories table of the wrong shape (Poetry's own `config` command
    # fails on it too).
    return ConfigError(
        f"Poetry's config file {path} cannot be used ({type(error).__name__}: {error}): fix or "
        "remove its [repositories] entries and run again"
    )


def plan_repository(name: str, url: str) -> RepositoryChange:
    return RepositoryChange(name=name, old_url=get_repository_url(name), new_url=url)


def apply_repository(change: RepositoryChange) -> None:
    if not change.changed:
        return
    path = config_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _source(path).add_property(_key(change.name), change.new_url)
    except OSError as error:
        raise ConfigError(
            f"could not write Poetry's config file {path}: {error.strerror}; "
            "check its permissions and run again"
        ) from error
    except Exception as error:
        raise _unusable(path, error) from error


def repository_diff(change: RepositoryChange) -> str:
    """The unified diff that ``apply_repository`` would make to config.toml, computed on a copy."""
    if not change.changed:
        return ""
    path = config_file()
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "config.toml"
        if path.exists():
            shutil.copyfile(path, copy)
        try:
            _source(copy).add_property(_key(change.name), change.new_url)
        except Exception as error:
            raise _unusable(path, error) from error
        after = copy.read_text(encoding="utf-8")
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{path.name}",
            tofile=f"b/{path.name}",
        )
    )
