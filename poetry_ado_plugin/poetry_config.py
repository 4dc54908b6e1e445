"""Poetry's own config files: the publish repository of a feed in config.toml, and the
credentials in auth.toml.

Edits go through Poetry's FileConfigSource on the same files that ``poetry config`` writes, so
the result is exactly what Poetry itself would have written. Only the final write differs:
Poetry truncates the file in place (a kill in the middle leaves it empty, every repository or
credential gone), ours is the shared atomic writer, under the file's lock."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import tomlkit
from poetry.toml.file import TOMLFile

from poetry_ado_plugin import files
from poetry_ado_plugin.errors import AdoError
from poetry_ado_plugin.errors import ConfigError


if TYPE_CHECKING:
    from collections.abc import Callable
    from collections.abc import Mapping

    from poetry.config.file_config_source import FileConfigSource
    from tomlkit.toml_document import TOMLDocument


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
        edit_poetry_file(
            path, lambda source: source.add_property(_key(change.name), change.new_url)
        )
    except AdoError:
        raise
    except OSError as error:
        raise ConfigError(
            f"could not write Poetry's config file {path}: {error.strerror}; "
            "check its permissions and run again"
        ) from error
    except Exception as error:
        raise _unusable(path, error) from error


def edit_poetry_file(
    path: Path,
    edit: Callable[[FileConfigSource], None],
    *,
    mode: int | None = None,
    error: type[AdoError] = ConfigError,
) -> bool:
    """Run ``edit`` on a FileConfigSource of ``path`` (config.toml or auth.toml) and write the
    result atomically, all under the file's lock. True when the file changed.

    Raises ``error`` when the write fails; whatever ``edit`` raises (Poetry's TOMLError for a
    broken file, TypeError for a table of the wrong shape) passes through, and nothing is
    written."""
    from poetry.config.file_config_source import FileConfigSource

    with files.locked(path, error=error):
        before = files.read_bytes_or_none(path)
        captured = _CapturedTOMLFile(path)
        edit(FileConfigSource(captured))
        if captured.content is None:
            return False
        after = captured.content.encode("utf-8")
        if after == before:
            return False
        files.write_atomic(path, after, mode=mode, error=error)
    return True


class _CapturedTOMLFile(TOMLFile):
    """Poetry's TOMLFile for FileConfigSource, except that a write is kept in memory, to be
    written atomically afterwards, and a missing file reads as empty: FileConfigSource would
    otherwise create it empty first (``touch``)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.content: str | None = None

    def exists(self) -> bool:
        return True

    def read(self) -> TOMLDocument:
        if not self.path.exists():
            return tomlkit.document()
        return super().read()

    def write(self, data: TOMLDocument) -> None:
        content = data.as_string()
        # The line endings tomlkit's TOMLFile.write keeps: those the file had when read.
        linesep = getattr(self, "_linesep", "\n")
        if linesep == "\n":
            content = content.replace("\r\n", "\n")
        elif linesep == "\r\n":
            content = re.sub(r"(?<!\r)\n", "\r\n", content)
        self.content = content


def repository_diff(change: RepositoryChange) -> str:
    """The unified diff that ``apply_repository`` would make to config.toml, computed in memory."""
    from poetry.config.file_config_source import FileConfigSource

    if not change.changed:
        return ""
    path = config_file()
    before = path.read_text(encoding="utf-8") if path.exists() else ""
    captured = _CapturedTOMLFile(path)
    try:
        FileConfigSource(captured).add_property(_key(change.name), change.new_url)
    except Exception as error:
        raise _unusable(path, error) from error
    after = captured.content if captured.content is not None else before
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"a/{path.name}",
            tofile=f"b/{path.name}",
        )
    )


def poetry_variable(kind: str, name: str, field: str) -> str:
    """The environment variable Poetry reads for ``kind.name.field``, e.g.
    ``POETRY_REPOSITORIES_TEAM_FEED_URL``: NAME upper-cased, '-' turned into '_' (Poetry turns
    nothing else, so a name with a dot cannot be set from most shells)."""
    parts = (kind, name, field)
    return "POETRY_" + "_".join(part.upper().replace("-", "_") for part in parts)


@dataclass(frozen=True)
class RepositorySetting:
    url: str
    where: str
    """The environment variable, or the path of config.toml or the project's poetry.toml."""


def find_repository_setting(
    name: str, project_dir: Path | None = None, environ: Mapping[str, str] | None = None
) -> RepositorySetting | None:
    """Where ``repositories.NAME.url`` is set, in Poetry's order: the environment, then the
    project's poetry.toml, then config.toml. None when it is set nowhere (Poetry's Factory then
    fills it in, in memory, with the URL of the source of the same name)."""
    import os

    environ = os.environ if environ is None else environ
    variable = poetry_variable("repositories", name, "url")
    if environ.get(variable):
        return RepositorySetting(environ[variable], variable)
    paths = [project_dir / "poetry.toml"] if project_dir is not None else []
    for path in [*paths, config_file()]:
        url = get_repository_url(name, path)
        if url is not None:
            return RepositorySetting(url, str(path))
    return None
