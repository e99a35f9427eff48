"""Three ``watcher run`` replicas sharing one PostgreSQL database (``replicas = "shared"``),
as real processes against the real registry, behind a loopback proxy that counts every
request they send: each image is checked once per interval, by one replica at a time; every
notice is sent once; a replica killed mid-round leaves its images to the others within one
lease; three started together on an empty database migrate it once."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support import wait_until
from tests.support.daemon import start_daemon, stop_daemon
from tests.support.httpservers import Reply, Seen
from tests.support.postgres import PostgresServer
from tests.support.proxy import GatedProxy
from tests.support.receivers import Hit, HookReceiver
from tests.support.registry import RunningRegistry
from watcher.store import migrate

pytestmark = [pytest.mark.registry, pytest.mark.postgres]

REPOSITORIES = 30
TAGS = 10  # per repository: 300 images
INTERVAL = 3.0  # seconds
KILL_INTERVAL = 10.0  # longer: a takeover's recheck (within a lease) apart from the cadence
TICK = 1.0  # a replica looks for due work at least this often
LEASE = 3.0
BATCH = 20
NAMES = ("replica-a", "replica-b", "replica-c")


class CountingProxy(GatedProxy):
    """Forwards every request at once, noting when each manifest HEAD arrived."""

    def __init__(self, upstream: str) -> None:
        super().__init__(upstream, free=10**9)
        self.heads: list[tuple[float, str]] = []  # (monotonic time, repository:tag)
        self._noting = threading.Lock()

    def hold(self) -> None:
        """From now on, requests wait in the proxy until :meth:`release`."""
        with self._lock:
            self._free = self._arrived
            self._released.clear()

    def _handle(self, seen: Seen) -> Reply:
        if seen.method == "HEAD" and "/manifests/" in seen.path:
            repository, _, tag = seen.path.removeprefix("/v2/").partition("/manifests/")
            with self._noting:
                self.heads.append((time.monotonic(), f"{repository}:{tag}"))
        return super()._handle(seen)


@dataclass
class Fleet:
    database: str
    proxy: CountingProxy
    engine: sa.Engine
    refs: list[str]
    config: Path
    directory: Path
    processes: dict[str, subprocess.Popen[bytes]]

    def start(self, name: str) -> subprocess.Popen[bytes]:
        env = {**os.environ, "WATCHER_INSTANCE": name}
        process = start_daemon(self.config, self.directory / f"{name}.log", env=env)
        self.processes[name] = process
        return process

    def log(self, name: str) -> list[dict[str, Any]]:
        lines = []
        for line in (self.directory / f"{name}.log").read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
        return lines

    def heads(self) -> Counter[str]:
        """HEAD requests for a manifest, per ``repository:tag``."""
        return Counter(key for _, key in list(self.proxy.heads))

    def closer_than(self, seconds: float) -> Counter[str]:
        """Per ``repository:tag``, how many of its HEADs came within ``seconds`` of the one
        before: checks twice in one interval."""
        last: dict[str, float] = {}
        found: Counter[str] = Counter()
        for at, key in list(self.proxy.heads):
            if key in last and at - last[key] < seconds:
                found[key] += 1
            last[key] = at
        return found

    def query(self, text: str) -> list[tuple[Any, ...]]:
        try:
            with self.engine.connect() as connection:
                return [tuple(row) for row in connection.execute(sa.text(text))]
        except sa.exc.ProgrammingError:  # not migrated yet
            return []


class Gate:
    """A webhook receiver's answer: 204 at once while open; while shut, each request waits
    (in its server thread) until the gate opens."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.open.set()

    def __call__(self, hit: Hit) -> tuple[int, dict[str, str], bytes]:
        self.open.wait(60)
        return 204, {}, b""


def _push(registry: RunningRegistry, repository: str) -> list[tuple[str, str]]:
    """REPOSITORIES repositories of TAGS tags each (one image per repository, tagged TAGS
    times); returns (repository, tag) pairs."""
    pairs = []
    for r in range(REPOSITORIES):
        name = f"{repository}/r{r:02}"
        body, media_type = registry.push.image_manifest(name)
        for t in range(TAGS):
            registry.push.put_manifest(name, f"t{t}", body, media_type)
            pairs.append((name, f"t{t}"))
    return pairs


def _write_config(path: Path, database: str, host: str, pairs: list[tuple[str, str]],
                  hook: str, interval: float) -> None:
    lines = ["[watcher]", f'database = "{database}"', 'replicas = "shared"',
             f'interval = "{interval:g}s"', "jitter = 0", f'lease = "{LEASE:g}s"',
             f"claim_batch = {BATCH}", 'keep_history = "forever"', "",
             "[[registries]]", f'host = "{host}"', "insecure = true", "retries = 0", "",
             "[[notify.webhook]]", 'name = "hook"', f'url = "{hook}"', "grouped = false",
             'retry_for = "1h"']
    for repository, tag in pairs:
        lines += ["", "[[images]]", f'ref = "{host}/{repository}:{tag}"', "list_tags = false"]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def interval() -> float:
    """The fleet's check interval (a test parametrizes it to change it)."""
    return INTERVAL


@pytest.fixture
def gate() -> Iterator[Gate]:
    opened = Gate()
    yield opened
    opened.open.set()  # never leave a receiver thread waiting


@pytest.fixture
def fleet(registry_open: RunningRegistry, repository: str, postgres_server: PostgresServer,
          tmp_path: Path, gate: Gate, interval: float,
          ) -> Iterator[tuple[Fleet, HookReceiver]]:
    pairs = _push(registry_open, repository)
    name = postgres_server.create_database()
    database = postgres_server.url(name)
    receiver = HookReceiver(gate)
    engine = sa.create_engine(database)
    with CountingProxy(registry_open.url) as proxy, receiver:
        config = tmp_path / "watcher.toml"
        _write_config(config, database, proxy.host, pairs, receiver.url, interval)
        refs = [f"{proxy.host}/{r}:{t}" for r, t in pairs]
        running = Fleet(database, proxy, engine, refs, config, tmp_path, {})
        try:
            yield running, receiver
        finally:
            for process in running.processes.values():
                if process.poll() is None:
                    process.kill()
                    process.wait()
            engine.dispose()
            postgres_server.drop_database(name)


def _event_ids(hits: list[Hit]) -> list[str]:
    found = []
    for hit in hits:
        document = json.loads(hit.body)
        found.extend(e["id"] for e in (document if isinstance(document, list) else [document]))
    return found


def _checked_once(fleet: Fleet) -> bool:
    rows = fleet.query("SELECT count(*) FROM images WHERE active AND last_checked_at IS NOT NULL")
    return bool(rows) and rows[0][0] == len(fleet.refs)


def _errors(fleet: Fleet, name: str) -> list[dict[str, Any]]:
    return [line for line in fleet.log(name) if line.get("level") in ("error", "critical")
            or "Traceback" in json.dumps(line)]


def test_three_replicas_share_the_checks_and_send_each_notice_once(
    fleet: tuple[Fleet, HookReceiver], registry_open: RunningRegistry,
) -> None:
    running, receiver = fleet
    # All three started at once on an empty database: one migrates, the others wait for it.
    for name in NAMES:
        running.start(name)
    wait_until(lambda: _checked_once(running), timeout=60, what="a first check of every image")
    upgraded = [name for name in NAMES
                if any(line.get("event") == "database schema upgraded"
                       for line in running.log(name))]
    assert len(upgraded) == 1, upgraded
    assert running.query("SELECT version_num FROM alembic_version") == [
        (migrate.head_revision(),)]

    # Several rounds: every image is checked once per interval, whoever checks it.
    first = running.heads()
    assert set(first) == {ref.split("/", 1)[1] for ref in running.refs}
    assert set(first.values()) == {1}, Counter(first.values())
    rounds = 3
    wait_until(lambda: min(running.heads().values()) >= 1 + rounds,
               timeout=rounds * INTERVAL + 30, what=f"{rounds} more rounds")
    counts = running.heads()
    expected = len(running.refs) * (1 + rounds)
    # Three replicas send what one process sends: one check per image per interval.
    assert expected <= sum(counts.values()) <= expected * 1.05, Counter(counts.values())
    # ... and never twice in one round (lateness under load shortens a gap, never this much).
    assert running.closer_than(INTERVAL / 4) == Counter()

    # No replica idle: each one checked, and each one is listed by `watcher status`.
    status = subprocess.run(
        [sys.executable, "-m", "watcher", "status", "--json", "--config", str(running.config)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "WATCHER_INSTANCE": "status-reader"})
    assert status.returncode in (0, 1), status.stderr
    fleet_doc = json.loads(status.stdout)["fleet"]
    by_name = {r["name"]: r for r in fleet_doc["replicas"]}
    assert set(by_name) == set(NAMES), by_name
    assert all(r["alive"] and r["checks"] > 0 for r in by_name.values()), by_name

    # Move 20 tags (in 20 repositories): the receiver gets each event exactly once.
    moved = sorted({(ref.split("/", 1)[1].rsplit(":", 1)[0], ref.rsplit(":", 1)[1])
                    for ref in running.refs[::TAGS]})[:20]
    for repository, tag in moved:
        registry_open.push.move_tag(repository, tag)
    wait_until(
        lambda: len(running.query(
            "SELECT id FROM deliveries WHERE state = 'delivered'")) == len(moved),
        timeout=60, what="a delivered notice per moved tag")
    ids = _event_ids(receiver.hits)
    assert len(ids) == len(moved)
    assert len(set(ids)) == len(ids), Counter(ids)
    sent_by = running.query("SELECT count(DISTINCT lease_owner) FROM deliveries")
    assert sent_by == [(0,)]  # every lease given back once recorded

    for name in NAMES:
        assert stop_daemon(running.processes[name]) == 0
        assert _errors(running, name) == [], name
    assert running.query("SELECT count(*) FROM images WHERE lease_owner IS NOT NULL") == [(0,)]
    assert running.query("SELECT count(*) FROM replicas") == [(0,)]  # each left the fleet


@pytest.mark.parametrize("interval", [KILL_INTERVAL])
def test_a_killed_replica_s_images_are_checked_by_the_others_within_a_lease(
    fleet: tuple[Fleet, HookReceiver], interval: float,
) -> None:
    running, _ = fleet
    for name in NAMES:
        running.start(name)
    victim = NAMES[0]

    def all_joined() -> bool:
        return len(running.query("SELECT name FROM replicas")) == len(NAMES)

    def victim_holds() -> bool:
        return bool(running.query(
            f"SELECT 1 FROM images WHERE lease_owner = '{victim}' AND lease_expires_at > now()"))

    def caught_mid_batch() -> bool:
        """The victim holding a batch, its requests held in the proxy: it cannot finish.
        Tried from the first round on (no waiting for the next one), once every replica has
        joined, so that the others are there to take over."""
        if not all_joined() or not victim_holds():
            return False
        running.proxy.hold()
        if victim_holds():
            return True
        running.proxy.release()  # it gave its batch back just now: try the next one
        return False

    # Mid-round: the victim holds a batch of leased images when it is killed.
    wait_until(caught_mid_batch, timeout=interval * 3 + 60, max_interval=0.005,
               what=f"{victim} to hold leases")
    before = running.heads()
    running.processes[victim].send_signal(signal.SIGKILL)
    running.processes[victim].wait()
    orphaned = {ref for (ref,) in running.query(
        f"SELECT ref FROM images WHERE lease_owner = '{victim}'")}
    running.proxy.release()
    assert orphaned

    def taken_over() -> bool:
        rows = running.query(f"SELECT count(*) FROM images WHERE lease_owner = '{victim}'")
        return rows == [(0,)]

    # Within one lease (and the next tick) of the kill, the others hold and check them.
    wait_until(taken_over, timeout=LEASE + TICK + 2, what="the others to take over")
    survivors = NAMES[1:]
    wait_until(lambda: all(
        running.heads()[ref.split("/", 1)[1]] > before[ref.split("/", 1)[1]] for ref in orphaned),
        timeout=LEASE + TICK + 5, what="the orphaned images to be checked")
    # Nothing lost: every image is checked, and keeps being checked; duplicates only for the
    # victim's batch (the documented window: checked, not yet given back), at most one each.
    wait_until(lambda: _checked_once(running), timeout=60, what="a first check of every image")
    mark = running.heads()
    assert set(mark) == {ref.split("/", 1)[1] for ref in running.refs}
    wait_until(lambda: min(running.heads()[r] - mark[r] for r in mark) >= 2,
               timeout=3 * interval + 20, what="two more rounds without the victim")
    # Checked twice within one interval: only images the victim held (the documented
    # window: checked by it, not yet given back), at most its batch, and each once.
    twice = running.closer_than(LEASE + TICK + 1.5)  # a takeover's gap; the cadence's is ~10 s
    held = {ref.split("/", 1)[1] for ref in orphaned}
    assert set(twice) <= held, set(twice) - held
    assert len(twice) <= BATCH, twice
    assert set(twice.values()) <= {1}, twice
    alive = {r[0] for r in running.query("SELECT name FROM replicas WHERE heartbeat_at > "
                                          f"now() - interval '{LEASE:g} seconds'")}
    assert alive == set(survivors)
    for name in survivors:
        assert stop_daemon(running.processes[name]) == 0
        assert _errors(running, name) == [], name


def test_a_replica_killed_mid_send_leaves_the_notice_to_another_with_the_same_id(
    fleet: tuple[Fleet, HookReceiver], registry_open: RunningRegistry, gate: Gate,
) -> None:
    running, receiver = fleet
    for name in NAMES:
        running.start(name)
    wait_until(lambda: _checked_once(running), timeout=60, what="a first check of every image")
    moved = [(ref.split("/", 1)[1].rsplit(":", 1)[0], ref.rsplit(":", 1)[1])
             for ref in running.refs[::TAGS]][:10]
    gate.open.clear()  # the receiver holds every send from now on
    for repository, tag in moved:
        registry_open.push.move_tag(repository, tag)
    wait_until(lambda: len(running.query("SELECT id FROM deliveries")) == len(moved),
               timeout=3 * INTERVAL + 20, what="a delivery per moved tag")
    wait_until(lambda: len(receiver.hits) >= 1, timeout=30, what="a send on the wire")
    owners = running.query("SELECT DISTINCT lease_owner FROM deliveries"
                           " WHERE lease_owner IS NOT NULL")
    assert owners, "a send on the wire, but no delivery leased"
    victim = owners[0][0]
    held = {event for (event,) in running.query(
        f"SELECT event_id FROM deliveries WHERE lease_owner = '{victim}'")}
    on_the_wire = set(_event_ids(receiver.hits))
    running.processes[victim].send_signal(signal.SIGKILL)
    running.processes[victim].wait()
    gate.open.set()
    wait_until(lambda: running.query("SELECT count(*) FROM deliveries WHERE state = "
                                     "'delivered'") == [(len(moved),)],
               timeout=LEASE + 30, what="every notice delivered by the others")
    ids = Counter(_event_ids(receiver.hits))
    expected = {event for (event,) in running.query("SELECT event_id FROM deliveries")}
    assert set(ids) == expected  # nothing lost
    twice = {event for event, count in ids.items() if count > 1}
    # Resent only in the crash window: sends the victim had on the wire when it died, each
    # once more, with the same event id.
    assert twice <= held & on_the_wire, (twice, held, on_the_wire)
    assert max(ids.values()) <= 2, ids
    delivered_by = {owner for (owner,) in running.query(
        "SELECT DISTINCT lease_owner FROM deliveries")}
    assert delivered_by == {None}
    for name in NAMES:
        if name != victim:
            assert stop_daemon(running.processes[name]) == 0
            assert _errors(running, name) == [], name
