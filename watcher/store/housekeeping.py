"""The Store's housekeeping methods: pruning old history and events, and database statistics.

A mixin of :class:`~watcher.store.store.Store`, like the outbox methods; the rules of what
may go are in ``retention``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from watcher.store import retention, stats
from watcher.store.engine import reading
from watcher.store.guard import storage_errors
from watcher.store.retention import BATCH, PruneCounts


class HousekeepingMethods:
    _engine: Engine

    def _writing(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError

    def _describe(self, exc: SQLAlchemyError, *, connecting: bool = False) -> str:
        raise NotImplementedError

    @storage_errors
    def prunable(self, cutoff: datetime) -> PruneCounts:
        """What :meth:`prune` would delete now (``watcher db prune --dry-run``)."""
        with reading(self._engine) as connection:
            return retention.count(connection, cutoff)

    @storage_errors
    def prune(
        self,
        cutoff: datetime,
        *,
        batch: int = BATCH,
        should_stop: Callable[[], bool] | None = None,
        on_batch: Callable[[PruneCounts], None] | None = None,
    ) -> PruneCounts:
        """Delete the history rows and events older than ``cutoff`` that retention allows
        (``watcher.store.retention``), ``batch`` rows per transaction, events first.

        Between batches the write lock is released (a round's writes go in between) and
        ``should_stop`` is asked whether to give up (a daemon stopping): what was deleted
        stays deleted, the rest waits for the next run. On PostgreSQL a batch that finds
        another process pruning (its advisory lock held) ends this run. ``on_batch`` is told
        of each batch's counts.
        """
        if batch < 1:
            raise ValueError(f"batch must be at least 1, not {batch}")
        total = PruneCounts()
        for step in (retention.prune_events_batch, retention.prune_history_batch):
            while should_stop is None or not should_stop():
                with self._writing() as connection:
                    if not retention.try_lock(connection):
                        return total
                    done = step(connection, cutoff, batch)
                if done.batches == 0:
                    break
                total += done
                if on_batch is not None:
                    on_batch(done)
                if done.events + done.history < batch:
                    break
        return total

    @storage_errors
    def stats(self) -> stats.DatabaseStats:
        """Rows per table, the span of history and the size of the database."""
        with reading(self._engine) as connection:
            return stats.read(connection)
