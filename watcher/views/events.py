"""What ``watcher events`` and the deliveries part of ``watcher status`` show.

Built from the store's delivery records (``watcher.store.Delivery`` is one): the events, each
with its delivery to every channel that subscribes to it, and the counts per channel. The
error texts are kept exact here; the text renderer escapes them, JSON keeps them as stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeAlias, TypeVar

from watcher.core.events import Event
from watcher.views.check import event_document
from watcher.views.words import iso

# Every state a delivery can be in (``watcher.store.DeliveryState``), in the order shown.
PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
EXPIRED = "expired"
SUPERSEDED = "superseded"
DELIVERY_STATES = (PENDING, DELIVERED, FAILED, EXPIRED, SUPERSEDED)

# A person has to look at these: they will not be sent without `watcher events retry`.
FAILING_STATES = frozenset({FAILED, EXPIRED})
RETRYABLE_STATES = FAILING_STATES

State = TypeVar("State", bound=str)  # ``DeliveryState`` (a StrEnum), or plain text
Counts: TypeAlias = Mapping[str, Mapping[State, int]]  # channel -> state -> deliveries


class DeliveryRecord(Protocol):
    """What the views need of one delivery (``watcher.store.Delivery`` is one)."""

    @property
    def id(self) -> int: ...
    @property
    def event(self) -> Event: ...
    @property
    def channel(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def not_before(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def attempts(self) -> int: ...
    @property
    def next_attempt_at(self) -> datetime | None: ...
    @property
    def last_attempt_at(self) -> datetime | None: ...
    @property
    def last_error(self) -> str | None: ...
    @property
    def delivered_at(self) -> datetime | None: ...
    @property
    def note(self) -> str | None: ...


@dataclass(frozen=True)
class EventDeliveries:
    """One event and its deliveries, one per channel, by channel name."""

    event: Event
    deliveries: tuple[DeliveryRecord, ...]


def selected_states(*, pending: bool, failed: bool) -> frozenset[str] | None:
    """The states ``--pending`` / ``--failed`` ask for; None for every state."""
    states: set[str] = set()
    if pending:
        states.add(PENDING)
    if failed:
        states |= FAILING_STATES
    return frozenset(states) or None


def by_event(
    deliveries: Iterable[DeliveryRecord], *, limit: int | None = None
) -> list[EventDeliveries]:
    """The deliveries grouped by event, oldest event first (``limit``: the latest N events)."""
    groups: dict[str, list[DeliveryRecord]] = {}
    events: dict[str, Event] = {}
    for delivery in deliveries:
        events.setdefault(delivery.event.id, delivery.event)
        groups.setdefault(delivery.event.id, []).append(delivery)
    order = sorted(events.values(), key=lambda e: (e.created_at, e.ref, e.id))
    if limit is not None:
        order = order[-limit:] if limit else []
    return [
        EventDeliveries(event, tuple(sorted(groups[event.id], key=lambda d: (d.channel, d.id))))
        for event in order
    ]


def delivery_document(delivery: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "channel": delivery.channel,
        "state": str(delivery.state),
        "attempts": delivery.attempts,
        "not_before": iso(delivery.not_before),
        "next_attempt_at": iso(delivery.next_attempt_at),
        "last_attempt_at": iso(delivery.last_attempt_at),
        "last_error": delivery.last_error,
        "delivered_at": iso(delivery.delivered_at),
        "expires_at": iso(delivery.expires_at),
        "note": delivery.note,
    }


def events_document(groups: Sequence[EventDeliveries]) -> dict[str, Any]:
    """The documented ``watcher events --json`` (docs/cli.md)."""
    return {
        "events": [
            {
                "ref": group.event.ref,
                **event_document(group.event),
                "deliveries": [delivery_document(d) for d in group.deliveries],
            }
            for group in groups
        ]
    }


def until(when: datetime | None, now: datetime) -> str:
    """``now`` for a time passed, ``in 5m``, ``in 3h``, ``in 2d``; ``-`` for None."""
    if when is None:
        return "-"
    seconds = int((when - now).total_seconds())
    if seconds <= 0:
        return "now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"in {seconds // size}{unit}"
    return f"in {seconds}s"


def next_attempt(delivery: DeliveryRecord, now: datetime) -> str:
    """When a pending delivery goes out next (its soak window first); ``-`` for the others."""
    if str(delivery.state) != PENDING:
        return "-"
    due = delivery.next_attempt_at or delivery.not_before
    return until(max(due, delivery.not_before), now)


def delivery_note(delivery: DeliveryRecord) -> str | None:
    """The line shown below a delivery: its last error, or why it was superseded."""
    if delivery.last_error and str(delivery.state) != DELIVERED:
        return f"last error: {delivery.last_error}"
    if delivery.note:
        return f"note: {delivery.note}"
    return None


def plain_counts(counts: Counts[State]) -> dict[str, dict[str, int]]:
    """The store's counts per channel and state, with plain strings for the states."""
    return {
        channel: {str(state): int(n) for state, n in states.items()}
        for channel, states in counts.items()
    }


def counts_document(counts: Counts[State]) -> dict[str, dict[str, int]]:
    """``deliveries`` in ``watcher status --json``: every state counted, per channel."""
    plain = plain_counts(counts)
    return {
        channel: {state: plain[channel].get(state, 0) for state in DELIVERY_STATES}
        for channel in sorted(plain)
    }


def attention_lines(counts: Counts[State]) -> list[tuple[str, str]]:
    """``(channel, what is wrong)`` for each channel with undelivered or failing deliveries."""
    plain = plain_counts(counts)
    lines = []
    for channel in sorted(plain):
        states = plain[channel]
        parts = []
        if states.get(PENDING, 0):
            parts.append(f"{states[PENDING]} undelivered")
        for state in (FAILED, EXPIRED):
            if states.get(state, 0):
                parts.append(f"{states[state]} {state}")
        if parts:
            lines.append((channel, ", ".join(parts)))
    return lines


def has_failing(counts: Counts[State]) -> bool:
    return any(
        states.get(s, 0) for states in plain_counts(counts).values() for s in FAILING_STATES
    )
