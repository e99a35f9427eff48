"""The Store API against a real database: SQLite and PostgreSQL (``store_url``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from watcher.core.changes import (
    CheckDecision,
    CheckState,
    Event,
    EventKind,
    HistoryEntry,
    HistoryKind,
    ImageState,
    NewerVersions,
    Observation,
    WatchPolicy,
    decide,
)
from watcher.core.events import DigestChanged, FirstSeen
from watcher.core.observation import OCI_INDEX, ManifestObservation
from watcher.errors import StorageError
from watcher.store import EventState, ImageStatus, Store, StoredEvent

REF = "docker.io/library/python:3.12"
OTHER = "ghcr.io/acme/base:1"
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
DEFAULT_POLICY = WatchPolicy()


def digest(char: str) -> str:
    return "sha256:" + char * 64


def seen(char: str) -> ManifestObservation:
    return ManifestObservation(digest(char), OCI_INDEX, {"linux/amd64": digest(char.upper())})


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened


def count(store: Store, table: str) -> int:
    engine = store._engine
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def check(
    store: Store, ref: str, observation: Observation, policy: WatchPolicy = DEFAULT_POLICY
) -> CheckDecision:
    """One check as the service does it: load, decide, apply."""
    previous = store.load_state(ref) or ImageState(ref=ref)
    decision = decide(previous, observation, policy)
    store.apply(decision)
    return decision


def test_sync_images_inserts_deactivates_and_reactivates(store: Store) -> None:
    store.sync_images([REF, OTHER])
    assert sorted(store.load_states()) == [REF, OTHER]
    assert store.load_state(REF) == ImageState(ref=REF)

    check(store, OTHER, Observation(T0, manifest=seen("a")))
    store.sync_images([REF])
    assert list(store.load_states()) == [REF]
    assert list(store.load_states([OTHER])) == []
    inactive = store.load_states([OTHER], include_inactive=True)
    assert inactive[OTHER].digest == digest("a")
    assert [(s.ref, s.active) for s in store.statuses(include_inactive=True)] == [
        (REF, True),
        (OTHER, False),
    ]
    assert len(store.history(OTHER)) == 1  # history is kept for inactive images
    assert store.load_state(OTHER) is not None

    store.sync_images([OTHER, REF, REF])
    assert sorted(store.load_states()) == [REF, OTHER]
    state = store.load_state(OTHER)
    assert state is not None
    assert state.digest == digest("a")


def test_state_round_trips_every_field(store: Store) -> None:
    state = ImageState(
        ref=REF,
        digest=digest("a"),
        media_type=OCI_INDEX,
        platforms={"linux/amd64": digest("b"), "linux/arm64/v8": digest("c")},
        newer=NewerVersions("3.12.4", "3.13.0"),
        reported_same_line="3.12.3",
        reported_newest="3.13.0",
        tags_fingerprint="f" * 64,
        removed=True,
        changes=7,
        last_changed_at=T0,
        last_checked_at=T0 + timedelta(seconds=1, microseconds=123456),
        last_error="tag not found",
        last_error_status=404,
        failing_since=T0,
        failure_count=2,
    )
    store.apply(CheckDecision(CheckState.CHANGED, state))
    loaded = store.load_state(REF)
    assert loaded == state
    assert loaded is not None
    assert loaded.last_checked_at is not None
    assert loaded.last_checked_at.tzinfo is UTC
    assert store.load_states([REF, "not/tracked:1"]) == {REF: state}


def test_datetimes_come_back_in_utc_whatever_zone_went_in(store: Store) -> None:
    paris = timezone(timedelta(hours=2))
    local = datetime(2024, 5, 1, 14, 0, tzinfo=paris)
    store.apply(
        CheckDecision(
            CheckState.CHANGED,
            ImageState(ref=REF, changes=1, last_checked_at=local),
            (HistoryEntry(REF, local, HistoryKind.BASELINE, {}),),
            (Event("e1", REF, local, FirstSeen(digest("a"))),),
        )
    )
    state = store.load_state(REF)
    assert state is not None
    assert state.last_checked_at == T0
    assert state.last_checked_at is not None
    assert state.last_checked_at.utcoffset() == timedelta(0)
    assert store.history(REF)[0].at.tzinfo is UTC
    assert store.events()[0].created_at == T0
    assert store.events()[0].created_at.tzinfo is UTC


def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(StorageError, match="naive datetime"):
        store.apply(
            CheckDecision(
                CheckState.CHANGED, ImageState(ref=REF, last_checked_at=datetime(2024, 1, 1))
            )
        )
    assert store.load_state(REF) is None


def test_a_round_of_checks_is_recorded(store: Store) -> None:
    store.sync_images([REF])
    policy = WatchPolicy(notify_on_first_check=True)
    first = check(
        store, REF, Observation(T0, manifest=seen("a"), newer=NewerVersions("3.12.3", None)), policy
    )
    assert first.state is CheckState.BASELINE
    later = T0 + timedelta(hours=1)
    second = check(store, REF, Observation(later, manifest=seen("b")), policy)
    assert second.state is CheckState.CHANGED

    assert store.load_state(REF) == second.image
    assert [h.kind for h in store.history(REF)] == [
        HistoryKind.BASELINE,
        HistoryKind.DIGEST_CHANGED,
    ]
    assert store.history(REF, limit=1) == [second.history[0]]
    assert store.history(REF) == [*first.history, *second.history]

    pending = store.events(REF)
    assert [e.kind for e in pending] == [EventKind.FIRST_SEEN, EventKind.DIGEST_CHANGED]
    assert all(isinstance(e, StoredEvent) and e.state is EventState.PENDING for e in pending)
    assert [e.event for e in pending] == [*first.events, *second.events]
    assert pending[1].data["new_digest"] == digest("b")
    assert pending[1].acknowledged_at is None

    [status] = store.statuses()
    assert status == ImageStatus(state=second.image, active=True, pending=tuple(pending))
    # Without platforms (the status table): the same, but platforms neither read nor parsed.
    assert second.image.platforms
    [bare] = store.statuses(platforms=False)
    assert bare == replace(status, state=replace(second.image, platforms={}))


def test_acknowledge_clears_pending_events_of_one_image(store: Store) -> None:
    for ref in (REF, OTHER):
        check(store, ref, Observation(T0, manifest=seen("a")))
        check(store, ref, Observation(T0 + timedelta(minutes=1), manifest=seen("b")))
        check(store, ref, Observation(T0 + timedelta(minutes=2), manifest=seen("c")))
    assert len(store.events()) == 4

    at = T0 + timedelta(hours=1)
    assert store.acknowledge(REF, at=at) == 2
    assert store.acknowledge(REF) == 0
    assert store.acknowledge("never/tracked:1") == 0
    assert [e.ref for e in store.events()] == [OTHER, OTHER]
    done = store.events(REF, states=[EventState.ACKNOWLEDGED])
    assert [(e.state, e.acknowledged_at) for e in done] == [(EventState.ACKNOWLEDGED, at)] * 2
    assert len(store.events(states=list(EventState))) == 4
    assert store.events(states=[]) == []
    statuses = {s.ref: s for s in store.statuses()}
    assert statuses[REF].pending == ()
    assert len(statuses[OTHER].pending) == 2


def test_an_event_is_recorded_once_when_a_decision_is_applied_again(store: Store) -> None:
    check(store, REF, Observation(T0, manifest=seen("a")))
    previous = store.load_state(REF)
    assert previous is not None
    decision = decide(previous, Observation(T0 + timedelta(hours=1), manifest=seen("b")))
    assert decision.events
    assert decision.history

    store.apply(decision)
    store.apply(decision)  # a retry after a commit whose outcome was unknown

    assert len(store.events(REF)) == 1
    assert len(store.history(REF)) == 2
    assert store.load_state(REF) == decision.image

    # The same event id arriving in a later decision is still ignored.
    again = CheckDecision(CheckState.CHANGED, decision.image, (), decision.events)
    store.apply(again)
    assert len(store.events(REF, states=list(EventState))) == 1


def test_a_crash_mid_apply_leaves_the_previous_state(store: Store) -> None:
    check(store, REF, Observation(T0, manifest=seen("a")))
    before = store.load_state(REF)
    assert before is not None
    decision = decide(before, Observation(T0 + timedelta(hours=1), manifest=seen("b")))
    assert decision.events

    def fail_on_event_insert(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO EVENTS"):
            raise RuntimeError("injected crash")

    event.listen(store._engine, "before_cursor_execute", fail_on_event_insert)
    try:
        with pytest.raises(RuntimeError, match="injected crash"):
            store.apply(decision)
    finally:
        event.remove(store._engine, "before_cursor_execute", fail_on_event_insert)

    assert store.load_state(REF) == before
    assert len(store.history(REF)) == 1
    assert store.events(REF, states=list(EventState)) == []

    store.apply(decision)  # the retry records it all, once
    assert store.load_state(REF) == decision.image
    assert len(store.history(REF)) == 2
    assert len(store.events(REF)) == 1


def test_a_database_error_mid_apply_rolls_back_and_is_a_storage_error(store: Store) -> None:
    check(store, REF, Observation(T0, manifest=seen("a")))
    before = store.load_state(REF)
    assert before is not None
    # A NULL primary key fails on every database, after the image row was updated.
    bad = Event(None, REF, T0, DigestChanged(None, digest("z")))  # type: ignore[arg-type]
    decision = CheckDecision(
        CheckState.CHANGED,
        ImageState(ref=REF, digest=digest("z"), changes=before.changes + 1),
        (HistoryEntry(REF, T0, HistoryKind.DIGEST_CHANGED, {}),),
        (bad,),
    )
    with pytest.raises(StorageError, match="database error on"):
        store.apply(decision)
    assert store.load_state(REF) == before
    assert len(store.history(REF)) == 1


def test_unchanged_checks_do_not_grow_the_database(store: Store) -> None:
    check(store, REF, Observation(T0, manifest=seen("a")))
    rows = (count(store, "images"), count(store, "history"), count(store, "events"))
    for minute in range(1000):
        decision = check(
            store, REF, Observation(T0 + timedelta(minutes=minute + 1), manifest=seen("a"))
        )
        assert decision.state is CheckState.UNCHANGED
    assert (count(store, "images"), count(store, "history"), count(store, "events")) == rows
    state = store.load_state(REF)
    assert state is not None
    assert state.last_checked_at == T0 + timedelta(minutes=1000)


def test_decision_rows_must_belong_to_its_image(store: Store) -> None:
    with pytest.raises(ValueError, match="has rows of"):
        store.apply(
            CheckDecision(
                CheckState.CHANGED,
                ImageState(ref=REF),
                (HistoryEntry(OTHER, T0, HistoryKind.BASELINE, {}),),
            )
        )


def test_statuses_use_two_queries_whatever_the_number_of_images(store: Store) -> None:
    refs = [f"registry.example/app{i:03}:1" for i in range(50)]
    store.sync_images(refs)
    for ref in refs[::5]:
        check(
            store, ref, Observation(T0, manifest=seen("a")), WatchPolicy(notify_on_first_check=True)
        )
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(store._engine, "before_cursor_execute", record)
    try:
        statuses = store.statuses()
    finally:
        event.remove(store._engine, "before_cursor_execute", record)
    assert len(statements) == 2
    assert [s.ref for s in statuses] == refs
    assert sum(len(s.pending) for s in statuses) == 10


def test_read_only_mappings_and_times_in_data_are_stored_as_json(store: Store) -> None:
    data = MappingProxyType({"platforms": MappingProxyType({"linux/amd64": "changed"}), "at": T0})
    store.apply(
        CheckDecision(
            CheckState.CHANGED,
            ImageState(ref=REF, changes=1),
            (HistoryEntry(REF, T0, HistoryKind.DIGEST_CHANGED, data),),
            (Event("e1", REF, T0, DigestChanged(None, digest("b"), data["platforms"])),),
        )
    )
    expected = {"platforms": {"linux/amd64": "changed"}, "at": T0.isoformat()}
    assert store.history(REF)[0].data == expected
    assert store.events(REF)[0].data == {
        "old_digest": None,
        "new_digest": digest("b"),
        "changed_platforms": {"linux/amd64": "changed"},
    }


def test_record_decides_against_the_row_as_stored_now(store_url: str) -> None:
    # Two stores: two engines, two connections, as two processes would have.
    with Store.open(store_url) as one, Store.open(store_url) as two:
        check(one, REF, Observation(T0, manifest=seen("a")))
        stale = two.load_state(REF)
        assert stale is not None
        check(one, REF, Observation(T0 + timedelta(minutes=1), manifest=seen("b")))

        seen_states: list[ImageState] = []

        def decide_now(current: ImageState) -> CheckDecision | None:
            seen_states.append(current)
            return decide(current, Observation(T0 + timedelta(minutes=2), manifest=seen("c")))

        decision = two.record(REF, decide_now)
        assert decision is not None
        assert [s.digest for s in seen_states] == [digest("b")]
        assert [(e.data["old_digest"], e.data["new_digest"]) for e in decision.events] == [
            (digest("b"), digest("c"))
        ]
        kinds = [(h.kind, h.data.get("new_digest")) for h in one.history(REF)]
        assert kinds == [
            (HistoryKind.BASELINE, None),
            (HistoryKind.DIGEST_CHANGED, digest("b")),
            (HistoryKind.DIGEST_CHANGED, digest("c")),
        ]

        # Returning None records nothing at all.
        before = one.load_state(REF)
        assert two.record(REF, lambda current: None) is None
        assert one.load_state(REF) == before
        # A reference never stored is decided from an empty state.
        fresh = two.record(OTHER, lambda current: decide(
            current, Observation(T0, manifest=seen("d"))))
        assert fresh is not None
        assert fresh.state is CheckState.BASELINE
        assert one.load_state(OTHER) == fresh.image


def test_acknowledge_also_acknowledges_the_newer_versions_on_offer(store: Store) -> None:
    answers = NewerVersions("3.12.9", "3.14.0")
    check(store, REF, Observation(T0, manifest=seen("a"), newer=answers, tags_fingerprint="f"))
    state = store.load_state(REF)
    assert state is not None
    assert (state.acknowledged_same_line, state.acknowledged_newest) == (None, None)
    store.acknowledge(REF)
    state = store.load_state(REF)
    assert state is not None
    assert (state.acknowledged_same_line, state.acknowledged_newest) == ("3.12.9", "3.14.0")
    # Later checks keep what was acknowledged (only ``acknowledge`` writes it).
    check(store, REF, Observation(T0 + timedelta(minutes=1), manifest=seen("a"),
                                  newer=NewerVersions("3.12.10", "3.14.0"), tags_fingerprint="g"))
    state = store.load_state(REF)
    assert state is not None
    assert state.newer.same_line == "3.12.10"
    assert (state.acknowledged_same_line, state.acknowledged_newest) == ("3.12.9", "3.14.0")


def test_state_keeps_missing_platforms_and_tag_listing_errors(store: Store) -> None:
    policy = WatchPolicy(platforms=frozenset({"linux/amd64", "linux/s390x"}))
    observation = Observation(T0, manifest=seen("a"), tags_error="tag listing failed: 500")
    decision = check(store, REF, observation, policy)
    state = store.load_state(REF)
    assert state == decision.image
    assert state is not None
    assert state.missing_platforms == ("linux/s390x",)
    assert state.tags_error == "tag listing failed: 500"


@pytest.mark.postgres
def test_two_writers_adding_one_image_at_once_on_postgresql(postgres_server: Any) -> None:
    """The second writer's INSERT of the same new ref waits for the first transaction, then
    uses its row: no unique violation, and it decides against what the first recorded."""
    import threading

    from tests.support import wait_until

    name = postgres_server.create_database()
    url = postgres_server.url(name)
    try:
        with Store.open(url) as one, Store.open(url) as two:
            results: list[CheckDecision | BaseException | None] = []

            def second_writer() -> None:
                try:
                    results.append(two.record(REF, lambda current: decide(
                        current, Observation(T0 + timedelta(minutes=1), manifest=seen("b")))))
                except BaseException as exc:  # reported by the assertion below
                    results.append(exc)

            def blocked_on_a_lock() -> bool:
                with one._engine.connect() as connection:
                    waiting = connection.execute(sa.text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )).scalar_one()
                return bool(waiting)

            thread = threading.Thread(target=second_writer)

            def first_decision(current: ImageState) -> CheckDecision:
                # Inside the first transaction, its row inserted: let the second writer
                # run into it, and commit only once it waits.
                thread.start()
                wait_until(blocked_on_a_lock, what="the second writer to wait for the first")
                return decide(current, Observation(T0, manifest=seen("a")))

            first = one.record(REF, first_decision)
            thread.join(timeout=30)
            assert first is not None
            assert first.state is CheckState.BASELINE
            (second,) = results
            assert isinstance(second, CheckDecision), second
            assert [(e.data["old_digest"], e.data["new_digest"]) for e in second.events] == [
                (digest("a"), digest("b"))
            ]
            assert [h.kind for h in one.history(REF)] == [
                HistoryKind.BASELINE,
                HistoryKind.DIGEST_CHANGED,
            ]
    finally:
        postgres_server.drop_database(name)


def test_open_existing_never_creates_nor_migrates_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "watcher.db"
    url = f"sqlite:///{path}"
    with pytest.raises(StorageError, match=f"no database at {path} yet: run `watcher check`"):
        Store.open_existing(url, read_only=True)
    assert not path.exists()
    Store.connect(url).close()  # an empty file, never migrated
    with pytest.raises(StorageError, match=r"run `watcher db upgrade`"):
        Store.open_existing(url)
    Store.open(url).close()
    with Store.open_existing(url, read_only=True) as store:
        assert "mode=ro" in store.url
        assert store.statuses() == []
        with pytest.raises(StorageError, match="readonly"):
            store.sync_images([REF])
