"""From the configuration to an open store."""

from __future__ import annotations

from watcher.config import Config
from watcher.store import Store


def open_store(config: Config, *, upgrade: bool = True) -> Store:
    """Open the configured database, applying migrations unless told not to."""
    return Store.open(config.database, upgrade=upgrade)


__all__ = ["open_store"]
