"""What ``watcher db stats`` reads: rows per table, the span of history, the size on disk."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, func, select, text

from watcher.store.schema import (
    deliveries,
    delivery_attempts,
    dependents,
    events,
    history,
    images,
    registry_budgets,
    tag_listings,
)

TABLES = (images, history, events, deliveries, delivery_attempts, tag_listings,
          registry_budgets, dependents)


@dataclass(frozen=True)
class DatabaseStats:
    """Sizes are in bytes; None where the database cannot tell."""

    backend: str
    rows: dict[str, int]
    pending_events: int
    active_images: int
    oldest_history: datetime | None
    newest_history: datetime | None
    size: int | None  # the whole database: SQLite's file (+ WAL), PostgreSQL's tables
    free: int | None = None  # SQLite: bytes of free pages, reused by later writes
    wal: int | None = None  # SQLite: the write-ahead log beside the file
    table_sizes: dict[str, int] = field(default_factory=dict)  # PostgreSQL only


def read(connection: Connection) -> DatabaseStats:
    rows = {table.name: int(connection.scalar(select(func.count()).select_from(table)) or 0)
            for table in TABLES}
    oldest, newest = connection.execute(select(func.min(history.c.at),
                                               func.max(history.c.at))).one()
    pending = connection.scalar(select(func.count()).select_from(events)
                                .where(events.c.acknowledged_at.is_(None)))
    active = connection.scalar(select(func.count()).select_from(images)
                               .where(images.c.active.is_(True)))
    backend = connection.dialect.name
    base = dict(backend=backend, rows=rows, pending_events=int(pending or 0),
                active_images=int(active or 0), oldest_history=oldest, newest_history=newest)
    if backend == "sqlite":
        page_size = int(connection.exec_driver_sql("PRAGMA page_size").scalar() or 0)
        free_pages = int(connection.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
        size = wal = None
        # The file SQLite itself has open, whatever the URL's form (a read-only URI).
        path = next((row[2] for row in connection.exec_driver_sql("PRAGMA database_list")
                     if row[1] == "main"), None)
        if path:
            size = _file_size(path)
            wal = _file_size(f"{path}-wal")
        if size is None:
            pages = int(connection.exec_driver_sql("PRAGMA page_count").scalar() or 0)
            size = pages * page_size
        return DatabaseStats(**base, size=size, free=free_pages * page_size, wal=wal)
    if backend == "postgresql":
        sizes = {table.name: int(connection.scalar(
            text("SELECT pg_total_relation_size(CAST(:name AS regclass))"),
            {"name": table.name}) or 0) for table in TABLES}
        return DatabaseStats(**base, size=sum(sizes.values()), table_sizes=sizes)
    return DatabaseStats(**base, size=None)


def _file_size(path: str) -> int | None:
    try:
        return os.path.getsize(path)
    except OSError:
        return None


__all__ = ["TABLES", "DatabaseStats", "read"]
