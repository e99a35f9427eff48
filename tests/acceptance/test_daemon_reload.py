"""``watcher run`` on a short schedule: a moved tag is seen within two intervals; SIGHUP
reloads the config, and refuses a broken one while the running config goes on."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import wait_until
from tests.support.daemon import start_daemon
from tests.support.registry import RunningRegistry


def _config(path: Path, host: str, refs: list[str], db: Path, *extra: str) -> Path:
    lines = ["[watcher]", f'database = "sqlite:///{db}"', 'interval = "1s"', "jitter = 0",
             *extra, "", "[[registries]]", f'host = "{host}"', "insecure = true",
             "retries = 0"]
    for ref in refs:
        lines += ["", "[[images]]", f'ref = "{ref}"', "list_tags = false"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _states(db: Path) -> dict[str, tuple[str | None, str | None]]:
    """ref -> (digest, last_checked_at) of every image checked at least once."""
    if not db.exists():
        return {}
    conn = sqlite3.connect(db, timeout=10)
    try:
        rows = conn.execute(
            "SELECT ref, digest, last_checked_at FROM images WHERE last_checked_at IS NOT NULL")
        return {ref: (digest, at) for ref, digest, at in rows}
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()


def _logs(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def _start(started: list[subprocess.Popen[bytes]], config: Path, log: Path
           ) -> subprocess.Popen[bytes]:
    process = start_daemon(config, log)
    started.append(process)
    return process


@pytest.mark.registry
def test_moved_tags_are_seen_and_sighup_reloads(
    registry_open: RunningRegistry, repository: str, tmp_path: Path,
    daemon: list[subprocess.Popen[bytes]],
) -> None:
    push = registry_open.push
    first = str(registry_open.ref(f"{repository}/one", "1"))
    second = str(registry_open.ref(f"{repository}/two", "1"))
    push.push_image(f"{repository}/one", "1")
    push.push_image(f"{repository}/two", "1")
    db = tmp_path / "watcher.db"
    config = _config(tmp_path / "watcher.toml", registry_open.host, [first], db)
    log = tmp_path / "daemon.log"
    process = _start(daemon, config, log)
    wait_until(lambda: process.poll() is not None or first in _states(db), timeout=60,
               what="the first round")
    assert process.poll() is None, log.read_text()

    # A tag moved in the registry is recorded within a couple of 1 s intervals.
    moved = push.move_tag(f"{repository}/one", "1")
    wait_until(lambda: _states(db)[first][0] == moved, timeout=30, what="the moved tag")

    # SIGHUP with a new image: it is checked, without a restart.
    _config(config, registry_open.host, [first, second], db)
    os.kill(process.pid, signal.SIGHUP)
    wait_until(lambda: second in _states(db), timeout=30, what="the added image checked")
    assert process.poll() is None

    # SIGHUP with a broken config: refused, named, and the running config goes on.
    config.write_text(config.read_text().replace('interval = "1s"', 'intervall = "1s"'))
    os.kill(process.pid, signal.SIGHUP)
    wait_until(lambda: any(e["event"].startswith("config reload refused") for e in _logs(log)),
               timeout=30, what="the refused reload")
    refused = next(e for e in _logs(log) if e["event"].startswith("config reload refused"))
    assert str(config) in refused["error"]
    assert "intervall" in refused["error"]
    checked_before = _states(db)[second][1]
    wait_until(lambda: _states(db)[second][1] != checked_before, timeout=30,
               what="the running config's next round")

    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=30) == 0, log.read_text()
    events = [e["event"] for e in _logs(log)]
    assert events.count("config reloaded") == 1
    assert "Traceback" not in log.read_text()


@pytest.mark.registry
def test_first_check_scheduled_waits_for_the_schedule(
    registry_open: RunningRegistry, repository: str, tmp_path: Path,
    daemon: list[subprocess.Popen[bytes]],
) -> None:
    ref = str(registry_open.ref(f"{repository}/later", "1"))
    registry_open.push.push_image(f"{repository}/later", "1")
    db = tmp_path / "watcher.db"
    config = _config(tmp_path / "watcher.toml", registry_open.host, [ref], db,
                     'first_check = "scheduled"')
    config.write_text(config.read_text().replace('interval = "1s"', 'interval = "1h"'))
    log = tmp_path / "daemon.log"
    process = _start(daemon, config, log)
    wait_until(lambda: any(e["event"] == "watcher started" for e in _logs(log)), timeout=60,
               what="the daemon started")
    # Started, and a SIGHUP-free hour away from its first check: nothing checked.
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert _states(db) == {}
