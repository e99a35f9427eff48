"""Several processes on one database at once: replicas that start together, a ``watcher
check`` beside the daemon. Each process has its own engine and connections, as separate
processes do; migrations run as real ``watcher db upgrade`` processes."""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support import wait_until
from watcher.store import Store, migrate

WRITERS = 4
ROUNDS = 5
OLD = [f"registry.example/app{i:04}:1" for i in range(300)]
# The config after a change: a third of the images dropped, some added.
NEW = [ref for i, ref in enumerate(OLD) if i % 3] + [
    f"registry.example/new{i:03}:1" for i in range(50)
]


def _at_once(count: int, work: Callable[[int], None]) -> list[BaseException]:
    """Run ``work(0..count-1)`` in threads released together; the errors they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(index)
        except BaseException as exc:  # reported by the caller's assertion
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer never finished"
    return errors


def _images(store: Store) -> list[tuple[str, bool]]:
    with store._engine.connect() as connection:
        return [
            (row.ref, row.active)
            for row in connection.execute(sa.text("SELECT ref, active FROM images ORDER BY ref"))
        ]


def test_writers_syncing_the_same_images_in_any_order_at_once(store_url: str) -> None:
    """The same images listed in different orders (one config, reordered): no error."""
    Store.open(store_url).close()
    stores = [Store.open(store_url) for _ in range(WRITERS)]
    try:

        def sync(index: int) -> None:
            refs = list(OLD)
            random.Random(index).shuffle(refs)
            for _ in range(ROUNDS):
                stores[index].sync_images(refs)

        assert _at_once(WRITERS, sync) == []
        assert _images(stores[0]) == [(ref, True) for ref in sorted(OLD)]
    finally:
        for store in stores:
            store.close()


def test_writers_syncing_different_image_lists_at_once(store_url: str) -> None:
    """Replicas on the old and on the new config syncing together: no error (no deadlock),
    and syncs do not interleave: the active images are exactly one of the two lists."""
    with Store.open(store_url) as first:
        first.sync_images(OLD)
    stores = [Store.open(store_url) for _ in range(WRITERS)]
    try:

        def sync(index: int) -> None:
            for turn in range(ROUNDS):
                refs = list(NEW if (index + turn) % 2 else OLD)
                random.Random(index * ROUNDS + turn).shuffle(refs)
                stores[index].sync_images(refs)

        assert _at_once(WRITERS, sync) == []
        rows = _images(stores[0])
    finally:
        for store in stores:
            store.close()
    assert [ref for ref, _ in rows] == sorted(set(OLD) | set(NEW))
    assert {ref for ref, active in rows if active} in (set(OLD), set(NEW))


def _waiting_for_advisory_locks(engine: sa.Engine) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks JOIN pg_database ON pg_database.oid = database"
                    " WHERE datname = current_database() AND locktype = 'advisory'"
                    " AND NOT granted"
                )
            ).scalar_one()
        )


def _upgrade_at_once(url: str, count: int, *, hold: bool) -> list[tuple[int, str]]:
    """Start ``count`` ``watcher db upgrade`` processes together: (exit status, output) each.

    With ``hold`` (PostgreSQL), the test holds the migration lock until every one of them
    waits for it, so that all of them are inside their migration at the same moment.
    """
    command = [sys.executable, "-m", "watcher", "db", "upgrade", "--database", url]
    with contextlib.ExitStack() as stack:
        if hold:
            engine = sa.create_engine(url)
            stack.callback(engine.dispose)
            holder = stack.enter_context(engine.connect())
            holder.execute(sa.select(sa.func.pg_advisory_lock(migrate.MIGRATION_LOCK)))
        processes = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for _ in range(count)
        ]
        for process in processes:
            stack.callback(_reap, process)
        if hold:
            wait_until(
                lambda: _waiting_for_advisory_locks(engine) == count,
                timeout=30,
                what=f"{count} watcher processes to wait for the migration lock",
            )
            holder.execute(sa.select(sa.func.pg_advisory_unlock(migrate.MIGRATION_LOCK)))
        outputs = [process.communicate(timeout=60)[0] for process in processes]
    return [(p.returncode, out) for p, out in zip(processes, outputs, strict=True)]


def _reap(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
        process.wait()


def _assert_all_succeeded(results: list[tuple[int, str]]) -> None:
    for status, output in results:
        assert status == 0, output
        assert "error" not in output.lower(), output
    # Each read the revision under the lock: one migrated, the others found it done.
    said = sorted("upgraded from" if "upgraded from" in out else out for _, out in results)
    assert said[-1] == "upgraded from", said
    assert all("already at revision" in out for out in said[:-1]), said


@pytest.mark.postgres
@pytest.mark.parametrize("hold", [True, False], ids=["all-inside-at-once", "started-together"])
def test_three_processes_upgrading_an_empty_postgresql_database_at_once(
    postgres_server: Any, hold: bool
) -> None:
    name = postgres_server.create_database()
    url = postgres_server.url(name)
    try:
        _assert_all_succeeded(_upgrade_at_once(url, 3, hold=hold))
        engine = sa.create_engine(url)
        try:
            with engine.connect() as connection:
                versions = connection.execute(sa.text("SELECT * FROM alembic_version")).all()
                assert [tuple(row) for row in versions] == [(migrate.head_revision(),)]
        finally:
            engine.dispose()
        with Store.open(url, upgrade=False) as store:  # at head: usable without migrating
            store.sync_images(OLD[:3])
            assert [ref for ref, _ in _images(store)] == OLD[:3]
    finally:
        postgres_server.drop_database(name)


def test_three_processes_upgrading_an_empty_sqlite_file_at_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'watcher.db'}"
    _assert_all_succeeded(_upgrade_at_once(url, 3, hold=False))
    with Store.open(url, upgrade=False) as store:
        assert store.current_revision() == migrate.head_revision()
