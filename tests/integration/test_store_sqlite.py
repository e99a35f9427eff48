"""SQLite specifics: pragmas, BEGIN IMMEDIATE for writes, readers never blocked by the writer."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from watcher.core.changes import CheckDecision, CheckState, ImageState
from watcher.errors import StorageError
from watcher.store import Store

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "watcher.db"


@pytest.fixture
def store(path: Path) -> Iterator[Store]:
    with Store.open(f"sqlite:///{path}") as opened:
        yield opened


def checked(ref: str, at: datetime, changes: int = 0) -> CheckDecision:
    return CheckDecision(
        CheckState.UNCHANGED, ImageState(ref=ref, last_checked_at=at, changes=changes)
    )


def test_connections_use_wal_foreign_keys_and_a_busy_timeout(store: Store) -> None:
    with store._engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() == 5000


def test_writes_begin_immediate_and_reads_begin_deferred(store: Store) -> None:
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("BEGIN"):
            statements.append(statement)

    event.listen(store._engine, "before_cursor_execute", record)
    try:
        store.apply(checked("a/b:1", T0))
        assert statements == ["BEGIN IMMEDIATE"]
        store.statuses()
        store.load_state("a/b:1")
        assert statements == ["BEGIN IMMEDIATE", "BEGIN", "BEGIN"]
        store.acknowledge("a/b:1")
        store.sync_images(["a/b:1"])
        assert statements[3:] == ["BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]
    finally:
        event.remove(store._engine, "before_cursor_execute", record)


def test_reads_go_on_while_another_process_holds_the_write_lock(store: Store, path: Path) -> None:
    store.apply(checked("a/b:1", T0))
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE images SET changes = 99")
        # The uncommitted write is invisible, and reading does not wait for it.
        [status] = store.statuses()
        assert status.state.changes == 0
        other.execute("COMMIT")
        [status] = store.statuses()
        assert status.state.changes == 99
    finally:
        other.close()


def test_a_write_waits_for_the_lock_instead_of_failing(store: Store, path: Path) -> None:
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        release = threading.Timer(0.3, lambda: other.execute("COMMIT"))
        release.start()
        store.apply(checked("a/b:1", T0))  # blocks in BEGIN IMMEDIATE until the commit
        release.join()
    finally:
        other.close()
    assert store.load_state("a/b:1") is not None


def test_two_stores_on_one_file_write_concurrently_without_lock_errors(path: Path) -> None:
    url = f"sqlite:///{path}"
    Store.open(url).close()
    errors: list[BaseException] = []

    def writer(name: str) -> None:
        try:
            with Store.open(url, upgrade=False) as own:
                for i in range(100):
                    own.apply(checked(f"{name}:{i % 5}", T0 + timedelta(seconds=i), changes=i))
                    own.statuses()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"img{n}/x",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with Store.open(url, upgrade=False) as store:
        assert len(store.statuses()) == 20


def test_an_in_memory_database_works_for_quick_use() -> None:
    with Store.open("sqlite://") as store:
        store.sync_images(["a/b:1"])
        assert list(store.load_states()) == ["a/b:1"]


def test_relative_paths_are_relative_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Store.open("sqlite:///relative.db").close()
    assert (tmp_path / "relative.db").is_file()


# --- opening a database that must exist (status, history, ack) ---------------------------------


def test_open_existing_refuses_a_missing_file_and_creates_none(path: Path) -> None:
    with pytest.raises(StorageError, match=r"no database at .*watcher\.db yet: run `watcher"):
        Store.open_existing(f"sqlite:///{path}")
    assert not path.exists()


def test_open_existing_read_only_reads_and_never_writes(path: Path, store: Store) -> None:
    store.sync_images(["registry.test/app:1"])
    before = path.read_bytes()
    with Store.open_existing(f"sqlite:///{path}", read_only=True) as reader:
        assert [s.state.ref for s in reader.statuses()] == ["registry.test/app:1"]
        with pytest.raises(StorageError):
            reader.sync_images(["registry.test/app:2"])
    assert [s.state.ref for s in store.statuses()] == ["registry.test/app:1"]
    assert path.read_bytes() == before
