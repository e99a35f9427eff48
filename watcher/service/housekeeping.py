"""Retention as the daemon and ``watcher db prune`` run it: from ``[watcher] keep_history`` to
a cutoff, then the store's batched prune, logged."""

from __future__ import annotations

import threading
from datetime import datetime

from watcher.config import Config
from watcher.core.retention import cutoff
from watcher.logs import get_logger
from watcher.store import PruneCounts, Store

log = get_logger("watcher.retention")

# How often ``watcher run`` prunes, and how long after start-up it first does (so that it
# does not compete with the first round for the write lock).
PRUNE_INTERVAL = 3600.0
FIRST_PRUNE_DELAY = 300.0


def prune(
    store: Store,
    config: Config,
    *,
    now: datetime | None = None,
    stop: threading.Event | None = None,
) -> PruneCounts:
    """Prune what ``config.keep_history`` allows; blocking, call it in a thread. ``stop``
    set ends the run between two batches."""
    before = cutoff(config.keep_history, now)
    if before is None:
        return PruneCounts()
    counts = store.prune(before, should_stop=None if stop is None else stop.is_set)
    if counts.total:
        log.info("history pruned", older_than=before.isoformat(), history=counts.history,
                 events=counts.events, deliveries=counts.deliveries, attempts=counts.attempts,
                 batches=counts.batches)
    else:
        log.debug("nothing to prune", older_than=before.isoformat())
    return counts


__all__ = ["FIRST_PRUNE_DELAY", "PRUNE_INTERVAL", "cutoff", "prune"]
