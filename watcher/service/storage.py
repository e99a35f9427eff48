"""From the configuration to an open store."""

from __future__ import annotations

from watcher.config import Config
from watcher.logs import get_logger
from watcher.store import Store

log = get_logger("watcher.service")


def open_store(config: Config, *, upgrade: bool = True) -> Store:
    """Open the configured database, applying migrations unless told not to. The process
    that migrated says so (replicas starting together: one of them, the others found it
    done under the migration lock)."""
    if not upgrade:
        return Store.open(config.database, upgrade=False)
    store = Store.connect(config.database)
    try:
        before, after = store.upgrade()
    except BaseException:
        store.close()
        raise
    if before != after:
        log.info("database schema upgraded", from_revision=before, to_revision=after)
    return store


__all__ = ["open_store"]
