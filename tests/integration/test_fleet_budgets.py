"""A shared replica (a Runtime with ``replicas = "shared"`` on a real PostgreSQL database and
the real registry) keeps a registry budget that another replica found spent: the images of
that registry are given back unchecked, due when its window ends, while the others are
checked; and a replica that joins later with an older config does not bring back what the
newer one dropped."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import structlog.testing

from tests.support import wait_until
from tests.support.proxy import GatedProxy
from tests.support.registry import RunningRegistry
from watcher.config import Config, parse_config
from watcher.service import sharing
from watcher.service.runtime import Runtime
from watcher.service.sharing import sync_image_set
from watcher.store import Heartbeat, RegistryBudget, Store

pytestmark = [pytest.mark.postgres, pytest.mark.registry]


def _config(url: str, refs: list[str], hosts: list[str], name: str) -> Config:
    return parse_config({
        "watcher": {"database": url, "replicas": "shared", "lease": "3s", "interval": "1h",
                    "jitter": 0, "instance": name},
        "registries": [{"host": h, "insecure": True, "retries": 0} for h in hosts],
        "images": [{"ref": r, "list_tags": False} for r in refs],
    })


def _rows(url: str, query: str) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(sa.text(query))]
    finally:
        engine.dispose()


def test_a_spent_budget_holds_its_registry_fleet_wide(
    registry_open: RunningRegistry, repository: str, postgres_server: Any,
) -> None:
    name = postgres_server.create_database()
    url = postgres_server.url(name)
    for n in range(3):
        registry_open.push.push_image(f"{repository}/i{n}", "1")
    try:
        with GatedProxy(registry_open.url, free=10**9) as spent:
            direct = [f"{registry_open.host}/{repository}/i{n}:1" for n in range(3)]
            held = [f"{spent.host}/{repository}/i{n}:1" for n in range(3)]
            window_ends = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=6)
            with Store.open(url) as store:  # what another replica recorded of that registry
                store.record_registry_budgets([RegistryBudget(
                    spent.host, window_ends - timedelta(hours=6), limit=100, remaining=1,
                    window_seconds=6 * 3600.0)])
            config = _config(url, direct + held, [registry_open.host, spent.host], "r1")

            async def main() -> None:
                runtime = Runtime(config)
                await runtime.start()
                try:
                    await asyncio.to_thread(
                        wait_until, lambda: len(_rows(
                            url, "SELECT ref FROM images WHERE last_checked_at IS NOT NULL"
                            " OR next_check_at IS NOT NULL")) == 6,
                        timeout=30, what="every image checked or put off")
                finally:
                    await runtime.stop()

            asyncio.run(main())
            assert [s for s in spent.seen if "/manifests/" in s.path] == []
        rows = dict(_rows(url, "SELECT ref, last_checked_at IS NOT NULL FROM images"))
        assert {ref for ref, checked in rows.items() if checked} == set(direct)
        put_off = dict(_rows(url, "SELECT ref, next_check_at FROM images"))
        assert {put_off[ref] for ref in held} == {window_ends}
    finally:
        postgres_server.drop_database(name)


def test_a_replica_with_an_older_config_does_not_bring_back_what_a_newer_one_dropped(
    registry_open: RunningRegistry, repository: str, postgres_server: Any,
) -> None:
    name = postgres_server.create_database()
    url = postgres_server.url(name)
    refs = [f"{registry_open.host}/{repository}/i{n}:1" for n in range(4)]
    for n in range(4):
        registry_open.push.push_image(f"{repository}/i{n}", "1")
    hosts = [registry_open.host]
    old, new = _config(url, refs[:3], hosts, "old"), _config(url, refs[1:], hosts, "new")
    try:
        async def main() -> None:
            first = Runtime(old)
            await first.start()  # version 1: i0..i2
            newer = Runtime(new)
            await newer.start()  # a new set: version 2, i0 dropped
            await first.reload(old)  # the old replica re-reads its old file: behind, no write
            await first.reload(old)  # and again: still behind (it follows version 1)
            late = Runtime(_config(url, refs[:3], hosts, "late"))
            await late.start()  # a replica started later with the old file: behind too
            try:
                active = {r for (r,) in _rows(url, "SELECT ref FROM images WHERE active")}
                assert active == set(refs[1:])
                versions = _rows(url, "SELECT name, config_version FROM replicas ORDER BY name")
                assert versions == [("late", 1), ("new", 2), ("old", 1)]
                assert _rows(url, "SELECT max(version) FROM image_set_versions") == [(2,)]
            finally:
                for runtime in (late, newer, first):
                    await runtime.stop()

        asyncio.run(main())
    finally:
        postgres_server.drop_database(name)


def test_a_replica_restarted_under_its_name_gives_back_the_claims_of_its_previous_life(
    registry_open: RunningRegistry, repository: str, postgres_server: Any,
) -> None:
    name = postgres_server.create_database()
    url = postgres_server.url(name)
    refs = [f"{registry_open.host}/{repository}/i{n}:1" for n in range(3)]
    for n in range(3):
        registry_open.push.push_image(f"{repository}/i{n}", "1")
    config = _config(url, refs, [registry_open.host], "r1")
    try:
        with Store.open(url) as store:  # r1's previous life claimed everything, then died
            store.sync_images(refs)
            now = datetime.now(UTC)
            assert len(store.claim_due_images("r1", now, 3600.0, 10)) == 3
            store.heartbeat(Heartbeat("r1", now - timedelta(hours=1), now, 0.0, 0), 3600.0)

        async def main() -> None:
            runtime = Runtime(config)
            await runtime.start()  # the same name: its heartbeat would renew those claims
            try:
                await asyncio.to_thread(
                    wait_until, lambda: _rows(url, "SELECT count(*) FROM images WHERE "
                                                   "last_checked_at IS NOT NULL") == [(3,)],
                    timeout=30, what="the images of the previous life checked")
            finally:
                await runtime.stop()

        asyncio.run(main())
    finally:
        postgres_server.drop_database(name)


@pytest.mark.parametrize("max_skip", [sharing.MAX_SKIP, 1])
def test_a_replica_with_an_older_config_gives_back_at_once_what_it_does_not_track(
    registry_open: RunningRegistry, repository: str, postgres_server: Any, max_skip: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The database follows a newer image set (i0..i3) than the old replica's file (i0, i1).
    The old replica checks its own images, gives the two it does not know back unchecked and
    due as they were, says so once, and leaves them out of its claims (or, past
    ``MAX_SKIP``, gives them back at once each time); a replica with the newer config then
    checks them long before the old replica's lease (ten minutes) could expire."""
    monkeypatch.setattr(sharing, "MAX_SKIP", max_skip)
    name = postgres_server.create_database()
    url = postgres_server.url(name)
    refs = [f"{registry_open.host}/{repository}/i{n}:1" for n in range(4)]
    for n in range(4):
        registry_open.push.push_image(f"{repository}/i{n}", "1")
    hosts = [registry_open.host]

    def shared(refs: list[str], instance: str) -> Config:
        return parse_config({
            "watcher": {"database": url, "replicas": "shared", "lease": "10m",
                        "interval": "1h", "jitter": 0, "instance": instance},
            "registries": [{"host": h, "insecure": True, "retries": 0} for h in hosts],
            "images": [{"ref": r, "list_tags": False} for r in refs],
        })

    old, new = shared(refs[:2], "old"), shared(refs, "new")
    checked = "SELECT ref FROM images WHERE last_checked_at IS NOT NULL ORDER BY ref"
    try:
        with Store.open(url) as store:  # version 1 from the old file, then version 2
            first = sync_image_set(store, old, known=None, by="old")
            assert sync_image_set(store, new, known=first.follows, by="new").version == 2

        async def main() -> list[dict[str, Any]]:
            with structlog.testing.capture_logs() as logs:
                behind = Runtime(old)
                await behind.start()
                try:
                    await asyncio.to_thread(
                        wait_until, lambda: [r for (r,) in _rows(url, checked)] == refs[:2]
                        and any("does not" in e["event"] for e in logs),
                        timeout=30, what="the old replica's own images checked")
                    await asyncio.to_thread(
                        wait_until, lambda: _rows(url, "SELECT count(*) FROM images WHERE "
                                                       "lease_owner IS NOT NULL") == [(0,)],
                        timeout=10, what="no lease left held")
                    untouched = _rows(url, "SELECT ref, next_check_at, lease_owner FROM images"
                                           " WHERE last_checked_at IS NULL ORDER BY ref")
                    assert untouched == [(refs[2], None, None), (refs[3], None, None)]
                    newer = Runtime(new)
                    await newer.start()
                    try:
                        await asyncio.to_thread(
                            wait_until, lambda: [r for (r,) in _rows(url, checked)] == refs,
                            timeout=30, what="the newer replica checking the rest")
                    finally:
                        await newer.stop()
                finally:
                    await behind.stop()
            return [e for e in logs if e.get("replica") == "old"]

        said = [e for e in asyncio.run(main()) if "does not" in e["event"]]
        assert len(said) == 1
        assert (said[0]["images"], said[0]["image_set_version"]) == (2, 1)
    finally:
        postgres_server.drop_database(name)
