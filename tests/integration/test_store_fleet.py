"""The Store's fleet methods on a real PostgreSQL database, each replica with its own engine
(as separate processes have): claims are disjoint even when made at the same moment, an
expired lease can be taken over and a live one cannot, a replica that left gives everything
back, and the image set's versions let the newest config win."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from watcher.core.changes import CheckDecision, ImageState, Observation, WatchPolicy, decide
from watcher.core.delivery import Route
from watcher.core.observation import OCI_INDEX, ManifestObservation
from watcher.store import Heartbeat, Store

pytestmark = pytest.mark.postgres

REFS = [f"registry.example/app{i:03}:1" for i in range(120)]
T0 = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)


@pytest.fixture
def url(postgres_server: Any) -> Iterator[str]:
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)


@pytest.fixture
def stores(url: str) -> Iterator[list[Store]]:
    opened = [Store.open(url) for _ in range(3)]
    try:
        yield opened
    finally:
        for store in opened:
            store.close()


def _active(store: Store) -> set[str]:
    with store._engine.connect() as connection:
        return set(connection.scalars(sa.text("SELECT ref FROM images WHERE active")))


def test_replicas_claiming_at_the_same_moment_get_disjoint_batches(stores: list[Store]) -> None:
    stores[0].sync_images(REFS)
    barrier = threading.Barrier(3)
    claimed: dict[int, list[str]] = {}

    def claim(index: int) -> None:
        barrier.wait(timeout=30)
        got: list[str] = []
        while batch := stores[index].claim_due_images(f"r{index}", T0, 60.0, 7):
            got.extend(c.ref for c in batch)
        claimed[index] = got

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    everything = [ref for got in claimed.values() for ref in got]
    assert sorted(everything) == sorted(REFS)  # each image once, none left out
    assert all(claimed[i] for i in range(3)), {i: len(g) for i, g in claimed.items()}


def test_a_live_lease_is_not_taken_an_expired_one_is(stores: list[Store]) -> None:
    a, b, _ = stores
    a.sync_images(REFS[:5])
    assert len(a.claim_due_images("a", T0, 30.0, 10)) == 5
    assert b.claim_due_images("b", T0 + timedelta(seconds=29), 30.0, 10) == []
    taken = b.claim_due_images("b", T0 + timedelta(seconds=31), 30.0, 10)
    assert sorted(c.ref for c in taken) == REFS[:5]
    # The old holder's late release changes nothing: the lease is b's now.
    assert a.release_images("a", {ref: T0 + timedelta(hours=1) for ref in REFS[:5]}) == 0
    assert b.release_images("b", {ref: T0 + timedelta(hours=1) for ref in REFS[:5]}) == 5
    # Released with its next time: not due before it, due after it.
    assert a.claim_due_images("a", T0 + timedelta(minutes=59), 30.0, 10) == []
    again = a.claim_due_images("a", T0 + timedelta(minutes=61), 30.0, 10)
    assert [c.due_at for c in again] == [T0 + timedelta(hours=1)] * 5


def test_images_a_replica_skips_stay_free_for_the_others(stores: list[Store]) -> None:
    a, b, _ = stores
    a.sync_images(REFS[:6])
    skipped = set(REFS[2:6])
    got = a.claim_due_images("a", T0, 30.0, 10, skip=skipped)
    assert sorted(c.ref for c in got) == REFS[:2]
    assert a.claim_due_images("a", T0, 30.0, 10, skip=skipped) == []
    assert sorted(c.ref for c in b.claim_due_images("b", T0, 30.0, 10)) == REFS[2:6]


def test_heartbeats_renew_leases_and_count_the_live_replicas(stores: list[Store]) -> None:
    a, b, _ = stores
    a.sync_images(REFS[:3])
    a.claim_due_images("a", T0, 10.0, 10)
    assert a.heartbeat(Heartbeat("a", T0, T0 + timedelta(seconds=8), 60.0, 3), 10.0) == 1
    assert b.heartbeat(Heartbeat("b", T0, T0 + timedelta(seconds=9), 0.0, 0), 10.0) == 2
    # Renewed at 8 s for 10 s: still a's at 15 s, though first leased until 10 s.
    assert b.claim_due_images("b", T0 + timedelta(seconds=15), 10.0, 10) == []
    fleet = {r.name: r for r in a.replicas(T0 + timedelta(seconds=15), 10.0)}
    assert fleet["a"].leases == 3
    assert fleet["a"].alive
    assert fleet["b"].alive
    later = {r.name: r for r in a.replicas(T0 + timedelta(seconds=18.5), 10.0)}
    assert not later["a"].alive
    assert later["b"].alive


def test_a_replica_that_leaves_gives_its_leases_back(stores: list[Store]) -> None:
    a, b, _ = stores
    a.sync_images(REFS[:4])
    now = datetime.now(UTC)
    a.claim_due_images("a", now, 3600.0, 10)
    a.heartbeat(Heartbeat("a", now, now, 0.0, 0), 3600.0)
    assert len(a.replicas(now, 3600.0)) == 1
    assert a.replicas(now, 3600.0)[0].leases == 4
    a.leave_fleet("a")
    assert a.replicas(now, 3600.0) == []
    assert len(b.claim_due_images("b", now, 3600.0, 10)) == 4


def test_the_newest_image_set_wins_and_an_old_config_does_not_fight(stores: list[Store]) -> None:
    a, b, _ = stores
    old, new = REFS[:10], REFS[5:15]
    first = a.sync_image_set(old, "old", known=None, by="a", now=T0)
    assert (first.version, first.applied) == (1, True)
    assert b.sync_image_set(old, "old", known=None, by="b", now=T0).version == 1
    # a reloads a new config: a new version; what it dropped becomes inactive.
    second = a.sync_image_set(new, "new", known=1, by="a", now=T0)
    assert (second.version, second.applied) == (2, True)
    assert _active(a) == set(new)
    # b, still on the old config (it followed version 1), resyncs: it is behind, and the
    # images the new version dropped stay inactive.
    stale = b.sync_image_set(old, "old", known=1, by="b", now=T0)
    assert (stale.version, stale.applied, stale.behind, stale.follows) == (2, False, True, 1)
    again = b.sync_image_set(old, "old", known=stale.follows, by="b", now=T0)
    assert (again.applied, again.behind) == (False, True)
    restarted = b.sync_image_set(old, "old", known=None, by="b", now=T0)
    assert restarted.behind
    assert _active(a) == set(new)
    # A change back to the old set, made by a replica that follows the newest: it wins.
    back = a.sync_image_set(old, "old", known=2, by="a", now=T0)
    assert (back.version, back.applied) == (3, True)
    assert _active(a) == set(old)
    assert a.image_set_version() == 3


def _seen(char: str) -> ManifestObservation:
    return ManifestObservation("sha256:" + char * 64, OCI_INDEX,
                               {"linux/amd64": "sha256:" + char.upper() * 64})


def _check(store: Store, ref: str, char: str, at: datetime) -> None:
    def decide_now(state: ImageState) -> CheckDecision:
        return decide(state, Observation(at, manifest=_seen(char)), WatchPolicy())

    store.record(ref, decide_now, routes=[Route("hook")], round_id="r1", now=at)


def test_each_delivery_is_claimed_by_one_replica_until_released(stores: list[Store]) -> None:
    a, b, _ = stores
    for ref in REFS[:6]:
        _check(a, ref, "a", T0)  # the baseline
        _check(a, ref, "b", T0 + timedelta(minutes=1))  # moved: one delivery each
    now = T0 + timedelta(minutes=2)
    mine = a.claim_deliveries("a", now, 60.0, limit=4)
    theirs = b.claim_deliveries("b", now, 60.0, limit=10)
    assert len(mine) == 4
    assert len(theirs) == 2
    assert not {d.id for d in mine} & {d.id for d in theirs}
    assert b.claim_deliveries("b", now, 60.0) == []
    a.release_deliveries("a", [d.id for d in mine])  # not sent (a stop): due for anyone
    assert sorted(d.id for d in b.claim_deliveries("b", now, 60.0)) == sorted(
        d.id for d in mine)


def test_a_check_asked_for_during_a_batch_is_not_lost_when_it_is_given_back(
        stores: list[Store]) -> None:
    a, b, _ = stores
    a.sync_images(REFS[:3])
    first, second, third = (c for c in a.claim_due_images("a", T0, 60.0, 10))
    b.request_checks([second.ref], T0 + timedelta(seconds=5))  # a push hook, meanwhile
    later = T0 + timedelta(hours=1)
    claimed = {c.ref: c.due_at for c in (first, second, third)}
    assert a.release_images("a", {c.ref: later for c in (first, second, third)}, claimed) == 3
    due = b.claim_due_images("b", T0 + timedelta(seconds=6), 60.0, 10)
    assert [c.ref for c in due] == [second.ref]  # checked again at once, as asked
    assert [c.due_at for c in due] == [T0 + timedelta(seconds=5)]


def test_first_check_scheduled_sets_only_images_never_given_a_time(stores: list[Store]) -> None:
    a, _, _ = stores
    a.sync_images(REFS[:2])
    a.request_checks([REFS[0]], T0)
    a.schedule_unscheduled({REFS[0]: T0 + timedelta(hours=2), REFS[1]: T0 + timedelta(hours=1)})
    soon = a.claim_due_images("a", T0 + timedelta(minutes=59), 3600.0, 10)
    assert [c.ref for c in soon] == [REFS[0]]  # its time stood; the other waits for its own
    later = a.claim_due_images("a", T0 + timedelta(minutes=61), 3600.0, 10)
    assert [c.ref for c in later] == [REFS[1]]


def test_a_delivery_another_replica_holds_is_next_due_when_its_lease_expires(
        stores: list[Store]) -> None:
    a, b, _ = stores
    _check(a, REFS[0], "a", T0)
    _check(a, REFS[0], "b", T0 + timedelta(minutes=1))
    assert b.next_delivery_at("hook") == T0 + timedelta(minutes=1)
    (held,) = a.claim_deliveries("a", T0 + timedelta(minutes=2), 60.0)
    # Not due for b until a's lease ends: b's worker waits instead of polling it.
    assert b.next_delivery_at("hook") == T0 + timedelta(minutes=3)
    a.release_deliveries("a", [held.id])
    assert b.next_delivery_at("hook") == T0 + timedelta(minutes=1)
