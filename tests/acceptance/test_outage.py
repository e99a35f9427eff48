"""The registry goes away in the middle of a round: the images checked before keep their
new state, the rest fail without an event and keep their last good state, and the next
round after the registry returns recovers without a spurious event."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.cli import moved_fleet, run
from tests.support import wait_until
from tests.support.registry import RunningRegistry

IMAGES = 80


def _state(db: Path) -> dict[str, tuple[str, int, int]]:
    """ref -> (digest, failure_count, number of events)."""
    conn = sqlite3.connect(db, timeout=10)
    try:
        rows = conn.execute(
            "SELECT images.ref, images.digest, images.failure_count, count(events.id)"
            " FROM images LEFT JOIN events ON events.image_id = images.id GROUP BY images.id"
        ).fetchall()
    finally:
        conn.close()
    return {ref: (digest, failures, events) for ref, digest, failures, events in rows}


@pytest.mark.registry
def test_registry_stops_mid_round(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    fleet = moved_fleet(registry_open, repository, tmp_path, IMAGES)
    old, new, db, config = fleet.old, fleet.new, fleet.database, fleet.config

    process = subprocess.Popen(
        [sys.executable, "-m", "watcher", "check", "--config", str(config), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
    )
    try:
        wait_until(
            lambda: (
                process.poll() is not None
                or sum(events for _, _, events in _state(db).values()) >= 3
            ),
            timeout=60,
            what="the round to record its first changes",
            max_interval=0.002,
        )
        registry_open.stop(kill=True)
        stdout, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        registry_open.start()
    assert process.returncode == 1, "the round finished before the registry stopped"

    report = {image["ref"]: image for image in json.loads(stdout)["images"]}
    state = _state(db)
    changed = [ref for ref in old if report[ref]["state"] == "changed"]
    failed = [ref for ref in old if report[ref]["state"] == "error"]
    assert len(changed) + len(failed) == IMAGES
    assert changed
    assert failed
    for ref in changed:
        assert state[ref] == (new[ref], 0, 1)
    for ref in failed:
        assert report[ref]["events"] == []
        assert state[ref] == (old[ref], 1, 0)  # last good digest kept, failure counted

    result = run("check", "--config", str(config), "--json")
    assert result.exit_code == 0
    recovered = {image["ref"]: image for image in result.json["images"]}
    for ref in changed:
        assert recovered[ref]["events"] == []  # no spurious event for what was recorded
    for ref in failed:
        assert [e["kind"] for e in recovered[ref]["events"]] == ["digest_changed"]
    assert _state(db) == {ref: (new[ref], 0, 1) for ref in old}
