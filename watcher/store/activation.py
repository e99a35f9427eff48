"""Which images are active: the image list written into the database (``Store.sync_images``,
and the versioned image set of shared replicas), on a connection inside a transaction."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import Connection, insert, select, update

from watcher.core.changes import ImageState
from watcher.store import codec
from watcher.store.schema import images

# Keeps IN (...) lists well below every database's limit on bound parameters.
_CHUNK = 500
# PostgreSQL advisory lock (a fixed key, "watcher" + 1) that writers of the image list share.
SYNC_IMAGES_LOCK = 0x7761_7463_6865_7201


def sync_active(connection: Connection, wanted: set[str], now: datetime) -> None:
    """Make exactly ``wanted`` the active images; others become inactive, history kept. The
    caller holds ``SYNC_IMAGES_LOCK``: only this changes ``active``, so what it reads stays
    true until it commits."""
    rows = connection.execute(select(images.c.ref, images.c.active))
    stored = {ref: active for ref, active in rows}
    _upsert_images(connection, sorted(r for r in wanted if not stored.get(r)), now)
    gone = sorted(ref for ref, active in stored.items() if active and ref not in wanted)
    for chunk in chunks(gone):
        connection.execute(update(images).where(images.c.ref.in_(chunk)).values(active=False))


def _upsert_images(connection: Connection, refs: Sequence[str], now: datetime) -> None:
    """Insert ``refs`` as active images; one already there is made active again.

    On PostgreSQL and SQLite one INSERT ... ON CONFLICT: a row already active is left as it
    is, and a ref another transaction (``Store.record``) is inserting meanwhile waits for
    it, then counts as already there (no unique violation).
    """
    if not refs:
        return
    from sqlalchemy.dialects import postgresql, sqlite  # only writers need them: lazily

    name = connection.dialect.name
    if name in ("postgresql", "sqlite"):
        upsert = postgresql.insert(images) if name == "postgresql" else sqlite.insert(images)
        connection.execute(
            upsert.on_conflict_do_update(
                index_elements=[images.c.ref],
                set_={"active": True},
                where=images.c.active.is_(False),
            ),
            [codec.new_image(ImageState(ref=ref), now) for ref in refs],
        )
        return
    # Another database (untested): no portable upsert.
    known: set[str] = set()
    for chunk in chunks(refs):
        known.update(connection.scalars(select(images.c.ref).where(images.c.ref.in_(chunk))))
        connection.execute(update(images).where(images.c.ref.in_(chunk)).values(active=True))
    new = [codec.new_image(ImageState(ref=ref), now) for ref in refs if ref not in known]
    if new:
        connection.execute(insert(images), new)


def chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
