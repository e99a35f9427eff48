"""``[sources]``: where watcher finds images besides ``[[images]]``, and what is built on them.

``sources`` is a table; each kind of source is an array of tables under it, so kinds sit
side by side (``[[sources.files]]`` here, ``[[sources.engine]]`` in
:mod:`watcher.config.engines`). Every error names the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watcher.config.engines import EngineSourceConfig, parse_engine_sources
from watcher.config.paths import relative_to_config
from watcher.config.reader import Reader
from watcher.core.globs import GlobError, Globs

SOURCES_KEYS = ("files", "engine")
FILES_KEYS = ("name", "path", "include", "exclude", "build_args")
MAX_NAME = 200
MAX_BUILD_ARGS = 1000


@dataclass(frozen=True)
class FilesSourceConfig:
    """One ``[[sources.files]]`` entry. ``include``/``exclude`` are None when not given
    (the scanner's defaults apply)."""

    path: Path
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    name: str = ""  # how links, notices and ``watcher status`` call it: the path when not given

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", str(self.path))


@dataclass(frozen=True)
class SourcesConfig:
    files: tuple[FilesSourceConfig, ...] = ()
    engines: tuple[EngineSourceConfig, ...] = ()


def parse_sources(reader: Reader, raw: Mapping[str, Any], path: Path | None) -> SourcesConfig:
    """The ``[sources]`` table (absent: no sources)."""
    section = reader.table(raw, "sources")
    reader.keys(section, "sources", SOURCES_KEYS)
    files = tuple(
        parse_files_source(reader, item, f"sources.files[{i}]", path)
        for i, item in enumerate(reader.array_of_tables(section, "sources.files"))
    )
    reader.unique([str(f.path) for f in files], "sources.files", "path")
    reader.unique([f.name for f in files], "sources.files", "name")
    return SourcesConfig(files=files, engines=parse_engine_sources(reader, section, path))


def parse_files_source(
    reader: Reader, table: Mapping[str, Any], where: str, config_path: Path | None
) -> FilesSourceConfig:
    """One ``[[sources.files]]``: ``name`` (optional), ``path`` (relative to the config
    file), ``include``, ``exclude`` (globs) and ``build_args`` (a table of strings)."""
    reader.keys(table, where, FILES_KEYS)
    name = reader.string(table, f"{where}.name")
    if name is not None and (not name.strip() or len(name) > MAX_NAME or not name.isprintable()):
        raise reader.error(f"{where}.name", f"must be 1 to {MAX_NAME} printable characters "
                           "(or left out: the path names the source)")
    text = reader.string(table, f"{where}.path")
    if text is None or not text.strip():
        raise reader.error(f"{where}.path", "is required: the directory to read")
    directory = relative_to_config(config_path, Path(text).expanduser())
    include = _globs(reader, table, f"{where}.include")
    exclude = _globs(reader, table, f"{where}.exclude")
    args_key = f"{where}.build_args"
    build_args = reader.table(table, args_key)
    if len(build_args) > MAX_BUILD_ARGS:
        raise reader.error(args_key, f"at most {MAX_BUILD_ARGS} build arguments")
    for name, value in build_args.items():
        if not isinstance(value, str):
            raise reader.error(f"{args_key}.{name}",
                               "must be a string (the value --build-arg would give)")
        if not name or not (name[0].isalpha() or name[0] == "_") or not all(
                c.isalnum() or c == "_" for c in name) or not name.isascii():
            raise reader.error(f"{args_key}.{name}", "is not an ARG name (letters, digits, _)")
    return FilesSourceConfig(directory, include, exclude, dict(build_args), name or "")


def _globs(reader: Reader, table: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    patterns = reader.string_list(table, key)
    if patterns is None:
        return None
    try:
        Globs(patterns)
    except GlobError as exc:
        raise reader.error(key, str(exc)) from None
    return tuple(patterns)
