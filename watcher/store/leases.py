"""The Store's lease methods: shared replicas claim due checks and deliveries, one replica at
a time per row, and give them back.

A claim is one short transaction: ``SELECT ... FOR UPDATE SKIP LOCKED`` picks due rows no
live lease holds (rows another replica is claiming at that moment are skipped, not waited
for), and marks them with the replica's name and a lease expiry. The work then happens
outside any transaction; a replica that dies holds its rows only until the lease expires.
A mixin of :class:`~watcher.store.store.Store`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, bindparam, case, or_, select, update

from watcher.store import outbox
from watcher.store.activation import chunks
from watcher.store.guard import storage_errors
from watcher.store.parts import StoreParts
from watcher.store.records import Delivery
from watcher.store.schema import UTCDateTime, deliveries, images


@dataclass(frozen=True)
class Claim:
    """An image a replica holds: its reference and when it was due (None: never checked)."""

    ref: str
    due_at: datetime | None


class LeaseMethods(StoreParts):
    @storage_errors
    def claim_due_images(self, owner: str, now: datetime, lease: float,
                         limit: int, *, skip: Collection[str] = ()) -> list[Claim]:
        """Up to ``limit`` active images due at ``now`` (never checked first, then the most
        overdue), leased to ``owner`` for ``lease`` seconds, in one transaction.

        ``skip``: references this replica will not check (outside its config's image set):
        they stay free for the others."""
        due = (
            select(images.c.id, images.c.ref, images.c.next_check_at)
            .where(images.c.active.is_(True))
            .where(or_(images.c.next_check_at.is_(None), images.c.next_check_at <= now))
            .where(or_(images.c.lease_expires_at.is_(None), images.c.lease_expires_at < now))
            .order_by(images.c.next_check_at.asc().nulls_first(), images.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if skip:
            due = due.where(images.c.ref.not_in(sorted(skip)))
        with self._writing() as connection:
            rows = connection.execute(due).all()
            if rows:
                connection.execute(
                    update(images).where(images.c.id.in_([r.id for r in rows]))
                    .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease)))
        return [Claim(r.ref, r.next_check_at) for r in rows]

    @storage_errors
    def release_images(self, owner: str, next_checks: Mapping[str, datetime | None],
                       claimed: Mapping[str, datetime | None] | None = None) -> int:
        """Give back ``owner``'s leases on these images, each due again at its time (None:
        keep the time it had); returns how many it still held (a lease that expired and was
        taken over meanwhile belongs to the new holder and is left alone).

        ``claimed`` holds each image's due time when it was claimed: an image whose due time
        changed since (a check asked for meanwhile, :meth:`request_checks`) keeps the new
        one, so that the request is not lost."""
        if not next_checks:
            return 0
        before = claimed or {}
        timed = [{"r": ref, "n": at, "d": before.get(ref)} for ref, at in next_checks.items()
                 if at is not None]
        untimed = sorted(ref for ref, at in next_checks.items() if at is None)
        released = 0
        with self._writing() as connection:
            if timed:
                due = bindparam("d", type_=UTCDateTime)
                unchanged = or_(and_(images.c.next_check_at.is_(None), due.is_(None)),
                                images.c.next_check_at == due)
                statement = (
                    update(images)
                    .where(images.c.ref == bindparam("r"))
                    .where(images.c.lease_owner == owner)
                    .values(lease_owner=None, lease_expires_at=None,
                            next_check_at=case((unchanged, bindparam("n", type_=UTCDateTime)),
                                               else_=images.c.next_check_at))
                )
                released += _rowcount(connection.execute(statement, timed))
            for chunk in chunks(untimed):
                released += _rowcount(connection.execute(
                    update(images).where(images.c.ref.in_(chunk))
                    .where(images.c.lease_owner == owner)
                    .values(lease_owner=None, lease_expires_at=None)))
        return released

    @storage_errors
    def request_checks(self, refs: Iterable[str], now: datetime) -> None:
        """Make these images due now, for whichever replica claims them first."""
        wanted = sorted(set(refs))
        with self._writing() as connection:
            for chunk in chunks(wanted):
                connection.execute(update(images).where(images.c.ref.in_(chunk))
                                   .values(next_check_at=now))

    @storage_errors
    def schedule_unscheduled(self, first_checks: Mapping[str, datetime]) -> None:
        """Set the first due time of images never given one (``first_check = "scheduled"``)."""
        if not first_checks:
            return
        with self._writing() as connection:
            connection.execute(
                update(images).where(images.c.ref == bindparam("r"))
                .where(images.c.next_check_at.is_(None))
                .values(next_check_at=bindparam("n")),
                [{"r": ref, "n": at} for ref, at in first_checks.items()])

    @storage_errors
    def claim_deliveries(self, owner: str, now: datetime, lease: float, *, limit: int = 500,
                         channel: str | None = None) -> list[Delivery]:
        """Like :meth:`due_deliveries`, but each delivery returned is leased to ``owner``:
        no other replica sends it until the lease expires or it is recorded."""
        due = (
            select(deliveries.c.id)
            .where(deliveries.c.state == outbox.PENDING)
            .where(deliveries.c.not_before <= now)
            .where(or_(deliveries.c.next_attempt_at.is_(None),
                       deliveries.c.next_attempt_at <= now))
            .where(or_(deliveries.c.lease_expires_at.is_(None),
                       deliveries.c.lease_expires_at < now))
            .order_by(deliveries.c.channel, deliveries.c.round_id, deliveries.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if channel is not None:
            due = due.where(deliveries.c.channel == channel)
        with self._writing() as connection:
            ids = list(connection.scalars(due))
            if not ids:
                return []
            connection.execute(
                update(deliveries).where(deliveries.c.id.in_(ids))
                .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease)))
            rows = connection.execute(
                outbox.DELIVERIES.where(deliveries.c.id.in_(ids))
                .order_by(deliveries.c.channel, deliveries.c.round_id, deliveries.c.id))
            return [outbox.delivery(row) for row in rows]

    @storage_errors
    def release_deliveries(self, owner: str, ids: Sequence[int]) -> None:
        """Give back ``owner``'s leases on these deliveries (sent or not)."""
        with self._writing() as connection:
            for start in range(0, len(ids), 500):
                connection.execute(
                    update(deliveries)
                    .where(deliveries.c.id.in_(list(ids[start:start + 500])))
                    .where(deliveries.c.lease_owner == owner)
                    .values(lease_owner=None, lease_expires_at=None))


def renew(connection: Connection, owner: str, now: datetime, lease: float) -> int:
    """Extend every live lease ``owner`` holds, images and deliveries; returns how many."""
    until = now + timedelta(seconds=lease)
    renewed = 0
    for table in (images, deliveries):
        renewed += _rowcount(connection.execute(
            update(table)
            .where(and_(table.c.lease_owner == owner, table.c.lease_expires_at >= now))
            .values(lease_expires_at=until)))
    return renewed


def give_back(connection: Connection, owner: str) -> None:
    """Release every lease ``owner`` holds (a clean stop: others take over at once)."""
    for table in (images, deliveries):
        connection.execute(update(table).where(table.c.lease_owner == owner)
                           .values(lease_owner=None, lease_expires_at=None))


def _rowcount(result: object) -> int:
    count = getattr(result, "rowcount", 0)
    return int(count) if isinstance(count, int) and count > 0 else 0


__all__ = ["Claim", "LeaseMethods", "give_back", "renew"]
