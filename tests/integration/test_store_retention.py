"""Retention on real SQLite files and PostgreSQL: what is pruned, what is kept, batch by batch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from watcher.store import Store
from watcher.store.schema import deliveries, delivery_attempts, events, history, images

NOW = datetime(2026, 6, 1, tzinfo=UTC)
OLD = NOW - timedelta(days=500)
CUTOFF = NOW - timedelta(days=400)


def _image(conn: sa.Connection, ref: str) -> int:
    row = {"ref": ref, "active": True, "added_at": OLD, "platforms": {}, "removed": False,
           "changes": 3, "failure_count": 0}
    return int(conn.execute(sa.insert(images).values(row)).inserted_primary_key[0])


def _event(conn: sa.Connection, image_id: int, eid: str, at: datetime, *, acked: bool,
           states: tuple[str, ...] = ("delivered",)) -> None:
    conn.execute(sa.insert(events).values(id=eid, image_id=image_id, kind="digest_changed",
                                          created_at=at, data={},
                                          acknowledged_at=at if acked else None))
    conn.execute(sa.insert(history).values(image_id=image_id, at=at, kind="digest_changed",
                                           data={"event": eid}))
    for n, state in enumerate(states):
        did = conn.execute(sa.insert(deliveries).values(
            event_id=eid, channel=f"c{n}", state=state, round_id="r", not_before=at,
            expires_at=at, attempts=1)).inserted_primary_key[0]
        conn.execute(sa.insert(delivery_attempts).values(delivery_id=did, at=at,
                                                         outcome="delivered"))


def _fill(store: Store) -> None:
    engine = sa.create_engine(store._engine.url)
    with engine.begin() as conn:
        a = _image(conn, "r/a:1")
        conn.execute(sa.insert(history).values(image_id=a, at=OLD - timedelta(days=1),
                                               kind="baseline", data={}))
        for n in range(7):  # old, acknowledged, delivered: all but the newest go
            _event(conn, a, f"done{n}", OLD + timedelta(minutes=n), acked=True)
        _event(conn, a, "pending", OLD + timedelta(hours=1), acked=False)
        _event(conn, a, "failed", OLD + timedelta(hours=2), acked=True,
               states=("delivered", "failed"))
        _event(conn, a, "recent", NOW - timedelta(days=1), acked=True)
        for n in range(5):  # failing rows: the newest of the kind stays
            conn.execute(sa.insert(history).values(image_id=a, at=OLD + timedelta(days=n),
                                                   kind="failing", data={"n": n}))
    engine.dispose()


def _ids(store: Store, table: sa.Table, column: str) -> set[object]:
    engine = sa.create_engine(store._engine.url)
    with engine.connect() as conn:
        found = set(conn.scalars(sa.select(table.c[column])))
    engine.dispose()
    return found


def test_prune_keeps_what_explains_the_state_and_deletes_the_rest(store_url: str) -> None:
    with Store.open(store_url) as store:
        _fill(store)
        dry = store.prunable(CUTOFF)
        assert (dry.events, dry.deliveries, dry.attempts) == (7, 7, 7)
        # history: 7 event rows (those of done0-done6) minus none kept by kind (the newest
        # digest_changed row is "recent"'s), plus 4 of the 5 failing rows; the baseline stays.
        assert dry.history == 7 + 4
        assert store.stats().rows["events"] == 10

        batches = []
        counts = store.prune(CUTOFF, batch=3, on_batch=batches.append)
        assert counts.events == 7
        assert counts.history == 11
        assert counts.deliveries == 7
        assert counts.attempts == 7
        assert [b.events for b in batches if b.events] == [3, 3, 1]
        assert [b.history for b in batches if b.history] == [3, 3, 3, 2]
        assert counts.batches == 7

        assert _ids(store, events, "id") == {"pending", "failed", "recent"}
        kept = {(e.kind.value, e.data.get("event"), e.data.get("n"))
                for e in store.history("r/a:1")}
        assert kept == {("baseline", None, None), ("digest_changed", "pending", None),
                        ("digest_changed", "failed", None), ("digest_changed", "recent", None),
                        ("failing", None, 4)}
        assert len(_ids(store, deliveries, "id")) == 4  # pending's, failed's two, recent's
        assert store.load_state("r/a:1") is not None
        assert store.prunable(CUTOFF).total == 0
        assert store.prune(CUTOFF).total == 0


def test_prune_stops_between_batches_when_asked(store_url: str) -> None:
    with Store.open(store_url) as store:
        _fill(store)
        calls = []

        def stop() -> bool:
            calls.append(1)
            return len(calls) > 1

        counts = store.prune(CUTOFF, batch=2, should_stop=stop)
        assert counts.batches == 1
        assert counts.events == 2
        assert store.prunable(CUTOFF).events == 5


def test_stats_count_rows_and_size(store_url: str) -> None:
    with Store.open(store_url) as store:
        _fill(store)
        found = store.stats()
    assert found.rows["images"] == 1
    assert found.rows["history"] == 16
    assert found.rows["deliveries"] == 11
    assert found.pending_events == 1
    assert found.oldest_history == OLD - timedelta(days=1)
    assert found.newest_history == NOW - timedelta(days=1)
    assert found.size
    assert found.size > 0
    if found.backend == "postgresql":
        assert set(found.table_sizes) >= {"history", "events"}
