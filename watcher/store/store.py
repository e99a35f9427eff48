"""The Store: watcher's state, history and events in a SQL database.

Every public method is one transaction. Writes go through ``engine.writing`` (BEGIN
IMMEDIATE on SQLite), reads through ``engine.reading``; SQLAlchemy errors are translated to
``StorageError`` here, at the boundary, with the URL's password masked.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType

from sqlalchemy import Connection, Engine, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from watcher.core.changes import (
    CheckDecision,
    HistoryEntry,
    HistoryKind,
    ImageState,
)
from watcher.core.delivery import Route
from watcher.errors import StorageError
from watcher.store import activation, codec, existing, migrate, recording
from watcher.store.activation import SYNC_IMAGES_LOCK
from watcher.store.delivering import DeliveryMethods
from watcher.store.engine import advisory_lock, create, mask, reading, writing
from watcher.store.fleet import FleetMethods
from watcher.store.guard import storage_errors as _storage_errors
from watcher.store.housekeeping import HousekeepingMethods
from watcher.store.leases import LeaseMethods
from watcher.store.linking import LinkingMethods
from watcher.store.listings import ListingMethods
from watcher.store.recording import Recording
from watcher.store.records import EventState, ImageStatus, StoredEvent
from watcher.store.schema import events, history, images

# Keeps IN (...) lists well below every database's limit on bound parameters.
_CHUNK = 500


class Store(DeliveryMethods, ListingMethods, HousekeepingMethods, LinkingMethods, LeaseMethods,
            FleetMethods):
    """watcher's database. Open with ``Store.open(url)``; close with ``close()``.

    Thread-safe: the engine pools connections, and writes from one process are serialised
    so that they queue here instead of contending for SQLite's lock.
    """

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self._url = mask(url)
        self._write_lock = threading.Lock()

    # -- opening, migrations ----------------------------------------------------------------

    @classmethod
    def connect(cls, url: str) -> Store:
        """Open ``url`` without looking at its schema (for ``watcher db`` commands)."""
        store = cls(create(url), url)
        try:
            store._ping()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open(cls, url: str, upgrade: bool = True) -> Store:
        """Open the database at ``url``.

        With ``upgrade`` the schema is migrated to this watcher's head revision. Without, it
        must already be there: ``DatabaseTooNew`` when a newer watcher migrated it,
        ``StorageError`` (run ``watcher db upgrade``) when it is behind.
        """
        store = cls.connect(url)
        try:
            if upgrade:
                store.upgrade()
            else:
                migrate.check_current(store.current_revision())
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open_existing(cls, url: str, *, read_only: bool = False) -> Store:
        """Open a database that already exists: never migrates, never creates a SQLite file.

        With ``read_only`` a SQLite file is opened read-only, so ``status`` and ``history``
        work on a file or directory the user may only read (a read-only mount, another
        user's database). SQLite then needs the ``-wal``/``-shm`` files beside the database
        when they cannot be created; without them, in a directory nobody can write to,
        nothing can be writing either, and the file is read as immutable.
        """
        return existing.open_existing(
            url, read_only=read_only, open_url=lambda target: cls.open(target, upgrade=False)
        )

    @staticmethod
    def head_revision() -> str:
        """The newest schema revision this watcher knows."""
        return migrate.head_revision()

    @staticmethod
    def revisions() -> list[str]:
        """Every schema revision this watcher knows, oldest first."""
        return migrate.revisions()

    @_storage_errors
    def current_revision(self) -> str | None:
        """The database's schema revision; None when it was never migrated."""
        with reading(self._engine) as connection:
            return migrate.current_revision(connection)

    @_storage_errors
    def upgrade(self) -> tuple[str | None, str | None]:
        """Migrate the schema to the head revision, in one transaction; returns the revisions
        (before, after) as this process found them under the migration lock."""
        with self._write_lock:
            return migrate.upgrade(self._engine)

    def ping(self) -> None:
        """Raise :class:`StorageError` when the database does not answer."""
        self._ping()

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def url(self) -> str:
        """The database URL, password masked: safe to print."""
        return self._url

    def __repr__(self) -> str:
        return f"Store({self._url!r})"

    # -- tracked images ---------------------------------------------------------------------

    @_storage_errors
    def sync_images(self, refs: Iterable[str]) -> None:
        """Make exactly ``refs`` the active images; others become inactive, history kept.

        The images not yet active are upserted (inserted, or made active again) in ``ref``
        order, then those no longer listed become inactive. Several processes may sync one
        database at once (replicas starting together, a ``watcher check`` beside the daemon):
        on PostgreSQL they take turns on an advisory lock, so that lists that differ (a
        replica still on the old config) cannot deadlock; on SQLite the write lock does it.
        """
        with self._writing() as connection:
            advisory_lock(connection, SYNC_IMAGES_LOCK)
            activation.sync_active(connection, set(refs), _now())

    @_storage_errors
    def load_state(self, ref: str) -> ImageState | None:
        """The stored state of ``ref`` (active or not); None when it was never stored."""
        with reading(self._engine) as connection:
            row = connection.execute(codec.STATE.where(images.c.ref == ref)).first()
        return None if row is None else codec.image_state(row)

    @_storage_errors
    def load_states(
        self, refs: Iterable[str] | None = None, *, include_inactive: bool = False
    ) -> dict[str, ImageState]:
        """States of the active images among ``refs`` (all active images when None).

        ``include_inactive`` adds the images no longer configured, as checking one by name does.
        """
        query = codec.STATE
        if not include_inactive:
            query = query.where(images.c.active.is_(True))
        with reading(self._engine) as connection:
            if refs is None:
                rows = list(connection.execute(query))
            else:
                rows = []
                for chunk in _chunks(list(dict.fromkeys(refs))):
                    rows.extend(connection.execute(query.where(images.c.ref.in_(chunk))))
        return {row[0]: codec.image_state(row) for row in rows}

    # -- recording a check ------------------------------------------------------------------

    @_storage_errors
    def apply(self, decision: CheckDecision) -> None:
        """Record one check in ONE transaction: state, history rows, pending events.

        An unchanged check only updates the image's row. An event whose id is already stored
        is skipped, and history is appended only when the decision moves the image's change
        counter forward: a decision applied twice (a retry after a commit whose outcome was
        unknown) records everything once. It does not look at what the row holds now: a
        check that may run beside another writer records with :meth:`record`.
        """
        recording.check_rows(decision)
        with self._writing() as connection:
            row = connection.execute(
                select(images.c.id, images.c.changes)
                .where(images.c.ref == decision.image.ref)
                .with_for_update()
            ).first()
            recording.write(connection, decision, None if row is None else (row.id, row.changes))

    @_storage_errors
    def record(
        self,
        ref: str,
        decide: Callable[[ImageState], CheckDecision | None],
        *,
        routes: Sequence[Route] = (),
        round_id: str | None = None,
        soak: float = 0.0,
        now: datetime | None = None,
    ) -> CheckDecision | None:
        """Decide against the image's state as stored now, and record it, in ONE transaction.

        The row is locked first (``SELECT ... FOR UPDATE``; on SQLite the write transaction
        holds the database's write lock), so no other writer can change the state between
        ``decide`` reading it and its decision being written: two writers checking one image
        at once each decide against what the other recorded, never against a stale copy.
        ``decide`` gets an empty ``ImageState`` for an image never stored (its row is created
        first, so two writers adding one image at once also queue on its lock); it returns
        None to record nothing.

        With ``routes`` (the configured channels' subscriptions) each event recorded now also
        gets one delivery row per route that subscribes to it, in the same transaction, tagged
        with ``round_id`` (the deliveries of one round go out together). ``soak`` is the image's
        soak window in seconds (a route's own wins); at ``now`` (the check's time) a change still
        inside its window supersedes the ones before it (``core.delivery``).
        """
        with self._writing() as connection:
            return recording.record_in(
                connection, Recording(ref, decide, soak=soak, now=now or _now()),
                routes=routes, round_id=round_id or uuid.uuid4().hex)

    @_storage_errors
    def record_many(
        self,
        recordings: Sequence[Recording],
        *,
        routes: Sequence[Route] = (),
        round_id: str | None = None,
    ) -> list[CheckDecision | None]:
        """:meth:`record` for several images in ONE transaction (group commit), in order.

        One commit per batch instead of one per image: a round of unchanged checks spends
        most of its database time beginning and committing. It stays all or nothing: a crash
        loses the batch in flight, never part of an image's change, and each event is
        committed with its deliveries. Each image is locked and decided as in :meth:`record`.
        """
        if not recordings:
            return []
        with self._writing() as connection:
            return recording.record_batch(connection, recordings, routes=routes,
                                          round_id=round_id or uuid.uuid4().hex)

    # -- reading ----------------------------------------------------------------------------

    @_storage_errors
    def statuses(
        self, include_inactive: bool = False, *, platforms: bool = True
    ) -> list[ImageStatus]:
        """Every active image (and inactive ones if asked) with its pending events, by ref.

        Two queries whatever the number of images. Without ``platforms`` each state's
        ``platforms`` is left empty, neither read nor parsed (the status table shows none).
        """
        state = codec.STATE if platforms else codec.STATE_WITHOUT_PLATFORMS
        image_query = state.add_columns(images.c.active).order_by(images.c.ref)
        event_query = codec.EVENTS.where(events.c.acknowledged_at.is_(None))
        if not include_inactive:
            image_query = image_query.where(images.c.active.is_(True))
            event_query = event_query.where(images.c.active.is_(True))
        with reading(self._engine) as connection:
            image_rows = codec.driver_rows(connection, image_query)
            event_rows = codec.driver_rows(connection, event_query)
        pending: dict[str, list[StoredEvent]] = {}
        for row in event_rows:
            event = codec.stored_event(row, from_driver=True)
            pending.setdefault(event.ref, []).append(event)
        no_events: tuple[StoredEvent, ...] = ()
        return [
            codec.record(ImageStatus, {
                "state": codec.image_state(row, from_driver=True),
                "active": bool(row[-1]),
                "pending": tuple(pending[row[0]]) if row[0] in pending else no_events,
            })
            for row in image_rows
        ]

    @_storage_errors
    def history(self, ref: str, limit: int | None = None) -> list[HistoryEntry]:
        """The image's history, oldest first; with ``limit``, the latest ``limit`` entries."""
        query = (
            select(history, images.c.ref)
            .join(images, images.c.id == history.c.image_id)
            .where(images.c.ref == ref)
        )
        if limit is None:
            query = query.order_by(history.c.at, history.c.id)
        else:
            query = query.order_by(history.c.at.desc(), history.c.id.desc()).limit(limit)
        with reading(self._engine) as connection:
            rows = connection.execute(query).all()
        entries = [
            HistoryEntry(row.ref, row.at, HistoryKind(row.kind), codec.mapping(row.data))
            for row in rows
        ]
        return entries if limit is None else entries[::-1]

    @_storage_errors
    def history_since(self, since: datetime) -> list[HistoryEntry]:
        """Every image's history entries at or after ``since``, oldest first (one query)."""
        query = (
            select(history, images.c.ref)
            .join(images, images.c.id == history.c.image_id)
            .where(history.c.at >= since)
            .order_by(history.c.at, history.c.id)
        )
        with reading(self._engine) as connection:
            rows = connection.execute(query).all()
        return [
            HistoryEntry(row.ref, row.at, HistoryKind(row.kind), codec.mapping(row.data))
            for row in rows
        ]

    @_storage_errors
    def events(
        self,
        ref: str | None = None,
        states: Iterable[EventState] = (EventState.PENDING,),
    ) -> list[StoredEvent]:
        """Events in the given states (pending: not acknowledged), of one image or all,
        oldest first."""
        wanted = {EventState(state) for state in states}
        if not wanted:
            return []
        query = codec.EVENTS
        if wanted == {EventState.PENDING}:
            query = query.where(events.c.acknowledged_at.is_(None))
        elif wanted == {EventState.ACKNOWLEDGED}:
            query = query.where(events.c.acknowledged_at.is_not(None))
        if ref is not None:
            query = query.where(images.c.ref == ref)
        with reading(self._engine) as connection:
            return [codec.stored_event(row) for row in connection.execute(query)]

    # -- acknowledging ----------------------------------------------------------------------

    @_storage_errors
    def acknowledge(self, ref: str, *, at: datetime | None = None) -> int:
        """Mark the image's pending events acknowledged; returns how many.

        An event is pending until a user acknowledges it, whatever a notifier delivered. The
        newer versions on offer now are acknowledged too: ``status`` stops reporting them
        until a still newer one appears.
        """
        image_id = select(images.c.id).where(images.c.ref == ref).scalar_subquery()
        with self._writing() as connection:
            result = connection.execute(
                update(events)
                .where(events.c.image_id == image_id)
                .where(events.c.acknowledged_at.is_(None))
                .values(acknowledged_at=at or _now())
            )
            connection.execute(
                update(images)
                .where(images.c.ref == ref)
                .values(
                    acknowledged_same_line=images.c.newer_same_line,
                    acknowledged_newest=images.c.newer_newest,
                )
            )
            return int(result.rowcount)

    # -- internals --------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self._write_lock, writing(self._engine) as connection:
            yield connection

    def _ping(self) -> None:
        try:
            with self._engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except SQLAlchemyError as exc:
            raise StorageError(self._describe(exc, connecting=True)) from exc

    def _describe(self, exc: SQLAlchemyError, *, connecting: bool = False) -> str:
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        reason = " ".join(str(cause).split()) or type(cause).__name__
        hint = ""
        lowered = reason.lower()
        if "unable to open database file" in lowered:
            hint = "; check that the directory exists and is writable"
        elif "database is locked" in lowered:
            hint = "; another process held the write lock too long, try again"
        elif "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
            hint = "; run `watcher db upgrade`"
        elif connecting:
            hint = "; check the URL and that the database server is running and reachable"
        verb = "cannot connect to" if connecting else "database error on"
        return f"{verb} {self._url}: {reason}{hint}"


def _now() -> datetime:
    return datetime.now(UTC)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
