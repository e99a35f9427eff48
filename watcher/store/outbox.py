"""The outbox on a connection: delivery rows written beside their events, read, updated.

Called inside a transaction the Store opened; nothing here commits. The rules (which channel
gets what, the soak window's supersede) come from ``watcher.core.delivery``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, case, func, insert, or_, select, update

from watcher.core.changes import CheckDecision, HistoryKind
from watcher.core.delivery import (
    Route,
    SoakDecision,
    Soaking,
    effective_soak,
    routes_for,
    supersede_digest,
    supersede_versions,
)
from watcher.core.events import Event, EventKind, payload_data, payload_from_data
from watcher.errors import DeliveryError
from watcher.store.records import (
    AttemptOutcome,
    AttemptResult,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
)
from watcher.store.schema import deliveries, delivery_attempts, events, history, images

PENDING = DeliveryState.PENDING.value
SOAKED_KINDS = (EventKind.DIGEST_CHANGED, EventKind.NEW_VERSION)

# Columns in the order delivery() unpacks them.
DELIVERIES = (
    select(
        deliveries.c.id,
        deliveries.c.channel,
        deliveries.c.state,
        deliveries.c.round_id,
        deliveries.c.not_before,
        deliveries.c.expires_at,
        deliveries.c.attempts,
        deliveries.c.next_attempt_at,
        deliveries.c.last_attempt_at,
        deliveries.c.last_error,
        deliveries.c.delivered_at,
        deliveries.c.note,
        deliveries.c.data,
        events.c.id,
        events.c.kind,
        events.c.created_at,
        events.c.data,
        images.c.ref,
    )
    .join(events, events.c.id == deliveries.c.event_id)
    .join(images, images.c.id == events.c.image_id)
)


def delivery(row: Sequence[Any]) -> Delivery:
    (id_, channel, state, round_id, not_before, expires_at, attempts, next_at, last_at,
     last_error, delivered_at, note, data, event_id, kind, created_at, event_data, ref) = row
    payload = payload_from_data(kind, data if data is not None else event_data)
    return Delivery(
        id=id_,
        event=Event(event_id, ref, created_at, payload),
        channel=channel,
        state=DeliveryState(state),
        round_id=round_id,
        not_before=not_before,
        expires_at=expires_at,
        attempts=attempts,
        next_attempt_at=next_at,
        last_attempt_at=last_at,
        last_error=last_error,
        delivered_at=delivered_at,
        note=note,
    )


def add(
    connection: Connection,
    image_id: int,
    decision: CheckDecision,
    recorded: Sequence[Event],
    *,
    routes: Sequence[Route],
    round_id: str,
    soak: float,
    now: datetime,
) -> None:
    """One pending delivery per (newly recorded event, route that subscribes to it).

    A ``digest_changed`` or ``new_version`` event whose window is not over supersedes the
    deliveries of that channel and image still soaking (``core.delivery``); a newer version
    that disappeared again supersedes the soaking ones that announced it.
    """
    if not routes:
        return
    rows: list[dict[str, Any]] = []
    withheld: dict[str, tuple[Event, str | None, list[str]]] = {}
    versions_announced = {route.channel for event in recorded
                          if event.kind is EventKind.NEW_VERSION
                          for route in routes_for(event, routes)}
    for event in recorded:
        for route in routes_for(event, routes):
            window = effective_soak(route, soak, 0.0)
            not_before = event.created_at + timedelta(seconds=window)
            row: dict[str, Any] = {
                "event_id": event.id,
                "channel": route.channel,
                "state": PENDING,
                "round_id": round_id,
                "not_before": not_before,
                "expires_at": not_before + timedelta(seconds=route.retry_for),
                "attempts": 0,
            }
            if window > 0 and event.kind in SOAKED_KINDS:
                soaking = _soaking(connection, image_id, route.channel, event.kind, now)
                if event.kind is EventKind.DIGEST_CHANGED:
                    outcome = supersede_digest(soaking, event)
                else:
                    outcome = supersede_versions(soaking, event, _offered(decision))
                _supersede(connection, outcome)
                if outcome.deliver is None:
                    row.update(state=DeliveryState.SUPERSEDED.value, note=outcome.note)
                    withheld.setdefault(event.id, (event, outcome.note, []))[2].append(
                        route.channel
                    )
                elif outcome.deliver != event:
                    row["data"] = payload_data(outcome.deliver.payload)
            rows.append(row)
    for route in routes:
        if route.channel in versions_announced or effective_soak(route, soak, 0.0) <= 0:
            continue
        soaking = _soaking(connection, image_id, route.channel, EventKind.NEW_VERSION, now)
        if soaking:
            _supersede(connection, supersede_versions(soaking, None, _offered(decision)))
    if rows:
        connection.execute(insert(deliveries), rows)
    if withheld:  # the image's history says why nothing was sent
        connection.execute(insert(history), [
            {"image_id": image_id, "at": event.created_at,
             "kind": HistoryKind.NOTICE_WITHHELD.value,
             "data": {"event_id": event.id, "channels": channels, "reason": note}}
            for event, note, channels in withheld.values()
        ])


def soaking_routes(routes: Sequence[Route], soak: float) -> bool:
    """Whether :func:`add` may change deliveries for a decision without events: some route
    soaks (a newer version gone again supersedes the soaking deliveries announcing it)."""
    return any(effective_soak(route, soak, 0.0) > 0 for route in routes)


def _offered(decision: CheckDecision) -> tuple[str | None, str | None]:
    newer = decision.image.newer
    return newer.same_line, newer.newest


def _soaking(
    connection: Connection, image_id: int, channel: str, kind: EventKind, now: datetime
) -> list[Soaking]:
    query = (
        DELIVERIES.where(events.c.image_id == image_id)
        .where(deliveries.c.channel == channel)
        .where(events.c.kind == kind.value)
        .where(deliveries.c.state == PENDING)
        .where(deliveries.c.attempts == 0)
        .where(deliveries.c.not_before > now)
        .order_by(deliveries.c.id)
    )
    return [Soaking(found.id, found.event)
            for found in (delivery(row) for row in connection.execute(query))]


def _supersede(connection: Connection, outcome: SoakDecision) -> None:
    if outcome.superseded:
        connection.execute(
            update(deliveries)
            .where(deliveries.c.id.in_(outcome.superseded))
            .values(state=DeliveryState.SUPERSEDED.value, note=outcome.note)
        )


def due(connection: Connection, now: datetime, limit: int,
        channel: str | None = None) -> list[Delivery]:
    query = (
        DELIVERIES.where(deliveries.c.state == PENDING)
        .where(deliveries.c.not_before <= now)
        .where(or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now))
        .order_by(deliveries.c.channel, deliveries.c.round_id, deliveries.c.id)
        .limit(limit)
    )
    if channel is not None:
        query = query.where(deliveries.c.channel == channel)
    return [delivery(row) for row in connection.execute(query)]


def next_due(connection: Connection, channel: str | None = None) -> datetime | None:
    """When the earliest pending delivery becomes due (None: nothing pending); one a shared
    replica holds is due for the others when its lease expires."""
    due = func.coalesce(deliveries.c.next_attempt_at, deliveries.c.not_before)
    due_at = case((deliveries.c.lease_expires_at > due, deliveries.c.lease_expires_at),
                  else_=due)
    query = select(func.min(due_at)).where(deliveries.c.state == PENDING)
    if channel is not None:
        query = query.where(deliveries.c.channel == channel)
    found = connection.execute(query).scalar()
    if found is None or isinstance(found, datetime):
        return _utc(found)
    return _utc(datetime.fromisoformat(str(found)))  # a dialect that returns text


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def record_attempts(connection: Connection, results: Iterable[AttemptResult]) -> None:
    """Each attempt, and what it makes of its delivery. A delivery no longer pending (a user
    re-queued or it was delivered meanwhile) keeps its state; the attempt is recorded."""
    results = list(results)
    if not results:
        return
    ids = sorted({r.delivery_id for r in results})
    current = {
        row.id: row
        for row in connection.execute(
            select(deliveries.c.id, deliveries.c.state, deliveries.c.expires_at)
            .where(deliveries.c.id.in_(ids))
            .with_for_update()
        )
    }
    attempt_rows: list[dict[str, Any]] = []
    for result in results:
        row = current.get(result.delivery_id)
        if row is None:
            raise DeliveryError(f"delivery {result.delivery_id} does not exist")
        outcome = AttemptOutcome(result.outcome)
        values: dict[str, Any] = {
            "attempts": deliveries.c.attempts + 1,
            "last_attempt_at": result.at,
        }
        if outcome is AttemptOutcome.DELIVERED:
            values.update(state=DeliveryState.DELIVERED.value, delivered_at=result.at,
                          next_attempt_at=None)
        elif outcome is AttemptOutcome.FAILED:
            values.update(state=DeliveryState.FAILED.value, last_error=result.error,
                          next_attempt_at=None)
        elif outcome is AttemptOutcome.EXPIRED or (
            result.next_attempt_at is None or result.next_attempt_at > row.expires_at
        ):
            outcome = AttemptOutcome.EXPIRED
            values.update(state=DeliveryState.EXPIRED.value, last_error=result.error,
                          next_attempt_at=None)
        else:
            values.update(last_error=result.error, next_attempt_at=result.next_attempt_at)
        if row.state == PENDING:
            connection.execute(
                update(deliveries).where(deliveries.c.id == result.delivery_id).values(values)
            )
        attempt_rows.append({"delivery_id": result.delivery_id, "at": result.at,
                             "outcome": outcome.value, "error": result.error})
    connection.execute(insert(delivery_attempts), attempt_rows)


def select_deliveries(
    *,
    states: Iterable[DeliveryState | str] | None,
    channel: str | None,
    event_id: str | None,
    ref: str | None,
) -> Select[Any]:
    query = DELIVERIES
    if states is not None:
        query = query.where(deliveries.c.state.in_([DeliveryState(s).value for s in states]))
    if channel is not None:
        query = query.where(deliveries.c.channel == channel)
    if event_id is not None:
        query = query.where(deliveries.c.event_id == event_id)
    if ref is not None:
        query = query.where(images.c.ref == ref)
    return query


def counts(connection: Connection) -> dict[str, dict[DeliveryState, int]]:
    rows = connection.execute(
        select(deliveries.c.channel, deliveries.c.state, func.count())
        .group_by(deliveries.c.channel, deliveries.c.state)
        .order_by(deliveries.c.channel)
    )
    found: dict[str, dict[DeliveryState, int]] = {}
    for channel, state, number in rows:
        found.setdefault(channel, {})[DeliveryState(state)] = int(number)
    return found


def attempts(connection: Connection, delivery_id: int) -> list[DeliveryAttempt]:
    rows = connection.execute(
        select(delivery_attempts.c.delivery_id, delivery_attempts.c.at,
               delivery_attempts.c.outcome, delivery_attempts.c.error)
        .where(delivery_attempts.c.delivery_id == delivery_id)
        .order_by(delivery_attempts.c.at, delivery_attempts.c.id)
    )
    return [DeliveryAttempt(r[0], r[1], AttemptOutcome(r[2]), r[3]) for r in rows]


def retry(connection: Connection, delivery_id: int, now: datetime) -> Delivery:
    """A failed or expired delivery pending again, due now, with a fresh retry window."""
    row = connection.execute(
        DELIVERIES.where(deliveries.c.id == delivery_id).with_for_update(of=deliveries)
    ).first()
    if row is None:
        raise DeliveryError(f"delivery {delivery_id} does not exist (see `watcher events`)")
    found = delivery(row)
    if found.state not in (DeliveryState.FAILED, DeliveryState.EXPIRED):
        raise DeliveryError(
            f"delivery {delivery_id} ({found.event.id} to {found.channel}) is "
            f"{found.state.value}: only a failed or expired delivery can be retried"
        )
    window = max(found.expires_at - found.not_before, timedelta(0))
    connection.execute(
        update(deliveries)
        .where(deliveries.c.id == delivery_id)
        .values(state=PENDING, next_attempt_at=None, not_before=min(found.not_before, now),
                expires_at=now + window)
    )
    again = connection.execute(DELIVERIES.where(deliveries.c.id == delivery_id)).one()
    return delivery(again)
