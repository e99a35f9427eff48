"""Storage: watcher's state, history and events in SQLite or PostgreSQL (SQLAlchemy, Alembic).

Store          the API the check service and the CLI use
Recording      one check to record (``Store.record_many``: several in one transaction)
ImageStatus    an image and its pending events, for ``watcher status``
StoredEvent    a core Event as recorded, with when a user acknowledged it
EventState     pending until acknowledged
Link, Dependent  what uses an image: a source's link, and the stored dependent
PruneCounts    rows retention pruned (``Store.prune``); DatabaseStats for ``watcher db stats``
Delivery       one event for one channel in the outbox (DeliveryState, DeliveryAttempt,
               AttemptResult: what the delivery worker reports back)
Claim          an image leased to a shared replica; Heartbeat, ReplicaStatus, ImageSetSync,
               FleetCounts: the fleet of shared replicas (docs/scaling.md)
"""

from __future__ import annotations

from watcher.store.engine import mask as mask_url
from watcher.store.fleet import FleetCounts, Heartbeat, ImageSetSync, ReplicaStatus
from watcher.store.leases import Claim
from watcher.store.linking import Dependent, Link
from watcher.store.listings import RegistryBudget, TagListing
from watcher.store.recording import Recording
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
from watcher.store.retention import PruneCounts
from watcher.store.stats import DatabaseStats
from watcher.store.store import Store

__all__ = [
    "AttemptOutcome",
    "AttemptResult",
    "Claim",
    "DatabaseStats",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryState",
    "Dependent",
    "EventState",
    "FleetCounts",
    "Heartbeat",
    "ImageSetSync",
    "ImageStatus",
    "Link",
    "PruneCounts",
    "Recording",
    "RegistryBudget",
    "ReplicaStatus",
    "Store",
    "StoredEvent",
    "TagListing",
    "mask_url",
]
