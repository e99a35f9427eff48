"""The Store's fleet methods: replicas' heartbeats, and the versioned image set they share.

Each shared replica writes a heartbeat (and renews its leases) several times per lease
period; a replica whose heartbeat is older than a lease is counted as gone. The image set
is synchronised with a version: a replica whose image set is not the newest in the database
does not write it (see :meth:`FleetMethods.sync_image_set`). A mixin of
:class:`~watcher.store.store.Store`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select, update

from watcher.store import activation, leases
from watcher.store.engine import advisory_lock, reading
from watcher.store.guard import storage_errors
from watcher.store.parts import StoreParts
from watcher.store.schema import image_set_versions, images, replicas

FORGET_AFTER = timedelta(days=1)  # a replica gone this long is no longer listed


@dataclass(frozen=True)
class Heartbeat:
    """What a replica says of itself."""

    name: str
    started_at: datetime
    at: datetime
    checks_per_minute: float
    checks: int
    last_round_at: datetime | None = None
    last_round_checks: int | None = None
    config_version: int | None = None


@dataclass(frozen=True)
class ReplicaStatus:
    """A replica as the database knows it: alive while its heartbeat is recent."""

    name: str
    started_at: datetime
    heartbeat_at: datetime
    alive: bool
    leases: int
    checks_per_minute: float
    checks: int
    last_round_at: datetime | None
    last_round_checks: int | None
    config_version: int | None


@dataclass(frozen=True)
class ImageSetSync:
    """What syncing an image set came to: the version now current, whether this set was
    written (``applied``), whether it is older than the current one (``behind``), and the
    version the syncing replica follows from now on (``follows``: its own set's, which is
    the current one unless it is behind)."""

    version: int
    applied: bool
    behind: bool
    follows: int


@dataclass(frozen=True)
class FleetCounts:
    """The fleet in numbers, for metrics: replicas alive and gone, live leases on images
    per replica, active images due (never checked, or their time has come) and overdue
    (due for longer than a lease: no replica got to them), the checks per minute of the
    live replicas together (as their heartbeats said), and the newest image set version."""

    alive: int
    gone: int
    checks_per_minute: float
    leases: dict[str, int]
    due: int
    overdue: int
    image_set_version: int | None


class FleetMethods(StoreParts):
    @storage_errors
    def heartbeat(self, beat: Heartbeat, lease: float) -> int:
        """Record ``beat`` and renew the replica's leases, in one transaction; returns how
        many replicas are alive (their heartbeat within ``lease`` seconds), this one
        included."""
        values = {"started_at": beat.started_at, "heartbeat_at": beat.at,
                  "checks_per_minute": beat.checks_per_minute, "checks": beat.checks,
                  "last_round_at": beat.last_round_at,
                  "last_round_checks": beat.last_round_checks,
                  "config_version": beat.config_version}
        with self._writing() as connection:
            changed = connection.execute(
                update(replicas).where(replicas.c.name == beat.name).values(**values)).rowcount
            if not changed:
                connection.execute(insert(replicas).values(name=beat.name, **values))
            leases.renew(connection, beat.name, beat.at, lease)
            connection.execute(delete(replicas).where(
                replicas.c.heartbeat_at < beat.at - FORGET_AFTER))
            alive = connection.scalar(select(func.count()).select_from(replicas).where(
                replicas.c.heartbeat_at >= beat.at - timedelta(seconds=lease)))
        return max(1, int(alive or 0))

    @storage_errors
    def leave_fleet(self, name: str) -> None:
        """A clean stop: give back every lease ``name`` holds and drop its heartbeat."""
        with self._writing() as connection:
            leases.give_back(connection, name)
            connection.execute(delete(replicas).where(replicas.c.name == name))

    @storage_errors
    def replicas(self, now: datetime, lease: float) -> list[ReplicaStatus]:
        """Every replica that sent a heartbeat within a day, by name, with the live leases
        it holds on images."""
        held = (
            select(images.c.lease_owner, func.count())
            .where(images.c.lease_expires_at >= now)
            .group_by(images.c.lease_owner)
        )
        with reading(self._engine) as connection:
            counts = {owner: int(n) for owner, n in connection.execute(held)}
            rows = connection.execute(select(replicas).order_by(replicas.c.name)).all()
        alive_since = now - timedelta(seconds=lease)
        return [
            ReplicaStatus(
                name=r.name, started_at=r.started_at, heartbeat_at=r.heartbeat_at,
                alive=r.heartbeat_at >= alive_since, leases=counts.get(r.name, 0),
                checks_per_minute=r.checks_per_minute, checks=r.checks,
                last_round_at=r.last_round_at, last_round_checks=r.last_round_checks,
                config_version=r.config_version,
            )
            for r in rows
        ]

    @storage_errors
    def fleet_counts(self, now: datetime, lease: float) -> FleetCounts:
        """:class:`FleetCounts` at ``now``, in one read transaction of four small queries."""
        alive_since = now - timedelta(seconds=lease)
        held = (select(images.c.lease_owner, func.count())
                .where(images.c.lease_expires_at >= now).group_by(images.c.lease_owner))
        due = (select(func.count()).select_from(images).where(images.c.active.is_(True))
               .where(or_(images.c.next_check_at.is_(None), images.c.next_check_at <= now)))
        overdue = (select(func.count()).select_from(images).where(images.c.active.is_(True))
                   .where(images.c.next_check_at < alive_since))
        live = replicas.c.heartbeat_at >= alive_since
        state = select(live, func.count(), func.sum(replicas.c.checks_per_minute)).group_by(live)
        with reading(self._engine) as connection:
            leases_held = {str(o): int(n) for o, n in connection.execute(held) if o}
            by_state = {bool(a): (int(n), float(pace or 0.0))
                        for a, n, pace in connection.execute(state)}
            counted = (int(connection.scalar(due) or 0), int(connection.scalar(overdue) or 0))
            version = connection.scalar(select(func.max(image_set_versions.c.version)))
        return FleetCounts(alive=by_state.get(True, (0, 0.0))[0],
                           gone=by_state.get(False, (0, 0.0))[0],
                           checks_per_minute=by_state.get(True, (0, 0.0))[1],
                           leases=leases_held, due=counted[0], overdue=counted[1],
                           image_set_version=None if version is None else int(version))

    @storage_errors
    def image_set_version(self) -> int | None:
        """The newest image set version synchronised (None: shared replicas never ran)."""
        with reading(self._engine) as connection:
            found = connection.scalar(select(func.max(image_set_versions.c.version)))
        return None if found is None else int(found)

    @storage_errors
    def sync_image_set(self, refs: Iterable[str], digest: str, *, known: int | None,
                       by: str, now: datetime) -> ImageSetSync:
        """Make ``refs`` (whose digest is ``digest``) the active images, unless the database
        holds a newer image set; in one transaction, under the image list's lock.

        ``known`` is the version this replica follows (``follows`` of its last sync; None
        at start). The set is
        written as a new version when it is new to the database (never synchronised before)
        or when the replica follows the current version (it changed its own config since: a
        change back to an earlier set is a change too). A set the database knows as an
        older version, from a replica that does not follow the current one, is a replica
        still on an old config: nothing is written, so it cannot re-activate what a newer
        version dropped. The set equal to the current one writes nothing either.
        """
        wanted = set(refs)
        table = image_set_versions
        with self._writing() as connection:
            advisory_lock(connection, activation.SYNC_IMAGES_LOCK)
            current = connection.execute(
                select(table.c.version, table.c.digest).order_by(table.c.version.desc())
                .limit(1)).first()
            if current is not None and current.digest == digest:
                return ImageSetSync(current.version, applied=False, behind=False,
                                    follows=current.version)
            seen = connection.scalar(select(table.c.version).where(table.c.digest == digest))
            following = current is not None and known == current.version
            if current is not None and seen is not None and not following:
                return ImageSetSync(current.version, applied=False, behind=True, follows=seen)
            version = (current.version if current is not None else 0) + 1
            if seen is not None:
                connection.execute(delete(table).where(table.c.digest == digest))
            connection.execute(insert(table).values(
                version=version, digest=digest, images=len(wanted), created_at=now,
                created_by=by))
            activation.sync_active(connection, wanted, now)
            return ImageSetSync(version, applied=True, behind=False, follows=version)


__all__ = ["FleetCounts", "FleetMethods", "Heartbeat", "ImageSetSync", "ReplicaStatus"]
