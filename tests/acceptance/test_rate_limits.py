"""A registry that answers 429 Too Many Requests: watcher pauses that registry for the
Retry-After, then succeeds; nothing is reported as changed, the log has one line for the
back-off (not one per request), and `watcher status` shows what the registry said."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from tests.acceptance.cli import run
from tests.support.httpservers import HttpServer, Reply, Seen
from tests.support.registry import RunningRegistry

_HOP_BY_HOP = {"host", "connection", "content-length", "transfer-encoding", "keep-alive"}


class Throttling:
    """Answers 429 to the first ``throttle`` manifest requests, forwards everything else to
    the registry; every answer states a Docker Hub-like budget."""

    def __init__(self, upstream: str, throttle: int) -> None:
        self.upstream = httpx.Client(base_url=upstream, timeout=30.0, trust_env=False)
        self._left = throttle
        self._lock = threading.Lock()
        self.throttled = 0
        self.server = HttpServer(self.handle)

    def handle(self, seen: Seen) -> Reply:
        budget = {"RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "87;w=21600"}
        if "/manifests/" in seen.route:
            with self._lock:
                throttle = self._left > 0
                self._left -= throttle
                self.throttled += throttle
            if throttle:
                return Reply(429, {"Retry-After": "1", **budget}, b'{"errors":[]}')
        headers = {k: v for k, v in seen.headers.items() if k not in _HOP_BY_HOP}
        response = self.upstream.request(seen.method, seen.path, headers=headers)
        out = {k: v for k, v in response.headers.items() if k.lower() not in _HOP_BY_HOP}
        return Reply(response.status_code, {**out, **budget}, response.content)


@pytest.mark.registry
def test_429_pauses_the_registry_then_succeeds_with_one_log_line(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    front = Throttling(registry_open.url, throttle=4)
    with front.server, front.upstream:
        host = front.server.host
        refs = []
        for i in range(4):
            registry_open.push.push_image(f"{repository}/r{i}", "1")
            refs.append(f"{host}/{repository}/r{i}:1")
        config = tmp_path / "watcher.toml"
        lines = ["[watcher]", f'database = "sqlite:///{tmp_path / "watcher.db"}"', "",
                 "[[registries]]", f'host = "{host}"', "insecure = true", "retries = 3",
                 "max_concurrency = 4"]
        for ref in refs:
            lines += ["", "[[images]]", f'ref = "{ref}"', "list_tags = false"]
        config.write_text("\n".join(lines) + "\n")

        result = run("--log-level", "warning", "--log-console", "check", "--config",
                     str(config), "--json")
        assert result.exit_code == 0, result.stdout + result.stderr
        assert front.throttled == 4
        checks = result.json["images"]
        assert [c["state"] for c in checks] == ["baseline"] * 4
        assert all(not c.get("events") for c in checks)
        backoffs = [line for line in result.stderr.splitlines() if "answered 429" in line]
        assert len(backoffs) == 1, result.stderr
        assert "check failed" not in result.stderr

        status = run("status", "--config", str(config), "--json").json
        (budget,) = status["registries"]
        assert budget["registry"] == host
        assert (budget["limit"], budget["remaining"], budget["window_seconds"]) == (
            100, 87, 21600)
        assert budget["backoffs"] == 1
        text = run("status", "--config", str(config)).stdout
        assert f"{host}: 87 of 100 requests left in a 6h window" in text
        assert "asked to back off 1 time" in text
