"""The daemon's retention job: a Runtime on a real SQLite file prunes on its own schedule."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from tests.support import wait_until
from watcher.config import parse_config
from watcher.service.runtime import Runtime
from watcher.store import Store
from watcher.store.schema import events, history, images

OLD = datetime.now(UTC) - timedelta(days=500)


def _fill(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        image = conn.execute(sa.insert(images).values(
            ref="127.0.0.1:1/old/app:1", active=True, added_at=OLD, platforms={},
            removed=False, changes=3, failure_count=0)).inserted_primary_key[0]
        for n in range(4):  # old rows of one kind: all but the newest may go
            conn.execute(sa.insert(history).values(image_id=image, at=OLD + timedelta(hours=n),
                                                   kind="failing", data={"n": n}))
        conn.execute(sa.insert(events).values(id="e-pending", image_id=image,
                                              kind="digest_changed",
                                              created_at=OLD - timedelta(days=1), data={}))
    engine.dispose()


def _count(url: str, table: sa.Table) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = int(conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
    engine.dispose()
    return found


def test_the_daemon_prunes_on_its_own_schedule(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'watcher.db'}"
    Store.open(url).close()  # migrated
    _fill(url)
    config = parse_config({"watcher": {"database": url, "keep_history": "30d",
                                       "first_check": "scheduled", "interval": "1h"},
                           "images": [{"ref": "127.0.0.1:1/old/app:1"}]})

    async def main() -> None:
        runtime = Runtime(config, first_prune=0.05, prune_every=3600)
        await runtime.start()
        try:
            await asyncio.to_thread(wait_until, lambda: _count(url, history) == 1,
                                    timeout=30, what="the retention job's prune")
        finally:
            await runtime.stop()

    asyncio.run(main())
    assert _count(url, history) == 1  # the newest row of its kind explains the state
    assert _count(url, events) == 1  # never acknowledged: kept
