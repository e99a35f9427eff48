"""Writing one check's decision: the image row, its history rows and its new events.

Called inside a write transaction (``Store.record``, ``Store.record_many``, ``Store.apply``);
nothing here commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Insert, insert, select, update

from watcher.core.changes import CheckDecision, Event, ImageState
from watcher.core.delivery import Route
from watcher.store import codec, outbox
from watcher.store.schema import events, history, images

_LOCKED = codec.STATE.add_columns(images.c.id).with_for_update()


@dataclass(frozen=True)
class Recording:
    """One check to record: ``decide`` gets the image's state as stored (an empty one for
    an image never stored) and returns the decision, or None to record nothing. ``soak`` is
    the image's soak window in seconds; ``now`` the check's time."""

    ref: str
    decide: Callable[[ImageState], CheckDecision | None]
    soak: float = 0.0
    now: datetime | None = None


def now() -> datetime:
    return datetime.now(UTC)


def record_in(
    connection: Connection, item: Recording, *, routes: Sequence[Route], round_id: str
) -> CheckDecision | None:
    """Lock the image's row (creating it first if needed), decide against it, write the
    decision and its deliveries; see ``Store.record``."""
    ref = item.ref
    locked = _LOCKED.where(images.c.ref == ref)
    row = connection.execute(locked).first()
    if row is None:
        new = codec.new_image(ImageState(ref=ref), now())
        connection.execute(insert_new_images(connection), [new])
        row = connection.execute(locked).one()
    current = codec.image_state(row)
    decision = item.decide(current)
    if decision is None:
        return None
    check_rows(decision)
    if decision.image.ref != ref:
        raise ValueError(f"decision for {decision.image.ref!r} recorded as {ref!r}")
    image_id, written = write(connection, decision, (row[-1], current.changes))
    outbox.add(connection, image_id, decision, written, routes=routes, round_id=round_id,
               soak=item.soak, now=item.now or now())
    return decision


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
    from sqlalchemy.dialects import postgresql, sqlite

    name = connection.dialect.name
    if name == "postgresql":
        return postgresql.insert(images).on_conflict_do_nothing(index_elements=["ref"])
    if name == "sqlite":
        return sqlite.insert(images).on_conflict_do_nothing(index_elements=["ref"])
    return insert(images)
