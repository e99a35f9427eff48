"""What the store hands back beyond the core's own types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

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
