"""What the store hands back beyond the core's own types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from watcher.core.changes import Event, ImageState


class DeliveryState(StrEnum):
    """Where an event is on its way to a user."""

    PENDING = "pending"  # recorded, not yet delivered nor acknowledged
    DELIVERED = "delivered"  # a notifier delivered it
    ACKNOWLEDGED = "acknowledged"  # a user said it is dealt with (``watcher ack``)


@dataclass(frozen=True)
class StoredEvent(Event):
    """A core ``Event`` as recorded, with its delivery state."""

    state: DeliveryState = DeliveryState.PENDING
    delivered_at: datetime | None = None
    acknowledged_at: datetime | None = None
    attempts: int = 0
    last_attempt_at: datetime | None = None
    last_error: str | None = None

    @property
    def event(self) -> Event:
        """The plain core event, without delivery bookkeeping."""
        return Event(self.id, self.kind, self.ref, self.created_at, self.data)


@dataclass(frozen=True)
class ImageStatus:
    """One tracked image for ``watcher status``: its state and what is still pending."""

    state: ImageState
    active: bool
    pending: tuple[StoredEvent, ...] = ()

    @property
    def ref(self) -> str:
        return self.state.ref
