"""Group commit: ``Store.record_many`` records a batch of checks in one transaction, with
what ``Store.record`` would record for each, all or nothing, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from watcher.core.changes import CheckDecision, CheckState, ImageState, Observation, decide
from watcher.core.delivery import Route
from watcher.core.events import EventKind
from watcher.core.observation import OCI_INDEX, ManifestObservation
from watcher.store import EventState, Recording, Store

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
REFS = [f"registry.example/team/app{i:02}:1.0" for i in range(12)]
HOOK = Route(channel="hook")


def digest(char: str) -> str:
    return "sha256:" + char * 64


def seen(char: str) -> ManifestObservation:
    return ManifestObservation(digest(char), OCI_INDEX, {"linux/amd64": digest(char.upper())})


def deciding(observation: Observation, against: list[ImageState] | None = None) -> Any:
    def decide_now(current: ImageState) -> CheckDecision | None:
        if against is not None:
            against.append(current)
        return decide(current, observation)

    return decide_now


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened


def baseline(store: Store, refs: list[str]) -> None:
    store.record_many([Recording(ref, deciding(Observation(T0, manifest=seen("a"))))
                       for ref in refs])


def test_a_batch_records_new_unchanged_and_changed_images(store: Store) -> None:
    baseline(store, REFS[:10])
    later = T0 + timedelta(hours=1)
    moved = REFS[3]
    against: list[ImageState] = []
    batch = [
        Recording(ref, deciding(Observation(later, manifest=seen("b" if ref == moved else "a")),
                                against), now=later)
        for ref in REFS  # 10 stored (one of them moved), 2 never stored
    ]
    decisions = store.record_many(batch, routes=(HOOK,), round_id="r2")

    assert [s.ref for s in against] == REFS  # each decided against its own stored row
    assert against[3].digest == digest("a")
    assert against[11] == ImageState(ref=REFS[11])
    states = {d.image.ref: d.state for d in decisions if d is not None}
    assert states[moved] is CheckState.CHANGED
    assert {states[r] for r in REFS[10:]} == {CheckState.BASELINE}
    assert {states[r] for r in REFS[:10] if r != moved} == {CheckState.UNCHANGED}
    stored = store.load_states(include_inactive=True)
    for decision in decisions:
        assert decision is not None
        assert stored[decision.image.ref] == decision.image
        assert stored[decision.image.ref].last_checked_at == later
    (changed,) = store.events()
    assert changed.ref == moved
    assert changed.kind is EventKind.DIGEST_CHANGED
    (delivery,) = store.deliveries()
    assert delivery.event.id == changed.id
    assert delivery.round_id == "r2"


def test_a_failure_anywhere_in_a_batch_records_none_of_it(store: Store) -> None:
    baseline(store, REFS)
    before = store.load_states()
    later = T0 + timedelta(hours=1)
    batch = [Recording(ref, deciding(Observation(later, manifest=seen("b" if i == 7 else "a"))))
             for i, ref in enumerate(REFS)]

    def fail_on_event_insert(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO EVENTS"):
            raise RuntimeError("injected crash")

    event.listen(store._engine, "before_cursor_execute", fail_on_event_insert)
    try:
        with pytest.raises(RuntimeError, match="injected crash"):
            store.record_many(batch)
    finally:
        event.remove(store._engine, "before_cursor_execute", fail_on_event_insert)
    # The unchanged checks before and after the failing one are rolled back with it.
    assert store.load_states() == before
    assert store.events(states=list(EventState)) == []

    store.record_many(batch)  # the next round records it all, once
    assert {s.last_checked_at for s in store.load_states().values()} == {later}
    assert len(store.events()) == 1


def test_one_image_twice_in_a_batch_is_decided_the_second_time_on_the_first(
    store: Store,
) -> None:
    baseline(store, REFS[:1])
    against: list[ImageState] = []
    first = Recording(REFS[0], deciding(Observation(T0 + timedelta(hours=1),
                                                    manifest=seen("b")), against))
    second = Recording(REFS[0], deciding(Observation(T0 + timedelta(hours=2),
                                                     manifest=seen("c")), against))
    decisions = store.record_many([first, second])
    assert [s.digest for s in against] == [digest("a"), digest("b")]
    assert [d.state for d in decisions if d is not None] == [CheckState.CHANGED] * 2
    assert len(store.events()) == 2


def test_none_records_nothing_for_that_image_only(store: Store) -> None:
    baseline(store, REFS[:3])
    before = store.load_state(REFS[1])
    later = T0 + timedelta(hours=1)
    batch = [Recording(REFS[0], deciding(Observation(later, manifest=seen("a")))),
             Recording(REFS[1], lambda current: None),
             Recording(REFS[2], deciding(Observation(later, manifest=seen("a"))))]
    decisions = store.record_many(batch)
    assert decisions[1] is None
    assert store.load_state(REFS[1]) == before
    states = store.load_states([REFS[0], REFS[2]])
    assert {s.last_checked_at for s in states.values()} == {later}


def test_a_batch_of_unchanged_checks_is_one_transaction_of_few_statements(
    store: Store,
) -> None:
    refs = [f"registry.example/team/app{i:04}:1.0" for i in range(600)]
    baseline(store, refs)
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    event.listen(store._engine, "before_cursor_execute", note)
    try:
        later = T0 + timedelta(hours=1)
        store.record_many([Recording(ref, deciding(Observation(later, manifest=seen("a"))))
                           for ref in refs])
    finally:
        event.remove(store._engine, "before_cursor_execute", note)
    # Two locking SELECTs (500 refs each at most) and one executemany UPDATE: not 2 x 600.
    assert statements.count("SELECT") == 2
    assert statements.count("UPDATE") == 1
    assert statements.count("BEGIN") <= 1
    assert {s.last_checked_at for s in store.load_states().values()} == {later}
