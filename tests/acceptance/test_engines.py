"""Containers on a real Podman engine (its Docker-compatible API), images pulled from the
tests' own registry: which containers are stale once a tag moves, and engines that fail."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.cli import run, write_config
from tests.support import wait_until
from tests.support.daemon import start_daemon, stop_daemon
from tests.support.engine import PodmanEngine, push_runnable, push_runnable_index
from tests.support.receivers import HookReceiver
from tests.support.registry import RunningRegistry
from watcher.errors import WatcherError
from watcher.store import Store

pytestmark = [pytest.mark.registry, pytest.mark.podman]


def engine_config(path: Path, registry: RunningRegistry, engines: list[dict[str, Any]],
                  images: list[dict[str, Any]] | None = None, *extra: str) -> Path:
    write_config(path, registry, images or [], database=f"sqlite:///{path.parent / 'w.db'}")
    lines = ["", *extra]
    for engine in engines:
        lines += ["", "[[sources.engine]]"]
        lines += [f"{key} = {json.dumps(value)}" for key, value in engine.items()]
    with path.open("a") as out:
        out.write("\n".join(lines) + "\n")
    return path


def containers(config: Path, *extra: str) -> dict[str, dict[str, Any]]:
    result = run("status", "--containers", "--json", "--config", str(config), *extra)
    assert result.exit_code == 0, result.stderr
    return {c["name"]: c for c in result.json["containers"]}


@pytest.fixture
def names(repository: str) -> str:
    """A prefix for this test's container names (containers are per engine, not per test)."""
    return repository.replace("/", "-")


def test_a_moved_tag_makes_exactly_its_containers_stale(
    podman_engine: PodmanEngine, registry_open: RunningRegistry, repository: str, names: str,
    tmp_path: Path,
) -> None:
    registry, push = registry_open, registry_open.push
    app, multi = f"{repository}/app", f"{repository}/multi"
    pinned_repo, skipped_repo = f"{repository}/pinned", f"{repository}/skipped"
    old_app = push_runnable(push, app, "1")
    index = push_runnable_index(push, multi, "1", ["linux/amd64", "linux/arm64/v8"])
    pinned = push_runnable(push, pinned_repo, None)
    push_runnable(push, skipped_repo, "1")
    config_image = f"{repository}/configured"
    push.push_image(config_image, "1")
    engine = podman_engine
    host = registry.host
    engine.pull(f"{host}/{app}:1")
    engine.pull(f"{host}/{multi}:1", platform="linux/amd64")
    engine.pull(f"{host}/{pinned_repo}@{pinned}")
    engine.pull(f"{host}/{skipped_repo}:1")
    web, worker = f"{names}-web", f"{names}-worker"
    engine.create(web, f"{host}/{app}:1")
    engine.create(worker, f"{host}/{app}:1", {"watcher.tag.include": "^1"})
    engine.create(f"{names}-multi", f"{host}/{multi}:1")
    engine.create(f"{names}-pinned", f"{host}/{pinned_repo}@{pinned}")
    engine.create(f"{names}-off", f"{host}/{skipped_repo}:1", {"watcher.enable": "false"})
    local_id = engine.import_unnamed()
    engine.create(f"{names}-local", local_id)
    hook = HookReceiver(lambda hit: (200, {}, b""))
    config = engine_config(tmp_path / "watcher.toml", registry,
                           [{"name": "podman", "url": engine.url, "stopped": True}],
                           [{"ref": f"{host}/{config_image}:1"}],
                           "[[notify.webhook]]", 'name = "hook"', f'url = "{hook.url}"',
                           "grouped = false", 'events = ["digest_changed"]')

    first = run("check", "--json", "--config", str(config))
    assert first.exit_code == 0, first.stdout + first.stderr
    (reading,) = first.json["engines"]
    assert reading["error"] is None
    assert reading["api_version"] == "1.41"  # Podman 4.3's, negotiated
    mine = {c["name"]: c for c in reading["watched"] if c["name"].startswith(names)}
    assert set(mine) == {web, worker, f"{names}-multi", f"{names}-pinned"}
    skipped = {c["name"]: c["reason"] for c in reading["skipped"] if c["name"].startswith(names)}
    assert skipped[f"{names}-off"] == "label watcher.enable=false"
    assert "has no repository digest" in skipped[f"{names}-local"]
    checked = {c["ref"] for c in first.json["images"]}
    assert {f"{host}/{app}:1", f"{host}/{multi}:1", f"{host}/{pinned_repo}@{pinned}",
            f"{host}/{config_image}:1"} <= checked
    assert f"{host}/{skipped_repo}:1" not in checked
    everything = containers(config, "--all")
    assert everything[web]["freshness"] == "current"
    assert everything[f"{names}-pinned"]["freshness"] == "pinned"
    assert not {n for n in containers(config) if n.startswith(names)}

    new_app = push_runnable(push, app, "1")
    push_runnable_index(push, multi, "1", ["linux/amd64", "linux/arm64/v8"],
                        keep={"linux/amd64": index.children["linux/amd64"]})
    with hook:
        second = run("check", "--json", "--config", str(config))
    assert second.exit_code == 0, second.stdout + second.stderr
    notices = {n["subject"]: n["data"] for n in (json.loads(h.body) for h in hook.hits)}
    # The notice of the moved tag names its containers; the index's other platform moved too.
    assert [c["name"] for c in notices[f"{host}/{app}:1"]["containers"]] == [web, worker]
    assert {c["host"] for c in notices[f"{host}/{app}:1"]["containers"]} == {"podman"}
    stale = {n: c for n, c in containers(config).items() if n.startswith(names)}
    assert set(stale) == {web, worker}
    assert stale[web]["running_digest"] == old_app
    assert stale[web]["current_digest"] == new_app
    assert stale[web]["host"] == "podman"
    assert stale[web]["image"] == f"{host}/{app}:1"
    with Store.open(f"sqlite:///{tmp_path / 'w.db'}") as store:
        (change,) = [e for e in store.history(f"{host}/{app}:1") if e.kind == "digest_changed"]
    assert stale[web]["since"] == change.at.isoformat().replace("+00:00", "Z")
    multi_row = containers(config, "--all")[f"{names}-multi"]
    assert multi_row["freshness"] == "current"
    assert multi_row["running_digest"] == index.children["linux/amd64"][0]
    assert "not for linux/amd64" in multi_row["reason"]

    text = run("status", "--containers", "--config", str(config))
    assert text.exit_code == 0
    assert web in text.stdout
    assert worker in text.stdout
    assert f"{names}-multi" not in text.stdout
    assert run("status", "--containers", "--exit-code", "--config",
               str(config)).exit_code == 1
    # The image's own status names what runs it: what to restart once rebuilt.
    status = run("status", "--config", str(config))
    assert f"used by: podman/{web}, podman/{worker}" in status.stdout
    documents = {i["ref"]: i for i in run("status", "--json", "--config",
                                          str(config)).json["images"]}
    assert [d["label"] for d in documents[f"{host}/{app}:1"]["dependents"]] == [web, worker]

    engine.remove(worker)
    third = run("check", "--all", "--config", str(config))
    assert third.exit_code == 0
    assert "engine podman: " in third.stdout
    assert f"  skipped {names}-off: label watcher.enable=false" in third.stdout
    assert {n for n in containers(config) if n.startswith(names)} == {web}
    with Store.open(f"sqlite:///{tmp_path / 'w.db'}") as store:
        dependents = store.dependents([f"{host}/{app}:1"])[f"{host}/{app}:1"]
        assert [d.label for d in dependents] == [web]  # one image, its remaining container
        kinds = [e.kind for e in store.history(f"{host}/{app}:1")]
    assert "digest_changed" in kinds  # the link went, not the history


class _OldEngine(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"Version": "1.11.2", "ApiVersion": "1.23"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def old_engine() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OldEngine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"tcp://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def forbidden_socket(tmp_path: Path) -> Iterator[Path]:
    """A Unix socket nobody may connect to (mode 000)."""
    path = tmp_path / "forbidden.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen()
    path.chmod(0)
    try:
        yield path
    finally:
        listener.close()


def test_failing_engines_say_why_and_the_rest_keeps_working(
    podman_engine: PodmanEngine, registry_open: RunningRegistry, repository: str, names: str,
    tmp_path: Path, old_engine: str, forbidden_socket: Path,
) -> None:
    registry, push, host = registry_open, registry_open.push, registry_open.host
    app, configured = f"{repository}/app", f"{repository}/configured"
    push_runnable(push, app, "1")
    push.push_image(configured, "1")
    podman_engine.pull(f"{host}/{app}:1")
    podman_engine.create(f"{names}-web", f"{host}/{app}:1")
    config = engine_config(tmp_path / "watcher.toml", registry, [
        {"name": "gone", "url": f"unix://{tmp_path}/no-such.sock"},
        {"name": "old", "url": old_engine},
        {"name": "forbidden", "url": f"unix://{forbidden_socket}"},
        {"name": "podman", "url": podman_engine.url, "stopped": True},
    ], [{"ref": f"{host}/{configured}:1"}])

    # As root, a socket's mode is no obstacle: run without the capability that bypasses it.
    command = [sys.executable, "-m", "watcher", "check", "--json", "--config", str(config)]
    if os.geteuid() == 0:
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    document = json.loads(done.stdout)
    errors = {r["name"]: r["error"] for r in document["engines"]}
    assert errors["gone"].startswith(f"engine gone (unix://{tmp_path}/no-such.sock): no socket")
    assert "speaks Engine API 1.23" in errors["old"]
    assert "1.24 or newer" in errors["old"]
    assert "permission denied on the socket" in errors["forbidden"]
    assert errors["podman"] is None
    images = {c["ref"]: c for c in document["images"]}
    assert images[f"{host}/{configured}:1"]["error"] is None
    assert images[f"{host}/{app}:1"]["error"] is None
    assert f"{names}-web" in containers(config, "--all")

    text = run("check", "--config", str(config))
    assert text.exit_code == 1
    assert "error: engine old (tcp://127.0.0.1:" in text.stderr


def test_the_daemon_sees_a_new_container_from_the_engines_events(
    podman_engine: PodmanEngine, registry_open: RunningRegistry, repository: str, names: str,
    tmp_path: Path,
) -> None:
    registry, push, host = registry_open, registry_open.push, registry_open.host
    app, later = f"{repository}/app", f"{repository}/later"
    push_runnable(push, app, "1")
    push_runnable(push, later, "1")
    podman_engine.pull(f"{host}/{app}:1")
    podman_engine.pull(f"{host}/{later}:1")
    podman_engine.create(f"{names}-first", f"{host}/{app}:1")
    config = engine_config(tmp_path / "watcher.toml", registry,
                           [{"name": "podman", "url": podman_engine.url, "stopped": True}])
    # Rounds an hour apart: only the engine's events can bring the second container in.
    config.write_text(config.read_text().replace("[watcher]\n", '[watcher]\ninterval = "1h"\n', 1))
    daemon = start_daemon(config, tmp_path / "daemon.log")
    database = f"sqlite:///{tmp_path / 'w.db'}"

    def checked(ref: str) -> bool:
        if daemon.poll() is not None:
            raise AssertionError((tmp_path / "daemon.log").read_text()[-3000:])
        try:
            with Store.open(database, upgrade=False) as store:
                state = store.load_state(ref)
                linked = store.dependents([ref])
        except WatcherError:
            return False
        return state is not None and state.digest is not None and bool(linked)

    try:
        wait_until(lambda: checked(f"{host}/{app}:1"), timeout=60, what="the first container")
        podman_engine.create(f"{names}-second", f"{host}/{later}:1")
        wait_until(lambda: checked(f"{host}/{later}:1"), timeout=60,
                   what="the container created while the daemon runs")
        podman_engine.remove(f"{names}-first")
        wait_until(lambda: not checked(f"{host}/{app}:1"), timeout=60,
                   what="the link of the container destroyed while the daemon runs to go")
    finally:
        assert stop_daemon(daemon) == 0, (tmp_path / "daemon.log").read_text()[-3000:]
    rows = containers(config, "--all")
    assert rows[f"{names}-second"]["freshness"] == "current"
    assert rows[f"{names}-second"]["host"] == "podman"
    assert f"{names}-first" not in rows
    with Store.open(database, upgrade=False) as store:
        assert store.history(f"{host}/{app}:1")  # its image's history stays


def test_an_engine_added_by_a_reload_is_read_and_followed(
    podman_engine: PodmanEngine, registry_open: RunningRegistry, repository: str, names: str,
    tmp_path: Path,
) -> None:
    registry, push, host = registry_open, registry_open.push, registry_open.host
    app, configured = f"{repository}/app", f"{repository}/configured"
    push_runnable(push, app, "1")
    push.push_image(configured, "1")
    podman_engine.pull(f"{host}/{app}:1")
    podman_engine.create(f"{names}-web", f"{host}/{app}:1")
    images = [{"ref": f"{host}/{configured}:1"}]
    config = engine_config(tmp_path / "watcher.toml", registry, [], images)
    database = f"sqlite:///{tmp_path / 'w.db'}"
    daemon = start_daemon(config, tmp_path / "daemon.log")

    def linked() -> bool:
        if daemon.poll() is not None:
            raise AssertionError((tmp_path / "daemon.log").read_text()[-3000:])
        try:
            with Store.open(database, upgrade=False) as store:
                return bool(store.dependents([f"{host}/{app}:1"]))
        except WatcherError:
            return False

    try:
        wait_until(lambda: "round finished" in (tmp_path / "daemon.log").read_text(),
                   timeout=60, what="the first round")
        assert not linked()
        engine_config(config, registry, [{"name": "podman", "url": podman_engine.url,
                                          "stopped": True}], images)
        os.kill(daemon.pid, signal.SIGHUP)
        wait_until(linked, timeout=60, what="the engine added by the reload to be read")
    finally:
        assert stop_daemon(daemon) == 0, (tmp_path / "daemon.log").read_text()[-3000:]
