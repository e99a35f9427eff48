"""The Store's outbox methods: what is due, what was attempted, what a user re-queues.

A mixin of :class:`~watcher.store.store.Store` (each method one transaction, errors
translated like every Store method); the SQL is in ``outbox``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from watcher.store import outbox
from watcher.store.engine import reading
from watcher.store.guard import storage_errors
from watcher.store.parts import StoreParts
from watcher.store.records import AttemptResult, Delivery, DeliveryAttempt, DeliveryState
from watcher.store.schema import deliveries


class DeliveryMethods(StoreParts):
    @storage_errors
    def due_deliveries(
        self, now: datetime, *, limit: int = 500, channel: str | None = None
    ) -> list[Delivery]:
        """Pending deliveries whose soak window is over and whose next try is due, ordered by
        channel, round and id (so a round's deliveries for a channel are next to each other);
        with ``channel``, that channel's only."""
        with reading(self._engine) as connection:
            return outbox.due(connection, now, limit, channel)

    @storage_errors
    def next_delivery_at(self, channel: str | None = None) -> datetime | None:
        """When the earliest pending delivery (of ``channel``) becomes due; None when nothing
        is pending."""
        with reading(self._engine) as connection:
            return outbox.next_due(connection, channel)

    @storage_errors
    def record_attempts(self, results: Iterable[AttemptResult]) -> None:
        """Record each attempt and what it makes of its delivery, in ONE transaction.

        ``delivered`` and ``failed`` are final; a ``retry`` waits for its ``next_attempt_at``,
        or expires when that falls past the delivery's retry window.
        """
        with self._writing() as connection:
            outbox.record_attempts(connection, results)

    @storage_errors
    def deliveries(
        self,
        *,
        states: Iterable[DeliveryState | str] | None = None,
        channel: str | None = None,
        event_id: str | None = None,
        ref: str | None = None,
        limit: int | None = None,
    ) -> list[Delivery]:
        """Deliveries, oldest first; with ``limit``, the newest ``limit`` of them."""
        query = outbox.select_deliveries(states=states, channel=channel, event_id=event_id,
                                         ref=ref)
        if limit is None:
            query = query.order_by(deliveries.c.id)
        else:
            query = query.order_by(deliveries.c.id.desc()).limit(limit)
        with reading(self._engine) as connection:
            found = [outbox.delivery(row) for row in connection.execute(query)]
        return found if limit is None else found[::-1]

    @storage_errors
    def delivery_counts(self) -> dict[str, dict[DeliveryState, int]]:
        """Per channel, how many deliveries are in each state (states with none left out)."""
        with reading(self._engine) as connection:
            return outbox.counts(connection)

    @storage_errors
    def attempts(self, delivery_id: int) -> list[DeliveryAttempt]:
        """Every attempt to send one delivery, oldest first."""
        with reading(self._engine) as connection:
            return outbox.attempts(connection, delivery_id)

    @storage_errors
    def retry_delivery(self, delivery_id: int, now: datetime) -> Delivery:
        """Re-queue a failed or expired delivery: pending, due ``now``, with a fresh retry
        window as long as its first. ``DeliveryError`` for an unknown id or another state."""
        with self._writing() as connection:
            return outbox.retry(connection, delivery_id, now)


__all__ = ["DeliveryMethods"]
