"""`watcher db stats` and `watcher db prune` on a real SQLite file filled by a real check."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.acceptance.cli import run, write_config
from tests.support.registry import RunningRegistry


@pytest.mark.registry
def test_db_stats_and_prune(registry_open: RunningRegistry, repository: str,
                            tmp_path: Path) -> None:
    registry_open.push.push_image(repository, "1")
    config = write_config(tmp_path / "watcher.toml", registry_open,
                          [{"ref": str(registry_open.ref(repository, "1")), "list_tags": False}],
                          database=f"sqlite:///{tmp_path / 'watcher.db'}")
    assert run("check", "--config", str(config)).exit_code == 0

    stats = run("db", "stats", "--config", str(config), "--json")
    assert stats.exit_code == 0, stats.stderr
    document = stats.json
    assert document["rows"]["images"] == 1
    assert document["rows"]["history"] == 1
    assert set(document["rows"]) >= {"events", "deliveries", "tag_listings", "registry_budgets"}
    assert document["size_bytes"] == (tmp_path / "watcher.db").stat().st_size
    text = run("db", "stats", "--config", str(config)).stdout
    assert "keep_history = 400d" in text

    dry = run("db", "prune", "--config", str(config), "--dry-run", "--json")
    assert dry.exit_code == 0, dry.stderr
    assert dry.json["history"] == 0  # the only row explains the image's state: kept
    done = run("db", "prune", "--config", str(config), "--json")
    assert (done.json["dry_run"], done.json["events"]) == (False, 0)
    assert run("db", "stats", "--config", str(config), "--json").json["rows"]["history"] == 1
