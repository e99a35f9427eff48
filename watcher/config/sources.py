"""``[sources]``: where watcher finds images besides ``[[images]]``.

``sources`` is a table; each kind of source is an array of tables under it, so kinds sit
side by side (``[[sources.engine]]``, read in :mod:`watcher.config.engines`; other kinds
are parsed beside it, each by its own function). Every error names the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from watcher.config.engines import EngineSourceConfig, parse_engine_sources
from watcher.config.reader import Reader

SOURCES_KEYS = ("engine",)


@dataclass(frozen=True)
class SourcesConfig:
    engines: tuple[EngineSourceConfig, ...] = ()


def parse_sources(reader: Reader, raw: Mapping[str, Any], path: Path | None) -> SourcesConfig:
    """The ``[sources]`` table (absent: no sources)."""
    section = reader.table(raw, "sources")
    reader.keys(section, "sources", SOURCES_KEYS)
    return SourcesConfig(engines=parse_engine_sources(reader, section, path))
