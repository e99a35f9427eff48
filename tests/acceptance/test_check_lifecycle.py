"""``watcher check`` run twice with a change in between tells exactly what changed.

Against the real registry, on SQLite and PostgreSQL: baseline, unchanged, tag moved on one
platform, only an unwatched platform moved, a newer same-line tag, the same tag again,
registry down, registry back, tag deleted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from tests.acceptance.cli import run, write_config
from tests.support.registry import RunningRegistry
from watcher.store.schema import events as events_table
from watcher.store.schema import history as history_table

PLATFORMS = ["linux/amd64", "linux/arm64/v8"]


def _rows(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            history = conn.execute(select(func.count()).select_from(history_table)).scalar_one()
            events = conn.execute(select(func.count()).select_from(events_table)).scalar_one()
    finally:
        engine.dispose()
    return history, events


def _by_ref(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {image["ref"]: image for image in document["images"]}


def _kinds(image: dict[str, Any]) -> list[str]:
    return [event["kind"] for event in image["events"]]


@pytest.mark.registry
def test_lifecycle(
    registry_open: RunningRegistry, repository: str, store_url: str, tmp_path: Path
) -> None:
    push = registry_open.push
    app, arm = repository, f"{repository}/platforms"
    first = push.push_index(app, "3.12.1", PLATFORMS)
    watched = push.push_index(arm, "1.0", PLATFORMS)
    app_ref = str(registry_open.ref(app, "3.12.1"))
    arm_ref = str(registry_open.ref(arm, "1.0"))
    config = write_config(
        tmp_path / "watcher.toml",
        registry_open,
        [{"ref": app_ref}, {"ref": arm_ref, "platforms": ["linux/amd64"]}],
        database=store_url,
    )
    check = ("check", "--config", str(config), "--json", "--list-tags")

    # First sight: a baseline with the pushed digests, and no event.
    result = run(*check)
    assert result.exit_code == 0, result.stderr
    images = _by_ref(result.json)
    assert images[app_ref]["state"] == "baseline"
    assert images[app_ref]["digest"] == first.digest
    assert images[app_ref]["platforms"] == first.children
    assert images[arm_ref]["platforms"] == watched.children
    assert all(not image["events"] for image in images.values())
    baseline_rows = _rows(store_url)
    assert baseline_rows == (2, 0)

    # Nothing changed: no events, and not a single new row.
    result = run(*check)
    assert result.exit_code == 0
    assert {i["state"] for i in result.json["images"]} == {"unchanged"}
    assert _rows(store_url) == baseline_rows

    # The tag moved on arm64 only: one digest_changed naming that platform.
    moved = push.repush_index(app, "3.12.1", first, changed="linux/arm64/v8")
    result = run(*check)
    image = _by_ref(result.json)[app_ref]
    assert image["state"] == "changed"
    assert image["previous_digest"] == first.digest
    assert image["digest"] == moved.digest
    assert _kinds(image) == ["digest_changed"]
    event = image["events"][0]
    assert event["old_digest"] == first.digest
    assert event["new_digest"] == moved.digest
    assert event["changed_platforms"] == {"linux/arm64/v8": "changed"}

    # Only a platform the image does not watch moved: no event.
    push.repush_index(arm, "1.0", watched, changed="linux/arm64/v8")
    result = run(*check)
    assert _by_ref(result.json)[arm_ref]["events"] == []
    assert _by_ref(result.json)[arm_ref]["state"] == "unchanged"

    # A newer tag on the same line: one new_version; seen again: nothing.
    push.push_index(app, "3.12.2", PLATFORMS)
    result = run(*check)
    image = _by_ref(result.json)[app_ref]
    assert _kinds(image) == ["new_version"]
    assert image["newer"] == {"same_line": "3.12.2", "newest": "3.12.2"}
    assert image["events"][0]["new"] == ["3.12.2"]
    result = run(*check)
    assert all(not i["events"] for i in result.json["images"])
    rows_before_outage = _rows(store_url)

    # Registry down: errors, exit 1, no events, the last good state intact.
    registry_open.stop()
    try:
        result = run(*check)
        assert result.exit_code == 1
        for image in result.json["images"]:
            assert image["state"] == "error"
            assert image["error"]
            assert registry_open.host in image["error"]
            assert image["events"] == []
        status = run("status", "--config", str(config), "--json").json
        states = {i["ref"]: i for i in status["images"]}
        assert states[app_ref]["digest"] == moved.digest
        assert states[app_ref]["status"] == "rebuild_needed"
        assert states[arm_ref]["status"] == "failing"
        assert states[arm_ref]["failing"]["count"] == 1
        result = run(*check)
        assert run("status", "--config", str(config), "--json").json["images"][-1]["failing"][
            "count"
        ] == 2
    finally:
        registry_open.start()

    # Back: recovers without a spurious event.
    result = run(*check)
    assert result.exit_code == 0
    assert all(i["state"] == "unchanged" and not i["events"] for i in result.json["images"])
    _history, events = _rows(store_url)
    assert events == rows_before_outage[1]

    # The tag disappears: a failed check first, then (a second check agreeing) one
    # tag_removed, and only once.
    push.delete(app, moved.digest)
    result = run(*check)
    assert result.exit_code == 1
    assert _kinds(_by_ref(result.json)[app_ref]) == []
    assert _by_ref(result.json)[app_ref]["state"] == "error"
    result = run(*check)
    assert result.exit_code == 1
    assert _kinds(_by_ref(result.json)[app_ref]) == ["tag_removed"]
    result = run(*check)
    assert _kinds(_by_ref(result.json)[app_ref]) == []

    # The story, as `watcher history` tells it.
    story = run("history", "--config", str(config), "--json", app_ref).json["history"]
    assert [entry["kind"] for entry in story] == [
        "baseline",
        "digest_changed",
        "new_version",
        "failing",
        "recovered",
        "failing",
        "tag_removed",
    ]

    # Acknowledging clears the pending rebuild.
    pending = run("status", "--config", str(config), "--json").json
    assert {e["kind"] for e in _by_ref(pending)[app_ref]["pending_events"]} == {
        "digest_changed",
        "new_version",
        "tag_removed",
    }
    acked = run("ack", "--config", str(config), app_ref)
    assert acked.exit_code == 0
    assert "acknowledged 3" in acked.stdout
    after = _by_ref(run("status", "--config", str(config), "--json").json)[app_ref]
    assert after["pending_events"] == []
    assert after["status"] == "failing"



@pytest.mark.registry
def test_new_versions_follow_the_image_tag_policy(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    """Tags only an ``extract`` policy can order: newer builds are reported, a deleted newest
    build does not make the previous one look new again."""
    push = registry_open.push
    push.push_image(repository, "build-9-abc")
    ref = str(registry_open.ref(repository, "build-9-abc"))
    config = write_config(
        tmp_path / "watcher.toml",
        registry_open,
        [{"ref": ref, "extract": r"build-(\d+)"}],
        database=f"sqlite:///{tmp_path / 'watcher.db'}",
    )
    check = ("check", "--config", str(config), "--json", "--list-tags")
    assert run(*check).json["images"][0]["state"] == "baseline"

    push.push_image(repository, "build-10-def")
    (image,) = run(*check).json["images"]
    assert [e["kind"] for e in image["events"]] == ["new_version"]
    assert image["events"][0]["new"] == ["build-10-def"]

    newest = push.push_image(repository, "build-11-fed")
    (image,) = run(*check).json["images"]
    assert image["events"][0]["new"] == ["build-11-fed"]

    push.delete(repository, newest)  # the newest build is withdrawn
    (image,) = run(*check).json["images"]
    assert image["newer"]["newest"] == "build-10-def"
    assert image["events"] == []
