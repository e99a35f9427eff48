"""The registry's HTTP layer logs through the standard library: its retry lines reach the
``watcher`` command's log, in the command's format, at the chosen level."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.cli import run
from tests.support.httpservers import HttpServer, Reply, manifest_server, scripted
from watcher.core.observation import OCI_MANIFEST

MANIFEST = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
                       "config": {"mediaType": "x", "digest": "", "size": 0}}).encode()


@pytest.fixture(autouse=True)
def _unroute_logging() -> Iterator[None]:
    """Leave no handler bound to this test's captured standard error behind."""
    yield
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.get_name() == "watcher"]:
        root.removeHandler(handler)
    logging.getLogger("watcher").setLevel(logging.NOTSET)


def _check(tmp_path: Path, server: HttpServer, *options: str) -> list[dict[str, Any]]:
    config = tmp_path / "watcher.toml"
    config.write_text(
        f'[watcher]\ndatabase = "sqlite:///{tmp_path / "watcher.db"}"\n'
        f'[[registries]]\nhost = "{server.host}"\ninsecure = true\nretries = 1\n'
        f'[[images]]\nref = "{server.host}/lib/app:1"\nlist_tags = false\n'
    )
    result = run(*options, "--log-json", "check", "--config", str(config))
    assert result.exit_code == 0, result.stderr
    return [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]


def _server() -> HttpServer:
    """503 once (retry at once), then the manifest."""
    replies = [Reply(503, {"Retry-After": "0"})]
    return HttpServer(scripted(replies, manifest_server("lib/app", "1", MANIFEST, OCI_MANIFEST)))


def test_a_retry_is_logged_at_debug_level(tmp_path: Path) -> None:
    with _server() as server:
        logs = _check(tmp_path, server, "--log-level", "debug")
        assert len(server.seen) == 2
    retries = [entry for entry in logs if "retrying" in entry["event"]]
    assert len(retries) == 1, logs
    retry = retries[0]
    assert retry["level"] == "debug"
    assert retry["logger"] == "watcher.registry.http"
    assert "(503)" in retry["event"]
    assert server.host in retry["event"]
    assert "timestamp" in retry
    assert any(entry["event"] == "round finished" for entry in logs)


def test_a_retry_is_not_logged_at_info_level(tmp_path: Path) -> None:
    with _server() as server:
        logs = _check(tmp_path, server, "--log-level", "info")
        assert len(server.seen) == 2
    assert not [entry for entry in logs if "retrying" in entry["event"]]
    assert any(entry["event"] == "round finished" for entry in logs)
