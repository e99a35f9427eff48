"""Storage: watcher's state, history and events in SQLite or PostgreSQL (SQLAlchemy, Alembic).

    Store          the API the check service and the CLI use
    open_existing  open a database that must already exist (never migrated or created)
    ImageStatus    an image and its pending events, for ``watcher status``
    StoredEvent    a core Event plus its delivery state
    DeliveryState  pending -> delivered -> acknowledged
"""

from __future__ import annotations

from watcher.store.existing import open_existing
from watcher.store.records import DeliveryState, ImageStatus, StoredEvent
from watcher.store.store import Store

__all__ = ["DeliveryState", "ImageStatus", "Store", "StoredEvent", "open_existing"]
