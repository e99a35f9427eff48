"""The daemon's HTTP server, end to end: /healthz, /readyz and /metrics scraped (and parsed
by Prometheus' own parser); the real registry's notifications reaching /hooks/registry
trigger a check long before the interval; a wrong token is refused; `watcher healthcheck`."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import free_port, wait_until
from tests.support.daemon import start_daemon, stop_daemon
from tests.support.registry import RunningRegistry, start_registry

TOKEN = "hook-secret-0123456789abcdef"


def _logs(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def _digest(db: Path, ref: str) -> str | None:
    if not db.exists():
        return None
    conn = sqlite3.connect(db, timeout=10)
    try:
        row = conn.execute("SELECT digest FROM images WHERE ref = ?", (ref,)).fetchone()
        return row[0] if row else None
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()


@pytest.fixture
def hook_port() -> int:
    return free_port()


@pytest.fixture
def notifying_registry(hook_port: int) -> Iterator[RunningRegistry]:
    """A registry of its own that tells watcher of every push."""
    extra = f"""notifications:
  endpoints:
    - name: watcher
      url: http://127.0.0.1:{hook_port}/hooks/registry
      headers:
        Authorization: [Bearer {TOKEN}]
      timeout: 2s
      threshold: 3
      backoff: 1s
"""
    registry = start_registry("open", extra=extra)
    try:
        yield registry
    finally:
        registry.close()


@pytest.mark.registry
def test_health_metrics_and_push_hooks(
    notifying_registry: RunningRegistry, hook_port: int, tmp_path: Path
) -> None:
    registry = notifying_registry
    push = registry.push
    refs = {name: str(registry.ref(f"test/{name}", "1")) for name in ("app", "other")}
    for name in refs:
        push.push_image(f"test/{name}", "1")
    db = tmp_path / "watcher.db"
    config = tmp_path / "watcher.toml"
    lines = ["[watcher]", f'database = "sqlite:///{db}"', 'interval = "1h"',
             'instance = "test-instance"', "", "[http]", f'listen = "127.0.0.1:{hook_port}"',
             "hook_token_env = \"WATCHER_TEST_HOOK_TOKEN\"", "", "[[registries]]",
             f'host = "{registry.host}"', "insecure = true", "retries = 0"]
    for ref in refs.values():
        lines += ["", "[[images]]", f'ref = "{ref}"', "list_tags = false"]
    config.write_text("\n".join(lines) + "\n")
    log = tmp_path / "daemon.log"
    env = {**os.environ, "WATCHER_TEST_HOOK_TOKEN": TOKEN}
    process = start_daemon(config, log, env=env)
    base = f"http://127.0.0.1:{hook_port}"
    try:
        wait_until(lambda: process.poll() is not None or all(_digest(db, r) for r in
                                                               refs.values()),
                   timeout=60, what="the first round")
        assert process.poll() is None, log.read_text()
        wait_until(lambda: any(e["event"] == "http server listening" for e in _logs(log)),
                   timeout=30, what="the HTTP server")

        health = httpx.get(f"{base}/healthz", timeout=5)
        assert health.status_code == 200
        assert health.json()["instance"] == "test-instance"
        ready = httpx.get(f"{base}/readyz", timeout=5)
        assert ready.status_code == 200, ready.text
        assert ready.json()["last_round"]["checked"] == 2

        families = {f.name: f for f in text_string_to_metric_families(
            httpx.get(f"{base}/metrics", timeout=5).text)}
        checks = {(s.labels["registry"], s.labels["outcome"]): s.value
                  for s in families["watcher_checks"].samples if s.name.endswith("_total")}
        assert checks[(registry.host, "unchanged")] == 2
        latency = [s for s in families["watcher_registry_request_duration_seconds"].samples
                   if s.name.endswith("_count")]
        assert latency
        assert all(s.labels["registry"] == registry.host for s in latency)
        images = {s.labels["concern"]: s.value for s in families["watcher_images"].samples}
        assert images["total"] == 2
        assert images["rebuild"] == 0
        info = next(s for s in families["watcher_info"].samples)
        assert info.labels["instance"] == "test-instance"
        assert families["watcher_last_round_timestamp_seconds"].samples[0].value > 0

        # A push: the registry tells watcher, which checks now, not in an hour.
        moved = push.move_tag("test/app", "1")
        wait_until(lambda: _digest(db, refs["app"]) == moved, timeout=30,
                   what="the pushed tag checked")
        assert any(e["event"] == "push hook: checking now" for e in _logs(log))

        # Wrong or missing tokens are refused and logged, never echoed.
        payload = {"events": [{"action": "push", "target": {"repository": "test/app",
                                                             "tag": "1"}}]}
        assert httpx.post(f"{base}/hooks/registry", json=payload).status_code == 401
        wrong = httpx.post(f"{base}/hooks/registry", json=payload,
                           headers={"Authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 401
        assert httpx.post(f"{base}/hooks/registry/{TOKEN}", json=payload).status_code == 202
        assert httpx.post(f"{base}/hooks/registry?token={TOKEN}", content=b"{not json",
                          ).status_code == 400
        assert httpx.post(f"{base}/hooks/registry?token={TOKEN}", json=[1]).status_code == 400
        refused = [e for e in _logs(log) if e["event"].startswith("push hook refused")]
        assert len(refused) == 2
        assert TOKEN not in log.read_text()

        done = subprocess.run([sys.executable, "-m", "watcher", "healthcheck", "--config",
                               str(config)], capture_output=True, text=True, env=env,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        assert "healthy: test-instance" in done.stdout
    finally:
        returncode = stop_daemon(process)
    assert returncode == 0, log.read_text()
    down = subprocess.run([sys.executable, "-m", "watcher", "healthcheck", "--url",
                           f"{base}/healthz", "--timeout", "2"], capture_output=True, text=True,
                          timeout=60)
    assert down.returncode == 1
    assert "no answer" in down.stderr
