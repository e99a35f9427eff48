"""kill -9 at any moment of ``watcher check`` leaves a consistent database, and events
are emitted exactly once across the crash and the next run."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.cli import moved_fleet, run
from tests.support import wait_until
from tests.support.registry import RunningRegistry

IMAGES = 40
SEED = 20261128


def _snapshot(db: Path) -> tuple[dict[str, str], dict[str, int]]:
    """(ref -> digest, ref -> number of digest_changed events), read while a writer may run."""
    conn = sqlite3.connect(db, timeout=10)
    try:
        digests = dict(conn.execute("SELECT ref, digest FROM images").fetchall())
        counts = dict(
            conn.execute(
                "SELECT images.ref, count(events.id) FROM images LEFT JOIN events"
                " ON events.image_id = images.id AND events.kind = 'digest_changed'"
                " GROUP BY images.ref"
            ).fetchall()
        )
        return digests, counts
    finally:
        conn.close()


def _integrity(db: Path) -> str:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.registry
@pytest.mark.parametrize(
    "concurrency",
    # One check at a time: a batch per check. Eight at once: the writer records batches of
    # several checks per transaction (group commit), killed with a batch in flight.
    [1, 8],
    ids=["one-at-a-time", "batched"],
)
def test_kill_9_mid_round_loses_nothing_and_duplicates_nothing(
    registry_open: RunningRegistry, repository: str, tmp_path: Path, concurrency: int
) -> None:
    fleet = moved_fleet(registry_open, repository, tmp_path, IMAGES, concurrency)
    old, new, db, config = fleet.old, fleet.new, fleet.database, fleet.config

    rng = random.Random(SEED)
    # Kill points: how many images the killed run had recorded; 0 means "at start-up".
    targets = [*sorted(rng.sample(range(1, IMAGES), 4)), 0]
    command = [sys.executable, "-m", "watcher", "check", "--config", str(config), "--json"]
    killed_mid_round = 0
    for target in targets:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path
        )
        try:
            if target:
                wait_until(
                    lambda p=process, t=target: p.poll() is not None
                    or sum(_snapshot(db)[1].values()) >= t,
                    timeout=60,
                    what=f"{target} recorded changes",
                )
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                killed_mid_round += 1
        finally:
            process.wait(timeout=30)

        assert _integrity(db) == "ok"
        digests, counts = _snapshot(db)
        for ref in old:
            # Each image is entirely before or entirely after its change: never half of it.
            assert digests[ref] in (old[ref], new[ref])
            assert counts[ref] == (1 if digests[ref] == new[ref] else 0)
    assert killed_mid_round >= 3, "the round finished before the kills: slow it down"

    result = run("check", "--config", str(config), "--json")
    assert result.exit_code == 0
    digests, counts = _snapshot(db)
    assert digests == new
    assert counts == dict.fromkeys(new, 1)
    # The events the final run reported are exactly those the killed runs had not recorded.
    reported = [e for image in json.loads(result.stdout)["images"] for e in image["events"]]
    assert all(event["kind"] == "digest_changed" for event in reported)
    assert len({event["id"] for event in reported}) == len(reported)
