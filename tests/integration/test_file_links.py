"""Files sources wired to the store: links replaced per reading, only changed files read
again, a source that cannot be read keeps its links (real SQLite store, real files)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from watcher.config import Config, parse_config
from watcher.service.engines import discover
from watcher.service.file_links import FILES_KIND, FileSources
from watcher.service.storage import open_store


def _config(tmp_path: Path) -> Config:
    return parse_config({"watcher": {"database": f"sqlite:///{tmp_path / 'w.db'}"},
                         "sources": {"files": [{"path": "repo", "name": "shop"},
                                               {"path": "other"}]}},
                        path=tmp_path / "watcher.toml")


def test_links_follow_the_files_and_a_vanished_source_keeps_its_own(tmp_path: Path) -> None:
    repo, other = tmp_path / "repo", tmp_path / "other"
    (repo / "app").mkdir(parents=True)
    other.mkdir()
    (repo / "app" / "Dockerfile").write_text(
        "FROM python:3.12-slim@sha256:" + "a" * 64 + " AS runtime\n")
    (repo / "Containerfile").write_text("FROM --platform=linux/arm64 node:20\n")
    (other / "Dockerfile").write_text("FROM redis:7\n")
    config = _config(tmp_path)
    store = open_store(config)
    files = FileSources()
    try:
        found = asyncio.run(discover(config, store, files=files))
        assert sorted(str(i.ref) for i in found.images) == [
            "docker.io/library/node:20", "docker.io/library/python:3.12-slim",
            "docker.io/library/redis:7"]
        assert found.errors == []
        (shop, _) = found.files
        assert shop.scan.files_read == 2
        links = store.dependents(source_kind=FILES_KIND)
        (app,) = links["docker.io/library/python:3.12-slim"]
        assert (app.source_name, app.locator, app.label) == ("shop", "app/Dockerfile",
                                                             "app/Dockerfile:1 runtime")
        assert app.details["pinned"] == "sha256:" + "a" * 64
        assert app.details["written"] == "python:3.12-slim@sha256:" + "a" * 64
        (node,) = links["docker.io/library/node:20"]
        assert node.details["platform"] == "linux/arm64"

        # Read again: nothing changed, nothing read; the first sighting is kept.
        again = asyncio.run(discover(config, store, files=files))
        assert (again.files[0].scan.files_read, again.files[0].scan.files_unchanged) == (0, 2)
        assert store.dependents(source_kind=FILES_KIND)[
            "docker.io/library/python:3.12-slim"][0].first_seen_at == app.first_seen_at

        # The Containerfile is deleted, the other source's directory too.
        (repo / "Containerfile").unlink()
        for path in other.iterdir():
            path.unlink()
        other.rmdir()
        after = asyncio.run(discover(config, store, files=files))
        (error,) = after.errors
        assert error.message == (f"files source {other}: does not exist; its last links "
                                 "are kept")
        links = store.dependents(source_kind=FILES_KIND)
        assert "docker.io/library/node:20" not in links
        assert [d.source_name for d in links["docker.io/library/redis:7"]] == [str(other)]
        assert "docker.io/library/redis:7" in [str(i.ref) for i in after.images]
        assert "docker.io/library/node:20" not in [str(i.ref) for i in after.images]

        # A path that is a file, not a directory, is that source's error too.
        other.write_text("not a directory")
        assert [e.message for e in asyncio.run(discover(config, store, files=files)).errors] == [
            f"files source {other}: is not a directory; its last links are kept"]
    finally:
        store.close()


def test_stored_details_back_as_places_and_odd_ones_left_out() -> None:
    from watcher.service.file_links import stored_dependent

    good = {"reference": "python:3.12-slim", "path": "app/Dockerfile", "line": 3,
            "kind": "from", "written": "${BASE}", "stage": "runtime", "context": None}
    place = stored_dependent(good)
    assert place is not None
    assert (str(place.image), place.path, place.line, place.stage, place.written) == (
        "docker.io/library/python:3.12-slim", "app/Dockerfile", 3, "runtime", "${BASE}")
    for odd in ({}, {**good, "line": "three"}, {**good, "reference": "UPPER:bad tag"},
                {"host": "build-host", "name": "web"}, {**good, "line": None}):
        assert stored_dependent(odd) is None
