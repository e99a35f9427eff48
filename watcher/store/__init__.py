"""Storage: watcher's state, history and events in SQLite or PostgreSQL (SQLAlchemy, Alembic).

Store          the API the check service and the CLI use
ImageStatus    an image and its pending events, for ``watcher status``
StoredEvent    a core Event as recorded, with when a user acknowledged it
EventState     pending until acknowledged
Delivery       one event for one channel in the outbox (DeliveryState, DeliveryAttempt,
               AttemptResult: what the delivery worker reports back)
"""

from __future__ import annotations

from watcher.store.listings import RegistryBudget, TagListing
from watcher.store.records import (
    AttemptOutcome,
    AttemptResult,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    EventState,
    ImageStatus,
    StoredEvent,
)
from watcher.store.store import Store

__all__ = [
    "AttemptOutcome",
    "AttemptResult",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryState",
    "EventState",
    "ImageStatus",
    "RegistryBudget",
    "Store",
    "StoredEvent",
    "TagListing",
]
