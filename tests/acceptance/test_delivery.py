"""Notifications end to end: ``watcher check`` and ``watcher run`` as real processes against a
real registry and real receivers; SIGKILL at seeded random points during delivery loses
nothing; the soak window turns two moves into one notice and a move back into none."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.support import wait_until
from tests.support.receivers import Hit, HookReceiver
from tests.support.registry import RunningRegistry
from watcher.config import load_config
from watcher.service import check_images
from watcher.service.delivery import DeliveryWorker, build_channels
from watcher.store import DeliveryState, Store

WATCHER = [sys.executable, "-m", "watcher", "--log-json"]
SECRET = "hook-secret-never-printed"


def write(path: Path, registry: RunningRegistry, refs: list[str], db: Path, hook: str,
          *extra: str) -> Path:
    lines = ["[watcher]", f'database = "sqlite:///{db}"', "",
             "[[registries]]", f'host = "{registry.host}"', "insecure = true", "retries = 0",
             'timeout = "10s"', "",
             "[[notify.webhook]]", 'name = "hook"', f'url = "{hook}"',
             f'secret = "{SECRET}"', "grouped = false", 'retry_for = "1h"', *extra]
    for ref in refs:
        lines += ["", "[[images]]", f'ref = "{ref}"', "list_tags = false"]
    path.write_text("\n".join(lines) + "\n")
    return path


def ids(hits: list[Hit]) -> list[str]:
    found: list[str] = []
    for hit in hits:
        try:
            document = json.loads(hit.body)
        except ValueError:
            continue  # a send cut off by the kill before its body arrived: not a delivery
        found.extend(e["id"] for e in (document if isinstance(document, list) else [document]))
    return found


def stored(db: Path, query: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(query).fetchall()
    except sqlite3.OperationalError:  # not migrated yet
        return []
    finally:
        conn.close()


class SlowHook:
    """A receiver that takes a seeded random while to answer, widening the window in which a
    kill lands between a send and its record. Eight notices take at least 0.48 s: a kill
    within 0.4 s of the first one always lands during delivery."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def __call__(self, hit: Hit) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            pause = self._rng.uniform(0.06, 0.2)
        threading.Event().wait(pause)  # the receiver's own work, not a test waiting
        return 204, {}, b""


@pytest.fixture
def fleet(registry_open: RunningRegistry, repository: str) -> list[str]:
    refs = []
    for i in range(8):
        registry_open.push.push_image(f"{repository}/i{i}", "1")
        refs.append(str(registry_open.ref(f"{repository}/i{i}", "1")))
    return refs


def move_all(registry: RunningRegistry, refs: list[str]) -> None:
    for ref in refs:
        repository = ref.split("/", 1)[1].rsplit(":", 1)[0]
        registry.push.move_tag(repository, "1")


def all_delivered(db: Path) -> bool:
    rows = stored(db, "SELECT state FROM deliveries")
    return bool(rows) and all(state == "delivered" for (state,) in rows)


@pytest.mark.registry
@pytest.mark.parametrize("seed", [11, 12, 13])
def test_watcher_check_killed_during_delivery_loses_nothing(
    registry_open: RunningRegistry, fleet: list[str], tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    db = tmp_path / "watcher.db"
    with HookReceiver(SlowHook(seed)) as hook:
        config = write(tmp_path / "watcher.toml", registry_open, fleet, db, hook.url)
        check = [*WATCHER, "check", "--config", str(config)]
        subprocess.run(check, capture_output=True, timeout=60, check=False)  # the baseline
        move_all(registry_open, fleet)
        kills = 0
        for _ in range(6):
            process = subprocess.Popen(check, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
            try:
                # Kill once the first notices are on the wire, at a seeded random point.
                already = len(hook.hits)
                wait_until(lambda a=already, p=process: p.poll() is not None or len(hook.hits) > a,
                           timeout=60, what="a notice sent")
                threading.Event().wait(rng.uniform(0.0, 0.4))
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    kills += 1
            finally:
                process.wait(timeout=30)
            if all_delivered(db):
                break
        final = subprocess.run(check, capture_output=True, text=True, timeout=60, check=False)
        assert final.returncode == 0, final.stderr
        assert kills > 0
    events = {event_id for (event_id,) in stored(db, "SELECT id FROM events")}
    arrived = ids(hook.hits)
    assert len(events) == len(fleet)
    assert set(arrived) == events  # every event delivered, nothing else
    assert all_delivered(db)
    # A duplicate only for an event whose send was cut off by a kill: at most one per kill.
    assert len(arrived) - len(events) <= kills
    assert SECRET not in final.stderr + final.stdout


@pytest.mark.registry
@pytest.mark.parametrize("seed", [21, 22])
def test_watcher_run_killed_during_delivery_resumes_on_restart(
    registry_open: RunningRegistry, fleet: list[str], tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    db = tmp_path / "watcher.db"
    log = tmp_path / "daemon.log"
    with HookReceiver(SlowHook(seed)) as hook:
        config = write(tmp_path / "watcher.toml", registry_open, fleet, db, hook.url)
        subprocess.run([*WATCHER, "check", "--config", str(config), "--deliver-timeout", "0"],
                       capture_output=True, timeout=60, check=False)
        move_all(registry_open, fleet)
        kills = 0
        for _ in range(4):
            with log.open("ab") as out:
                process = subprocess.Popen([*WATCHER, "run", "--config", str(config)],
                                           stdout=out, stderr=out)
            try:
                already = len(hook.hits)
                wait_until(lambda a=already, p=process: p.poll() is not None
                           or len(hook.hits) > a or all_delivered(db),
                           timeout=60, what="a notice sent")
                threading.Event().wait(rng.uniform(0.0, 0.4))
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    kills += 1
            finally:
                process.wait(timeout=30)
            if all_delivered(db):
                break
        started = log.read_text().count('"watcher started"')
        with log.open("ab") as out:
            process = subprocess.Popen([*WATCHER, "run", "--config", str(config)],
                                       stdout=out, stderr=out)
        try:
            wait_until(lambda: all_delivered(db), timeout=60, what="every delivery recorded")
            wait_until(lambda: log.read_text().count('"watcher started"') > started,
                       timeout=60, what="the daemon ready for signals")
            os.kill(process.pid, signal.SIGTERM)
            assert process.wait(timeout=30) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    events = {event_id for (event_id,) in stored(db, "SELECT id FROM events")}
    arrived = ids(hook.hits)
    assert len(events) == len(fleet)
    assert set(arrived) == events
    assert len(arrived) - len(events) <= kills
    assert SECRET not in log.read_text()


@pytest.mark.registry
def test_check_exit_status_is_about_checks_not_deliveries(
    registry_open: RunningRegistry, fleet: list[str], tmp_path: Path
) -> None:
    db = tmp_path / "watcher.db"
    with HookReceiver(lambda hit: (500, {}, b"receiver broken")) as hook:
        config = write(tmp_path / "watcher.toml", registry_open, fleet[:2], db, hook.url)
        check = [*WATCHER, "check", "--config", str(config)]
        subprocess.run(check, capture_output=True, timeout=60, check=False)
        move_all(registry_open, fleet[:2])
        result = subprocess.run(check, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "notifications: 2 to retry" in result.stderr
    assert "receiver broken" in result.stderr
    assert SECRET not in result.stderr + result.stdout
    rows = stored(db, "SELECT state, attempts FROM deliveries")
    assert rows == [("pending", 1), ("pending", 1)]


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.registry
def test_soak_two_moves_give_one_net_notice_and_a_move_back_gives_none(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    """With ``soak = "1h"`` and a test clock: rounds at 0, 10 and 20 minutes."""

    push = registry_open.push
    moving, back = f"{repository}/moving", f"{repository}/back"
    first = {moving: push.push_image(moving, "1"), back: push.push_image(back, "1")}
    refs = [str(registry_open.ref(moving, "1")), str(registry_open.ref(back, "1"))]
    db = tmp_path / "watcher.db"
    clock = Clock()
    with HookReceiver(lambda hit: (204, {}, b"")) as hook:
        config = load_config(write(tmp_path / "watcher.toml", registry_open, refs, db,
                                   hook.url, "", "[notify]", 'soak = "1h"'))
        with Store.open(config.database) as store:
            channels, problems = build_channels(config)
            assert problems == {}
            worker = DeliveryWorker(store, channels, clock, random.Random(1))

            def round_then_deliver() -> None:
                asyncio.run(check_images(config, store, config.images, clock=clock))
                asyncio.run(worker.deliver_due(time.monotonic() + 20))

            round_then_deliver()  # baselines
            middle = push.move_tag(moving, "1")
            push.move_tag(back, "1")
            clock.now += timedelta(minutes=10)
            round_then_deliver()
            newest = push.move_tag(moving, "1")
            push.put_manifest(back, "1", *_manifest(registry_open, back, first[back]))
            clock.now += timedelta(minutes=10)
            round_then_deliver()
            assert hook.hits == []  # everything still soaking
            clock.now += timedelta(minutes=61)
            round_then_deliver()
            deliveries = store.deliveries()
    (hit,) = hook.hits
    (event,) = json.loads(hit.body) if hit.body.startswith(b"[") else [json.loads(hit.body)]
    assert event["subject"] == refs[0]
    assert event["data"]["old_digest"] == first[moving]
    assert event["data"]["new_digest"] == newest
    assert middle not in (event["data"]["old_digest"], event["data"]["new_digest"])
    superseded = [d for d in deliveries if d.state is DeliveryState.SUPERSEDED]
    assert len(superseded) == 3  # moving's first move, back's move and its move back
    assert any(d.note and "moved back" in d.note for d in superseded)


def _manifest(registry: RunningRegistry, repository: str, digest: str) -> tuple[bytes, str]:
    """The manifest stored under ``digest``, to push it again under the tag."""
    response = httpx.get(f"{registry.url}/v2/{repository}/manifests/{digest}",
                         headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    response.raise_for_status()
    return response.content, response.headers["content-type"]


class GateHook:
    """A receiver that holds each request until ``release`` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, hit: Hit) -> tuple[int, dict[str, str], bytes]:
        self.release.wait(60)
        return 204, {}, b""


def _daemon(config: Path, log: Path, *options: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([*WATCHER, "run", "--config", str(config), *options],
                                stdout=out, stderr=out)


@pytest.mark.registry
def test_run_stop_waits_for_the_send_in_flight(
    registry_open: RunningRegistry, fleet: list[str], tmp_path: Path
) -> None:
    db, log, gate = tmp_path / "watcher.db", tmp_path / "daemon.log", GateHook()
    with HookReceiver(gate) as hook:
        config = write(tmp_path / "watcher.toml", registry_open, fleet[:1], db, hook.url)
        subprocess.run([*WATCHER, "check", "--config", str(config)], capture_output=True,
                       timeout=60, check=False)
        move_all(registry_open, fleet[:1])
        process = _daemon(config, log, "--stop-timeout", "30s")
        try:
            wait_until(lambda: len(hook.hits) == 1, timeout=60, what="the send in flight")
            os.kill(process.pid, signal.SIGTERM)
            wait_until(lambda: '"stopping"' in log.read_text(), timeout=30, what="stopping")
            gate.release.set()
            assert process.wait(timeout=30) == 0
        finally:
            gate.release.set()
            if process.poll() is None:
                process.kill()
                process.wait()
    assert stored(db, "SELECT state FROM deliveries") == [("delivered",)]


@pytest.mark.registry
def test_run_stop_is_bounded_and_the_send_stays_due(
    registry_open: RunningRegistry, fleet: list[str], tmp_path: Path
) -> None:
    db, log, gate = tmp_path / "watcher.db", tmp_path / "daemon.log", GateHook()
    with HookReceiver(gate) as hook:
        config = write(tmp_path / "watcher.toml", registry_open, fleet[:1], db, hook.url)
        subprocess.run([*WATCHER, "check", "--config", str(config)], capture_output=True,
                       timeout=60, check=False)
        move_all(registry_open, fleet[:1])
        process = _daemon(config, log, "--stop-timeout", "1s")
        try:
            wait_until(lambda: len(hook.hits) == 1, timeout=60, what="the send in flight")
            os.kill(process.pid, signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            gate.release.set()
            if process.poll() is None:
                process.kill()
                process.wait()
    assert "sends still running at the stop timeout were abandoned" in log.read_text()
    assert stored(db, "SELECT state, attempts FROM deliveries") == [("pending", 0)]


@pytest.mark.registry
def test_check_delivery_is_bounded_by_its_timeout(
    registry_open: RunningRegistry, fleet: list[str], tmp_path: Path
) -> None:
    db, gate = tmp_path / "watcher.db", GateHook()
    with HookReceiver(gate) as hook:
        config = write(tmp_path / "watcher.toml", registry_open, fleet[:1], db, hook.url)
        check = [*WATCHER, "check", "--config", str(config)]
        subprocess.run(check, capture_output=True, timeout=60, check=False)
        move_all(registry_open, fleet[:1])
        started = time.monotonic()
        result = subprocess.run([*check, "--deliver-timeout", "1s"], capture_output=True,
                                text=True, timeout=60, check=False)
        took = time.monotonic() - started
        gate.release.set()
        assert len(hook.hits) == 1
    assert result.returncode == 0, result.stderr
    assert took < 15
    assert "1 left for the next run" in result.stderr
    assert stored(db, "SELECT state, attempts FROM deliveries") == [("pending", 0)]
