"""What the store hands back beyond the core's own types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from watcher.core.changes import Event, ImageState


class EventState(StrEnum):
    """Whether a user has dealt with an event. Delivery by a notifier is not part of it:
    that is a fact per channel, recorded apart."""

    PENDING = "pending"  # recorded, not yet acknowledged
    ACKNOWLEDGED = "acknowledged"  # a user said it is dealt with (``watcher ack``)


@dataclass(frozen=True)
class StoredEvent(Event):
    """A core ``Event`` as recorded: pending until ``acknowledged_at`` is set."""

    acknowledged_at: datetime | None = None

    @property
    def state(self) -> EventState:
        return EventState.PENDING if self.acknowledged_at is None else EventState.ACKNOWLEDGED

    @property
    def event(self) -> Event:
        """The plain core event, without what the store adds."""
        return Event(self.id, self.ref, self.created_at, self.payload)


@dataclass(frozen=True)
class ImageStatus:
    """One tracked image for ``watcher status``: its state and what is still pending."""

    state: ImageState
    active: bool
    pending: tuple[StoredEvent, ...] = ()

    @property
    def ref(self) -> str:
        return self.state.ref


class DeliveryState(StrEnum):
    """Whether one channel has been told about one event."""

    PENDING = "pending"  # soaking, due, or waiting to retry
    DELIVERED = "delivered"
    FAILED = "failed"  # for good: the channel refused it (a 400, a bad address)
    EXPIRED = "expired"  # failed for the whole retry window
    SUPERSEDED = "superseded"  # replaced within the soak window; ``note`` says why


class AttemptOutcome(StrEnum):
    """What one attempt to send came to, as recorded."""

    DELIVERED = "delivered"
    RETRY = "retry"
    FAILED = "failed"
    EXPIRED = "expired"  # a retry that would fall past the retry window


@dataclass(frozen=True)
class Delivery:
    """One event for one channel. ``event`` carries the payload to send: the net change when
    the soak window superseded earlier ones."""

    id: int
    event: Event
    channel: str
    state: DeliveryState
    round_id: str
    not_before: datetime
    expires_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_error: str | None
    delivered_at: datetime | None
    note: str | None


@dataclass(frozen=True)
class DeliveryAttempt:
    """One try to send a delivery."""

    delivery_id: int
    at: datetime
    outcome: AttemptOutcome
    error: str | None


class AttemptResult(NamedTuple):
    """What the delivery worker reports for one delivery, for ``Store.record_attempts``.

    ``next_attempt_at`` matters for a retry: past the delivery's ``expires_at`` (or None) the
    delivery expires instead.
    """

    delivery_id: int
    at: datetime
    outcome: AttemptOutcome | str
    error: str | None = None
    next_attempt_at: datetime | None = None
