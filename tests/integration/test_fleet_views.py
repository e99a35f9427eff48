"""The fleet seen from outside: two shared replicas (Runtimes with ``replicas = "shared"`` and
their own HTTP servers, on a real PostgreSQL database and the real registry), plus the
heartbeat of a replica gone an hour ago. Each replica's ``/metrics`` has the fleet's gauges,
and its status page and ``/api/status`` show the fleet as ``watcher status --json`` does."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.acceptance.cli import run
from tests.support import free_port, wait_until
from tests.support.registry import RunningRegistry
from watcher.config import parse_config
from watcher.service import metrics as metrics_module
from watcher.service.runtime import Runtime
from watcher.store import Heartbeat, Store
from watcher.web.server import HttpServer

pytestmark = [pytest.mark.postgres, pytest.mark.registry]

IMAGES = 6
GONE = "<b>gone-replica</b>"  # a name is text, never markup


@pytest.fixture
def url(postgres_server: Any) -> Iterator[str]:
    name = postgres_server.create_database()
    try:
        yield postgres_server.url(name)
    finally:
        postgres_server.drop_database(name)


def _raw(url: str, refs: list[str], host: str, instance: str, port: int) -> dict[str, Any]:
    return {
        "watcher": {"database": url, "replicas": "shared", "lease": "3s", "interval": "1h",
                    "jitter": 0, "instance": instance},
        "http": {"listen": f"127.0.0.1:{port}"},
        "registries": [{"host": host, "insecure": True, "retries": 0}],
        "images": [{"ref": r, "list_tags": False} for r in refs],
    }



def _gauges(text: str) -> dict[str, float]:
    """``name{labels}`` -> value of every ``watcher_fleet_*`` sample."""
    found = re.findall(r"^(watcher_fleet_\S+) (\S+)$", text, flags=re.MULTILINE)
    return {name: float(value) for name, value in found}


def test_metrics_page_and_api_show_the_fleet(
    registry_open: RunningRegistry, repository: str, url: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Fleet gauges at every heartbeat (a second here), not every 15 s: the test sees them move.
    monkeypatch.setattr(metrics_module, "REFRESH", 0.0)
    refs = [f"{registry_open.host}/{repository}/i{n}:1" for n in range(IMAGES)]
    for n in range(IMAGES):
        registry_open.push.push_image(f"{repository}/i{n}", "1")
    ports = {"a": free_port(), "b": free_port()}
    raws = {name: _raw(url, refs, registry_open.host, name, port)
            for name, port in ports.items()}
    with Store.open(url) as store:  # a replica that stopped heartbeating an hour ago
        hour_ago = datetime.now(UTC) - timedelta(hours=1)
        store.heartbeat(Heartbeat(GONE, hour_ago, hour_ago, 0.0, 0), 3.0)
    expected = {
        'watcher_fleet_replicas{state="alive"}': 2.0,
        'watcher_fleet_replicas{state="gone"}': 1.0,
        "watcher_fleet_leases": 0.0,
        "watcher_fleet_images_due": 0.0,
        "watcher_fleet_images_overdue": 0.0,
        "watcher_fleet_checks_per_minute": float(IMAGES),
        'watcher_fleet_image_set_version{which="followed"}': 1.0,
        'watcher_fleet_image_set_version{which="newest"}': 1.0,
    }

    def settled(client: httpx.Client) -> bool:
        gauges = _gauges(client.get("/metrics").text)
        return all(gauges.get(k) == v for k, v in expected.items())

    def look() -> tuple[dict[str, dict[str, float]], str, dict[str, Any]]:
        clients = {n: httpx.Client(base_url=f"http://127.0.0.1:{p}", timeout=30)
                   for n, p in ports.items()}
        try:
            for name, client in clients.items():
                wait_until(lambda c=client: settled(c), timeout=30,  # type: ignore[misc]
                           what=f"replica {name}'s fleet gauges")
            seen = {n: _gauges(c.get("/metrics").text) for n, c in clients.items()}
            return seen, clients["a"].get("/").text, clients["b"].get("/api/status").json()
        finally:
            for client in clients.values():
                client.close()

    async def main() -> tuple[dict[str, dict[str, float]], str, dict[str, Any]]:
        runtimes = {name: Runtime(parse_config(raw)) for name, raw in raws.items()}
        servers: list[HttpServer] = []
        try:
            for runtime in runtimes.values():
                await runtime.start()
                http = runtime.config.http
                assert http is not None
                server = HttpServer(runtime, http)
                await server.start()
                servers.append(server)
            return await asyncio.to_thread(look)  # the servers answer on this loop
        finally:
            for server in servers:
                await server.stop()
            for runtime in runtimes.values():
                await runtime.stop()

    seen, page, status = asyncio.run(main())
    # Each replica counts its own claims; together they claimed every image once.
    claims = [seen[n]["watcher_fleet_claims_per_minute"] for n in ("a", "b")]
    assert sum(claims) == IMAGES

    assert '<h2 id="fleet">Replicas</h2>' in page
    assert "2 alive, 1 gone; 0 leases held, 6 checks/min, image set v1" in page
    assert '<tr data-alive="yes"><th scope="row">a</th><td>alive</td>' in page
    assert '<tr data-alive="yes"><th scope="row">b</th><td>alive</td>' in page
    assert "<td>gone (last heartbeat 1h ago)</td>" in page
    assert GONE not in page
    assert "&lt;b&gt;gone-replica&lt;/b&gt;" in page

    fleet = status["fleet"]
    assert fleet["alive"] == 2
    assert fleet["image_set_version"] == 1
    assert [(r["name"], r["alive"], r["image_set_version"]) for r in fleet["replicas"]] == [
        (GONE, False, None), ("a", True, 1), ("b", True, 1)]
    assert sum(r["checks"] for r in fleet["replicas"]) == IMAGES

    # The same document as `watcher status --json` once both have left (each left the fleet).
    config = tmp_path / "watcher.toml"
    config.write_text(f'[watcher]\ndatabase = "{url}"\nreplicas = "shared"\nlease = "3s"\n')
    cli = run("status", "--config", str(config), "--json").json
    assert [(r["name"], r["alive"]) for r in cli["fleet"]["replicas"]] == [(GONE, False)]
