"""Writing one check's decision: the image row, its history rows and its new events.

Called inside a write transaction (``Store.record``, ``Store.record_many``, ``Store.apply``);
nothing here commits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Insert, bindparam, insert, select, update

from watcher.core.changes import CheckDecision, Event, ImageState
from watcher.core.delivery import Route
from watcher.store import codec, outbox
from watcher.store.schema import events, history, images

_LOCKED = codec.STATE.add_columns(images.c.id).with_for_update()
# An image's state by row id, for executemany: the SET columns come from the parameters.
_UPDATE_BY_ID = update(images).where(images.c.id == bindparam("image_id_"))
_CHUNK = 500  # refs per SELECT ... IN (...)


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


def record_batch(
    connection: Connection, items: Sequence[Recording], *, routes: Sequence[Route],
    round_id: str,
) -> list[CheckDecision | None]:
    """:func:`record_in` for each item, with fewer statements: the rows are locked with one
    SELECT per 500 (in ``ref`` order, so that two writers lock in the same order), and the
    decisions that only update the image's row (an unchanged check) are written with one
    executemany UPDATE. What is written is the same as :func:`record_in` would write."""
    refs = [item.ref for item in items]
    if len(set(refs)) != len(refs):  # one image twice: the second decides on the first
        return [record_in(connection, item, routes=routes, round_id=round_id)
                for item in items]
    rows = _lock(connection, refs)
    missing = sorted(ref for ref in refs if ref not in rows)
    if missing:
        connection.execute(insert_new_images(connection),
                           [codec.new_image(ImageState(ref=ref), now()) for ref in missing])
        rows.update(_lock(connection, missing))
    decisions: list[CheckDecision | None] = []
    updates: list[dict[str, Any]] = []
    for item in items:
        row = rows[item.ref]
        current = codec.image_state(row)
        decision = item.decide(current)
        decisions.append(decision)
        if decision is None:
            continue
        check_rows(decision)
        if decision.image.ref != item.ref:
            raise ValueError(f"decision for {decision.image.ref!r} recorded as {item.ref!r}")
        if (not decision.history and not decision.events
                and not outbox.soaking_routes(routes, item.soak)):
            updates.append({"image_id_": row[-1], **codec.state_values(decision.image)})
            continue
        image_id, written = write(connection, decision, (row[-1], current.changes))
        outbox.add(connection, image_id, decision, written, routes=routes, round_id=round_id,
                   soak=item.soak, now=item.now or now())
    if updates:
        connection.execute(_UPDATE_BY_ID, updates)
    return decisions


def _lock(connection: Connection, refs: Sequence[str]) -> dict[str, Any]:
    """The rows of ``refs`` that exist, locked, by ref."""
    ordered = sorted(refs)
    found: dict[str, Any] = {}
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start:start + _CHUNK]
        query = _LOCKED.where(images.c.ref.in_(chunk)).order_by(images.c.ref)
        found.update((row[0], row) for row in connection.execute(query))
    return found


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
