"""The outbox in the Store, on SQLite and PostgreSQL: rows written with their events, what is
due, attempts, expiry, re-queueing, and the soak window's supersede at recording time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from watcher.core.changes import (
    CheckDecision,
    EventKind,
    HistoryKind,
    ImageState,
    NewerVersions,
    Observation,
    WatchPolicy,
    decide,
)
from watcher.core.delivery import Route
from watcher.core.events import DigestChanged
from watcher.core.observation import OCI_INDEX, ManifestObservation
from watcher.errors import DeliveryError, StorageError
from watcher.store import AttemptOutcome, AttemptResult, DeliveryState, Store

REF = "docker.io/library/python:3.12"
OTHER = "ghcr.io/acme/base:1"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
HOOK = Route("hook")
MAIL = Route("mail", kinds=frozenset({EventKind.NEW_VERSION}))


def digest(char: str) -> str:
    return "sha256:" + char * 64


def seen(char: str) -> ManifestObservation:
    return ManifestObservation(digest(char), OCI_INDEX, {"linux/amd64": digest(char.upper())})


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened


def check(
    store: Store,
    ref: str,
    observation: Observation,
    routes: tuple[Route, ...] = (HOOK, MAIL),
    *,
    round_id: str = "r1",
    soak: float = 0.0,
) -> CheckDecision | None:
    def decide_now(state: ImageState) -> CheckDecision:
        return decide(state, observation, WatchPolicy())

    return store.record(ref, decide_now, routes=routes, round_id=round_id, soak=soak,
                        now=observation.checked_at)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_a_recorded_event_gets_one_delivery_per_subscribed_channel(store: Store) -> None:
    check(store, REF, Observation(at(0), manifest=seen("a")))
    assert store.deliveries() == []  # a baseline is no event
    check(store, REF, Observation(at(1), manifest=seen("b")))
    (delivery,) = store.deliveries()
    assert delivery.channel == "hook"  # mail subscribes to new_version only
    assert delivery.state is DeliveryState.PENDING
    assert delivery.round_id == "r1"
    assert delivery.event.payload == DigestChanged(digest("a"), digest("b"),
                                                   {"linux/amd64": "changed"})
    assert delivery.not_before == at(1)
    assert delivery.expires_at == at(1) + timedelta(hours=24)
    assert delivery.attempts == 0
    assert store.due_deliveries(at(1)) == [delivery]


def test_deliveries_are_written_in_the_events_transaction(store: Store) -> None:
    check(store, REF, Observation(at(0), manifest=seen("a")))

    def broken(state: ImageState) -> CheckDecision:
        return decide(state, Observation(at(1), manifest=seen("b")), WatchPolicy())

    bad = Route("x" * 300)  # longer than the channel column: PostgreSQL refuses the row
    try:
        store.record(REF, broken, routes=(bad,), round_id="r", now=at(1))
    except StorageError:
        assert store.events(REF) == []  # the event went with the refused delivery
    else:  # SQLite does not enforce lengths: then both are there
        assert len(store.events(REF)) == 1
        assert len(store.deliveries()) == 1


def test_recording_the_same_decision_twice_adds_no_second_delivery(store: Store) -> None:
    check(store, REF, Observation(at(0), manifest=seen("a")))
    previous = store.load_state(REF)
    assert previous is not None
    decision = decide(previous, Observation(at(1), manifest=seen("b")), WatchPolicy())
    for _ in range(2):
        store.record(REF, lambda _state: decision, routes=(HOOK,), round_id="r", now=at(1))
    assert len(store.deliveries()) == 1


def test_routes_filter_by_image_glob(store: Store) -> None:
    only_acme = Route("acme", images=("ghcr.io/acme/*",))
    for ref in (REF, OTHER):
        check(store, ref, Observation(at(0), manifest=seen("a")), (only_acme,))
        check(store, ref, Observation(at(1), manifest=seen("b")), (only_acme,))
    assert [d.event.ref for d in store.deliveries()] == [OTHER]


def test_attempts_retry_then_deliver(store: Store) -> None:
    check(store, REF, Observation(at(0), manifest=seen("a")))
    check(store, REF, Observation(at(1), manifest=seen("b")))
    (delivery,) = store.due_deliveries(at(1))
    store.record_attempts([AttemptResult(delivery.id, at(2), AttemptOutcome.RETRY,
                                         "hook answered 503", at(5))])
    assert store.due_deliveries(at(4)) == []
    (waiting,) = store.due_deliveries(at(5))
    assert waiting.attempts == 1
    assert waiting.last_error == "hook answered 503"
    assert waiting.next_attempt_at == at(5)
    store.record_attempts([AttemptResult(delivery.id, at(6), "delivered")])
    (done,) = store.deliveries()
    assert done.state is DeliveryState.DELIVERED
    assert done.delivered_at == at(6)
    assert done.attempts == 2
    assert store.due_deliveries(at(60)) == []
    assert [a.outcome for a in store.attempts(delivery.id)] == [
        AttemptOutcome.RETRY, AttemptOutcome.DELIVERED]
    assert store.delivery_counts() == {"hook": {DeliveryState.DELIVERED: 1}}


def test_a_retry_past_the_window_expires_and_can_be_requeued(store: Store) -> None:
    short = Route("hook", retry_for=600.0)
    check(store, REF, Observation(at(0), manifest=seen("a")), (short,))
    check(store, REF, Observation(at(1), manifest=seen("b")), (short,))
    (delivery,) = store.due_deliveries(at(1))
    store.record_attempts([AttemptResult(delivery.id, at(2), "retry", "down", at(30))])
    (expired,) = store.deliveries()
    assert expired.state is DeliveryState.EXPIRED
    assert [a.outcome for a in store.attempts(delivery.id)] == [AttemptOutcome.EXPIRED]
    again = store.retry_delivery(delivery.id, at(100))
    assert again.state is DeliveryState.PENDING
    assert again.expires_at == at(110)
    assert store.due_deliveries(at(100)) == [again]
    with pytest.raises(DeliveryError, match="only a failed or expired delivery"):
        store.retry_delivery(delivery.id, at(101))
    with pytest.raises(DeliveryError, match="does not exist"):
        store.retry_delivery(delivery.id + 1000, at(101))


def test_a_permanent_failure_keeps_the_error_text(store: Store) -> None:
    check(store, REF, Observation(at(0), manifest=seen("a")))
    check(store, REF, Observation(at(1), manifest=seen("b")))
    (delivery,) = store.due_deliveries(at(1))
    store.record_attempts([AttemptResult(delivery.id, at(2), "failed", "answered 400: bad")])
    (failed,) = store.deliveries(states=[DeliveryState.FAILED])
    assert failed.last_error == "answered 400: bad"
    assert store.due_deliveries(at(100)) == []
    assert store.deliveries(states=[DeliveryState.PENDING]) == []
    assert store.deliveries(channel="mail") == []
    assert store.deliveries(ref=REF, event_id=delivery.event.id) == [failed]


def test_due_deliveries_are_ordered_by_channel_round_and_id(store: Store) -> None:
    for n, ref in enumerate((OTHER, REF)):
        check(store, ref, Observation(at(0), manifest=seen("a")), (Route("b"), Route("a")))
        check(store, ref, Observation(at(1), manifest=seen("b")), (Route("b"), Route("a")),
              round_id=f"r{1 - n}")
    due = store.due_deliveries(at(1))
    assert [(d.channel, d.round_id, d.event.ref) for d in due] == [
        ("a", "r0", REF), ("a", "r1", OTHER), ("b", "r0", REF), ("b", "r1", OTHER)]
    assert len(store.due_deliveries(at(1), limit=3)) == 3
    assert store.next_delivery_at() == at(1)


def test_soak_moved_twice_within_the_window_delivers_the_net_change_once(store: Store) -> None:
    hour = 3600.0
    check(store, REF, Observation(at(0), manifest=seen("a")), (HOOK,), soak=hour)
    check(store, REF, Observation(at(1), manifest=seen("b")), (HOOK,), soak=hour)
    assert store.due_deliveries(at(2)) == []  # still soaking
    assert store.next_delivery_at() == at(61)
    check(store, REF, Observation(at(10), manifest=seen("c")), (HOOK,), soak=hour)
    assert store.due_deliveries(at(61)) == []
    (due,) = store.due_deliveries(at(70))
    assert isinstance(due.event.payload, DigestChanged)
    assert (due.event.payload.old_digest, due.event.payload.new_digest) == (
        digest("a"), digest("c"))
    (superseded,) = store.deliveries(states=[DeliveryState.SUPERSEDED])
    assert superseded.note is not None
    assert due.event.id in superseded.note
    # The event itself keeps what that check saw.
    stored = {e.id: e for e in store.events(REF)}
    payload = stored[due.event.id].payload
    assert isinstance(payload, DigestChanged)
    assert payload.old_digest == digest("b")


def test_soak_moved_and_moved_back_delivers_nothing(store: Store) -> None:
    check(store, REF, Observation(at(0), manifest=seen("a")), (HOOK,), soak=3600.0)
    check(store, REF, Observation(at(1), manifest=seen("b")), (HOOK,), soak=3600.0)
    check(store, REF, Observation(at(2), manifest=seen("a")), (HOOK,), soak=3600.0)
    assert store.due_deliveries(at(600)) == []
    rows = store.deliveries()
    assert [d.state for d in rows] == [DeliveryState.SUPERSEDED] * 2
    assert all(d.note is not None and "moved back" in d.note for d in rows)
    # The image's history says why nothing was announced.
    (withheld,) = [e for e in store.history(REF) if e.kind is HistoryKind.NOTICE_WITHHELD]
    assert withheld.data["channels"] == [HOOK.channel]
    assert "moved back" in withheld.data["reason"]


def test_a_change_past_its_window_is_not_superseded(store: Store) -> None:
    check(store, REF, Observation(at(0), manifest=seen("a")), (HOOK,), soak=60.0)
    check(store, REF, Observation(at(1), manifest=seen("b")), (HOOK,), soak=60.0)
    check(store, REF, Observation(at(5), manifest=seen("c")), (HOOK,), soak=60.0)
    assert len(store.due_deliveries(at(10))) == 2


def test_a_channel_soak_overrides_the_image_soak(store: Store) -> None:
    quick = Route("quick", soak=0.0)
    check(store, REF, Observation(at(0), manifest=seen("a")), (quick, HOOK), soak=3600.0)
    check(store, REF, Observation(at(1), manifest=seen("b")), (quick, HOOK), soak=3600.0)
    assert [d.channel for d in store.due_deliveries(at(1))] == ["quick"]


def test_a_newer_version_that_disappears_within_the_window_is_superseded(store: Store) -> None:
    versions = Route("v", kinds=frozenset({EventKind.NEW_VERSION}))
    check(store, REF, Observation(at(0), manifest=seen("a"), newer=NewerVersions("3.12.1")),
          (versions,), soak=3600.0)
    check(store, REF, Observation(at(1), manifest=seen("a"), newer=NewerVersions("3.12.2")),
          (versions,), soak=3600.0)
    (soaking,) = store.deliveries(states=[DeliveryState.PENDING])
    assert soaking.event.kind is EventKind.NEW_VERSION
    check(store, REF, Observation(at(2), manifest=seen("a"), newer=NewerVersions("3.12.1")),
          (versions,), soak=3600.0)
    assert store.deliveries(states=[DeliveryState.PENDING]) == []
    (gone,) = store.deliveries(states=[DeliveryState.SUPERSEDED])
    assert gone.note is not None
    assert "disappeared" in gone.note


def test_deleting_an_image_removes_its_deliveries(store: Store) -> None:
    check(store, REF, Observation(at(0), manifest=seen("a")))
    check(store, REF, Observation(at(1), manifest=seen("b")))
    (delivery,) = store.deliveries()
    store.record_attempts([AttemptResult(delivery.id, at(2), "retry", "x", at(3))])
    with store._engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM images"))
    assert store.deliveries() == []
    assert store.attempts(delivery.id) == []
