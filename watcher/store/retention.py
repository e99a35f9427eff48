"""Retention: which history rows and events are old enough to go, and deleting them in batches.

What is never pruned, whatever its age:

- the images themselves (their rows hold each image's current state);
- an event not acknowledged, or with a delivery not done (pending, failed, expired): it still
  has something to tell, or is the evidence that a notification never arrived;
- for each image, the newest history row of each kind (the baseline or last digest change
  behind its digest, the last new version, the start of a failure streak...): ``watcher
  history`` always explains an image's current state;
- a history row recorded with an event that is kept (same image, same time).

Done deliveries are ``delivered`` and ``superseded``. Rows are deleted in batches of
``BATCH``, each in its own short transaction, children first (attempts, deliveries, events),
so that a daemon's round never waits long for the write lock. The conditions only ever turn
from "kept" to "prunable" (an acknowledgement, a delivery done), never back, so a row found
prunable at the start of a batch is still prunable when it is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    delete,
    exists,
    func,
    not_,
    or_,
    select,
)

from watcher.store.schema import deliveries, delivery_attempts, events, history

BATCH = 500
DONE_STATES = ("delivered", "superseded")
# PostgreSQL advisory lock shared by replicas pruning one database ("watcher" + 2).
PRUNE_LOCK = 0x7761_7463_6865_7202


@dataclass(frozen=True)
class PruneCounts:
    """Rows pruned (or, for a dry run, that would be), and in how many transactions."""

    history: int = 0
    events: int = 0
    deliveries: int = 0
    attempts: int = 0
    batches: int = 0

    @property
    def total(self) -> int:
        return self.history + self.events + self.deliveries + self.attempts

    def __add__(self, other: PruneCounts) -> PruneCounts:
        return PruneCounts(self.history + other.history, self.events + other.events,
                           self.deliveries + other.deliveries, self.attempts + other.attempts,
                           self.batches + other.batches)


def _undone_delivery(event_id: Any) -> ColumnElement[bool]:
    return exists().where(deliveries.c.event_id == event_id).where(
        deliveries.c.state.not_in(DONE_STATES))


def prunable_events(cutoff: datetime) -> ColumnElement[bool]:
    """Events created before ``cutoff``, acknowledged, with every delivery done."""
    return and_(
        events.c.created_at < cutoff,
        events.c.acknowledged_at.is_not(None),
        not_(_undone_delivery(events.c.id)),
    )


def prunable_history(cutoff: datetime) -> ColumnElement[bool]:
    """History rows before ``cutoff`` that explain nothing still shown (module docstring)."""
    later = history.alias("later")
    newer_of_its_kind = (
        exists()
        .where(later.c.image_id == history.c.image_id)
        .where(later.c.kind == history.c.kind)
        .where(later.c.id > history.c.id)
    )
    kept_event = (
        exists()
        .where(events.c.image_id == history.c.image_id)
        .where(events.c.created_at == history.c.at)
        .where(or_(events.c.acknowledged_at.is_(None), _undone_delivery(events.c.id)))
    )
    return and_(history.c.at < cutoff, newer_of_its_kind, not_(kept_event))


def _event_ids(cutoff: datetime, limit: int | None = None) -> Select[Any]:
    query = select(events.c.id).where(prunable_events(cutoff)).order_by(events.c.created_at)
    return query if limit is None else query.limit(limit)


def _history_ids(cutoff: datetime, limit: int | None = None) -> Select[Any]:
    query = select(history.c.id).where(prunable_history(cutoff)).order_by(history.c.id)
    return query if limit is None else query.limit(limit)


def count(connection: Connection, cutoff: datetime) -> PruneCounts:
    """What :func:`prune_batch` would delete, all batches together (a dry run)."""
    chosen = _event_ids(cutoff).subquery()
    delivery_ids = select(deliveries.c.id).where(deliveries.c.event_id.in_(select(chosen.c.id)))
    return PruneCounts(
        history=_count(connection, _history_ids(cutoff).subquery()),
        events=_count(connection, chosen),
        deliveries=_count(connection, delivery_ids.subquery()),
        attempts=int(connection.scalar(
            select(func.count()).select_from(delivery_attempts)
            .where(delivery_attempts.c.delivery_id.in_(delivery_ids))) or 0),
        batches=0,
    )


def _count(connection: Connection, subquery: Any) -> int:
    return int(connection.scalar(select(func.count()).select_from(subquery)) or 0)


def try_lock(connection: Connection) -> bool:
    """On PostgreSQL, take the pruning lock for this transaction unless another process holds
    it (False: it is pruning already). Other databases: True (SQLite's write lock suffices)."""
    if connection.dialect.name != "postgresql":
        return True
    return bool(connection.scalar(select(func.pg_try_advisory_xact_lock(PRUNE_LOCK))))


def prune_events_batch(connection: Connection, cutoff: datetime, limit: int) -> PruneCounts:
    """Delete up to ``limit`` prunable events with their deliveries and attempts."""
    ids = list(connection.scalars(_event_ids(cutoff, limit)))
    if not ids:
        return PruneCounts()
    delivery_ids = select(deliveries.c.id).where(deliveries.c.event_id.in_(ids))
    attempts = connection.execute(
        delete(delivery_attempts).where(delivery_attempts.c.delivery_id.in_(delivery_ids)))
    sent = connection.execute(delete(deliveries).where(deliveries.c.event_id.in_(ids)))
    gone = connection.execute(delete(events).where(events.c.id.in_(ids)))
    return PruneCounts(events=gone.rowcount, deliveries=sent.rowcount,
                       attempts=attempts.rowcount, batches=1)


def prune_history_batch(connection: Connection, cutoff: datetime, limit: int) -> PruneCounts:
    """Delete up to ``limit`` prunable history rows."""
    ids = list(connection.scalars(_history_ids(cutoff, limit)))
    if not ids:
        return PruneCounts()
    gone = connection.execute(delete(history).where(history.c.id.in_(ids)))
    return PruneCounts(history=gone.rowcount, batches=1)


__all__ = ["BATCH", "DONE_STATES", "PRUNE_LOCK", "PruneCounts", "count", "prunable_events",
           "prunable_history", "prune_events_batch", "prune_history_batch", "try_lock"]
