"""Configuration -> the sources to read: each ``[[sources.files]]`` as a :class:`FileSource`
(its defaults where the config gives none)."""

from __future__ import annotations

from watcher.config import Config, FilesSourceConfig
from watcher.sources.files import DEFAULT_EXCLUDE, DEFAULT_INCLUDE, FileSource


def file_source(entry: FilesSourceConfig) -> FileSource:
    return FileSource(entry.path, entry.include or DEFAULT_INCLUDE,
                      entry.exclude if entry.exclude is not None else DEFAULT_EXCLUDE,
                      dict(entry.build_args))


def file_sources(config: Config) -> list[FileSource]:
    """One scanner per configured directory, in the config's order."""
    return [file_source(entry) for entry in config.sources.files]
