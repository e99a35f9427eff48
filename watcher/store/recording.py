"""Writing one check's decision: the image row, its history rows and its new events.

Called inside a write transaction that already holds the image's row (``Store.record``,
``Store.apply``); nothing here commits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Insert, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from watcher.core.changes import CheckDecision, Event
from watcher.store import codec
from watcher.store.schema import events, history, images


def now() -> datetime:
    return datetime.now(UTC)


def check_rows(decision: CheckDecision) -> None:
    """Refuse a decision carrying history or events of another image."""
    state = decision.image
    strays = {e.ref for e in decision.history} | {e.ref for e in decision.events}
    strays.discard(state.ref)
    if strays:
        raise ValueError(f"decision for {state.ref!r} has rows of {sorted(strays)}")


def write(
    connection: Connection, decision: CheckDecision, existing: tuple[int, int] | None
) -> tuple[int, list[Event]]:
    """Write ``decision`` for the image row ``existing`` (id, stored change counter).

    Returns the image's row id and the events written now (not those already stored).
    """
    state = decision.image
    if existing is None:
        result = connection.execute(insert(images).values(codec.new_image(state, now())))
        assert result.inserted_primary_key is not None
        image_id = int(result.inserted_primary_key[0])
        recorded = False
    else:
        image_id, stored_changes = existing
        connection.execute(
            update(images).where(images.c.id == image_id).values(codec.state_values(state))
        )
        recorded = stored_changes >= state.changes
    if decision.history and not recorded:
        connection.execute(
            insert(history),
            [
                {"image_id": image_id, "at": e.at, "kind": e.kind.value, "data": dict(e.data)}
                for e in decision.history
            ],
        )
    written: list[Event] = []
    if decision.events:
        ids = [event.id for event in decision.events]
        stored = set(connection.scalars(select(events.c.id).where(events.c.id.in_(ids))))
        rows: list[dict[str, Any]] = []
        for event in decision.events:
            if event.id in stored:
                continue
            stored.add(event.id)
            written.append(event)
            rows.append(codec.event_values(event, image_id))
        if rows:
            connection.execute(insert(events), rows)
    return image_id, written


def insert_new_images(connection: Connection) -> Insert:
    """INSERT into images that skips a ref another transaction inserted meanwhile.

    On PostgreSQL the insert waits for that transaction and then does nothing; the row it
    committed is used instead of failing on the unique ``ref``.
    """
    name = connection.dialect.name
    if name == "postgresql":
        return postgresql.insert(images).on_conflict_do_nothing(index_elements=["ref"])
    if name == "sqlite":
        return sqlite.insert(images).on_conflict_do_nothing(index_elements=["ref"])
    return insert(images)
