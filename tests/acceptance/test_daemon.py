"""``watcher run`` checks on schedule and stops cleanly; databases from a newer watcher are
refused with a clear message."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.acceptance.cli import run, write_config
from tests.support import wait_until
from tests.support.registry import RunningRegistry


def _checked(db: Path) -> int:
    if not db.exists():
        return 0
    conn = sqlite3.connect(db, timeout=10)
    try:
        return int(
            conn.execute(
                "SELECT count(*) FROM images WHERE last_checked_at IS NOT NULL"
            ).fetchone()[0]
        )
    except sqlite3.OperationalError:  # tables not created yet
        return 0
    finally:
        conn.close()


@pytest.mark.registry
def test_daemon_checks_at_start_and_stops_on_sigterm(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    refs = []
    for i in range(3):
        registry_open.push.push_image(f"{repository}/d{i}", "1")
        refs.append(str(registry_open.ref(f"{repository}/d{i}", "1")))
    db = tmp_path / "watcher.db"
    config = write_config(
        tmp_path / "watcher.toml",
        registry_open,
        [{"ref": r} for r in refs],
        database=f"sqlite:///{db}",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "watcher", "--log-json", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        wait_until(
            lambda: process.poll() is not None or _checked(db) == 3,
            timeout=60,
            what="the daemon's first round",
        )
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        os.kill(process.pid, signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    logs = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    events = [entry["event"] for entry in logs]
    assert "watcher started" in events
    assert "stopping" in events
    finished = next(entry for entry in logs if entry["event"] == "round finished")
    assert finished["images"] == 3
    assert finished["failed"] == 0
    status = run("status", "--config", str(config), "--json").json
    assert {image["status"] for image in status["images"]} == {"up_to_date"}


def test_database_from_a_newer_watcher_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "watcher.db"
    url = f"sqlite:///{db}"
    assert run("db", "upgrade", "--database", url).exit_code == 0
    conn = sqlite3.connect(db)
    conn.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    conn.commit()
    conn.close()
    config = tmp_path / "watcher.toml"
    config.write_text(f'[watcher]\ndatabase = "{url}"\n[[images]]\nref = "127.0.0.1:1/x:1"\n')
    for command in (("check",), ("status",)):
        result = run(*command, "--config", str(config))
        assert result.exit_code == 1
        assert "newer" in result.stderr
        assert "ffffffffffff" in result.stderr
