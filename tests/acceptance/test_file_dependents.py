"""Files sources as dependents, end to end with the real registry: a git working tree with
three Dockerfiles (two on one base, one multi-stage with ARG substitution), a compose file and
a Kubernetes manifest, configured as [[sources.files]]. ``watcher check`` links them; a
moved tag yields one notice naming every dependent with the version change; a deleted
Dockerfile loses its link and the image keeps its history; a source that cannot be read is
one error and keeps its links; the daemon sees a new Dockerfile at its next round."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.cli import run
from tests.support import wait_until
from tests.support.daemon import start_daemon, stop_daemon
from tests.support.receivers import Hit, HookReceiver
from tests.support.registry import RunningRegistry

PLATFORMS = ["linux/amd64", "linux/arm64/v8"]
PACKAGES = {"openssl": "3.0.13-1~deb12u1", "tzdata": "2024a-0+deb12u1"}


def _config(path: Path, registry: RunningRegistry, db: Path, hook: str, *extra: str) -> Path:
    lines = ["[watcher]", f'database = "sqlite:///{db}"', *extra, "",
             "[[registries]]", f'host = "{registry.host}"', "insecure = true", "retries = 0",
             'timeout = "10s"', "",
             "[[notify.webhook]]", 'name = "hook"', f'url = "{hook}"', 'retry_for = "1h"', "",
             "[[sources.files]]", 'name = "shop"', 'path = "repo"', "",
             "[[sources.files]]", 'path = "extra"']
    path.write_text("\n".join(lines) + "\n")
    return path


def _tree(root: Path, python: str, node_repository: str) -> None:
    """The files of a small shop, in a git working tree."""
    repo = root / "repo"
    for directory in ("app", "worker", "tools", "deploy"):
        (repo / directory).mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / ".git" / "Dockerfile").write_text("FROM never-read:1\n")  # .git is never entered
    (repo / "app" / "Dockerfile").write_text(f"FROM {python} AS runtime\nCMD [\"app\"]\n")
    (repo / "worker" / "Dockerfile").write_text(f"# worker\nFROM {python}\nCMD [\"work\"]\n")
    (repo / "tools" / "Dockerfile").write_text(
        f"ARG NODE_TAG=20\nARG PY={python}\n"
        f"FROM {node_repository}:${{NODE_TAG}} AS build\nRUN true\n"
        f"FROM ${{PY}} AS runtime\nCOPY --from=build /out /out\n")
    (repo / "compose.yaml").write_text(
        "services:\n"
        "  web:\n"
        "    build: app\n"
        "    image: shop/web:latest\n"
        "  cache:\n"
        f"    image: {python}\n")
    (repo / "deploy" / "web.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n"
        "  template:\n    spec:\n"
        f"      initContainers:\n      - name: migrate\n        image: {node_repository}:20\n"
        f"      containers:\n      - name: web\n        image: {python}\n")
    (root / "extra").mkdir()
    (root / "extra" / "Dockerfile").write_text(f"FROM {node_repository}:20\n")


def _events(hits: list[Hit]) -> list[dict[str, Any]]:
    """The CloudEvents the hits carried (a batch is a JSON array)."""
    found: list[dict[str, Any]] = []
    for hit in hits:
        document = json.loads(hit.body)
        found.extend(document if isinstance(document, list) else [document])
    return found


@pytest.mark.registry
def test_files_are_linked_and_a_moved_base_is_one_notice_naming_every_dependent(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    push = registry_open.push
    python_repository = f"{repository}/python"
    push.push_attested_index(python_repository, ["3.12-slim", "3.12.7-slim"], PLATFORMS,
                             env=["PYTHON_VERSION=3.12.7"], packages=PACKAGES)
    push.push_image(f"{repository}/node", "20", env=["NODE_VERSION=20.18.0"])
    python = str(registry_open.ref(python_repository, "3.12-slim"))
    node_repository = str(registry_open.ref(f"{repository}/node", "20")).rsplit(":", 1)[0]
    node = f"{node_repository}:20"
    _tree(tmp_path, python, node_repository)
    with HookReceiver(lambda hit: (200, {}, b"")) as hook:
        config = _config(tmp_path / "watcher.toml", registry_open, tmp_path / "watcher.db",
                         hook.url)
        first = run("check", "--config", str(config), "--json")
        assert first.exit_code == 0, first.stdout + first.stderr
        shop, extra = first.json["files"]
        assert (shop["name"], shop["error"], shop["problems"]) == ("shop", None, [])
        assert extra["name"] == str(tmp_path / "extra")
        assert sorted(i["ref"] for i in first.json["images"]) == sorted([python, node])
        labels = sorted(d["label"] for d in shop["dependents"] if d["image"] == python)
        assert labels == ["app/Dockerfile:1 runtime", "compose.yaml:6 service cache",
                          "deploy/web.yaml:12 Deployment web, container web",
                          "tools/Dockerfile:5 runtime", "worker/Dockerfile:2"]
        assert sorted(d["label"] for d in shop["dependents"] if d["image"] == node) == [
            "deploy/web.yaml:9 Deployment web, container migrate",
            "tools/Dockerfile:3 build"]

        explained = run("explain", "--config", str(config), "--offline", "--json", python).json
        by_label = {d["label"]: d for d in explained["dependents"]}
        assert set(by_label) == set(labels)
        app = by_label["app/Dockerfile:1 runtime"]
        assert (app["source"], app["path"], app["line"], app["stage"], app["written"]) == (
            "shop", "app/Dockerfile", 1, "runtime", python)
        assert app["builds"] == "shop/web:latest"  # compose says what app/Dockerfile builds
        assert by_label["tools/Dockerfile:5 runtime"]["written"] == "${PY}"
        text = run("explain", "--config", str(config), "--offline", python).stdout
        assert "dependent         files shop: worker/Dockerfile:2" in text

        status = run("status", "--config", str(config), "--json").json
        counts = {i["ref"]: i["dependent_count"] for i in status["images"]}
        assert counts == {python: 5, node: 3}
        table = run("status", "--config", str(config)).stdout
        assert "USED BY" in table.splitlines()[0]

        # The tag moves: one notice for the round, naming every dependent.
        settled = len(hook.hits)
        push.push_attested_index(python_repository, ["3.12-slim", "3.12.8-slim"], PLATFORMS,
                                 env=["PYTHON_VERSION=3.12.8"],
                                 packages={**PACKAGES, "openssl": "3.0.14-1~deb12u1"})
        moved = run("check", "--config", str(config))
        assert moved.exit_code == 0, moved.stdout + moved.stderr
        hits = hook.hits[settled:]
        assert len(hits) == 1
        (event,) = _events(hits)
        assert (event["type"].rsplit(".", 1)[-1], event["subject"]) == ("digest_changed", python)
        data = event["data"]
        assert sorted(d["label"] for d in data["dependents"]) == labels
        assert data["classes"] == ["patch"]
        assert data["explanation"]["versions"] == {"PYTHON_VERSION": ["3.12.7", "3.12.8"]}
        rebuild = [d["advice"] for d in data["dependents"]]
        assert all(line.startswith("Rebuild ") for line in rebuild)
        assert len(rebuild) == 5
        app_line = next(line for line in rebuild if line.startswith("Rebuild `app/Dockerfile`"))
        assert app_line.startswith(
            f"Rebuild `app/Dockerfile` (stage `runtime`): base `{python}` now equals "
            "`3.12.8-slim`; Python 3.12.7 -> 3.12.8; openssl 3.0.13-1~deb12u1 -> "
            "3.0.14-1~deb12u1; 1 package changed; ")
        assert "linux/amd64 and linux/arm64/v8" in app_line
        assert "1 of 1 layers changed" in app_line
        assert any(line.startswith("Rebuild `deploy/web.yaml` (Deployment web, container web)")
                   for line in rebuild)

        # A deleted Dockerfile loses its link; the image keeps its history.
        (tmp_path / "repo" / "worker" / "Dockerfile").unlink()
        # A source whose directory is gone: one error line, its links kept, the rest goes on.
        shutil.rmtree(tmp_path / "extra")
        after = run("check", "--config", str(config))
        assert after.exit_code == 1
        errors = [line for line in after.stderr.splitlines() if line.startswith("error:")]
        assert errors == [f"error: files source {tmp_path / 'extra'}: does not exist; its "
                          "last links are kept"]
        assert any(line.startswith("files shop: 6 dependents (2 images), ")
                   for line in after.stdout.splitlines()), after.stdout
        explained = run("explain", "--config", str(config), "--offline", "--json", python).json
        assert "worker/Dockerfile:2" not in {d["label"] for d in explained["dependents"]}
        assert len(explained["dependents"]) == 4
        history = run("history", "--config", str(config), "--json", python).json
        assert "digest_changed" in [e["kind"] for e in history["history"]]
        node_explained = run("explain", "--config", str(config), "--offline", "--json",
                             node).json
        assert {d["source"] for d in node_explained["dependents"]} == {
            "shop", str(tmp_path / "extra")}
        status = run("status", "--config", str(config), "--json").json
        assert {i["ref"]: i["dependent_count"] for i in status["images"]} == {
            python: 4, node: 3}

        # advise from the stored links, without reading the files.
        stored = run("advise", "--config", str(config), "--stored", "--json")
        assert stored.exit_code == 0, stored.stderr
        uses = {(s["path"], u["path"], u["line"]): u["action"]
                for s in stored.json["sources"] for u in s["uses"]}
        assert uses[(str(tmp_path / "repo"), "app/Dockerfile", 1)] == "rebuild"
        assert uses[(str(tmp_path / "extra"), "Dockerfile", 1)] == "up to date"


def _linked(db: Path) -> set[str]:
    connection = sqlite3.connect(db, timeout=10)
    try:
        return {row[0] for row in connection.execute(
            "SELECT label FROM dependents WHERE source_kind = 'files'")}
    except sqlite3.OperationalError:
        return set()  # not created yet
    finally:
        connection.close()


def _checked(db: Path) -> set[str]:
    connection = sqlite3.connect(db, timeout=10)
    try:
        return {row[0] for row in connection.execute(
            "SELECT ref FROM images WHERE last_checked_at IS NOT NULL")}
    except sqlite3.OperationalError:
        return set()
    finally:
        connection.close()


@pytest.mark.registry
def test_the_daemon_links_a_new_dockerfile_at_its_next_round(
    registry_open: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    push = registry_open.push
    push.push_image(f"{repository}/base", "1")
    push.push_image(f"{repository}/other", "2")
    base = str(registry_open.ref(f"{repository}/base", "1"))
    other = str(registry_open.ref(f"{repository}/other", "2"))
    (tmp_path / "repo" / "app").mkdir(parents=True)
    (tmp_path / "repo" / "app" / "Dockerfile").write_text(f"FROM {base}\n")
    (tmp_path / "extra").mkdir()
    db = tmp_path / "watcher.db"
    with HookReceiver(lambda hit: (200, {}, b"")) as hook:
        config = _config(tmp_path / "watcher.toml", registry_open, db, hook.url,
                         'interval = "1s"', "jitter = 0")
        process = start_daemon(config, tmp_path / "daemon.log")
        try:
            wait_until(lambda: process.poll() is not None or base in _checked(db),
                       timeout=60, what="the first round")
            assert process.poll() is None, (tmp_path / "daemon.log").read_text()
            assert _linked(db) == {"app/Dockerfile:1"}
            (tmp_path / "repo" / "new").mkdir()
            (tmp_path / "repo" / "new" / "Dockerfile").write_text(f"FROM {other} AS built\n")
            wait_until(lambda: process.poll() is not None or other in _checked(db),
                       timeout=60, what="the new Dockerfile's base checked")
            assert _linked(db) == {"app/Dockerfile:1", "new/Dockerfile:1 built"}
        finally:
            code = stop_daemon(process)
    assert code == 0, (tmp_path / "daemon.log").read_text()
    logs = [json.loads(line) for line in (tmp_path / "daemon.log").read_text().splitlines()
            if line.startswith("{")]
    assert not [e for e in logs if e.get("level") == "error"]
