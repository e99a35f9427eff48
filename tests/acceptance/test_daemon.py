"""``watcher run`` checks on schedule, keeps its registry client across rounds and stops
cleanly, also in the middle of a round; databases from a newer watcher are refused with a
clear message."""

from __future__ import annotations

import base64
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.cli import run, write_config
from tests.support import wait_until
from tests.support.proxy import GatedProxy
from tests.support.registry import RunningRegistry

DAEMON = [sys.executable, "-m", "watcher", "--log-json", "run"]


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
    assert finished["checked"] == 3
    assert finished["failed"] == 0
    status = run("status", "--config", str(config), "--json").json
    assert {image["status"] for image in status["images"]} == {"up_to_date"}


def _config(path: Path, host: str, refs: list[str], db: Path, *extra: str) -> Path:
    lines = ["[watcher]", f'database = "sqlite:///{db}"', *extra, "",
             "[[registries]]", f'host = "{host}"', "insecure = true", "retries = 0",
             'timeout = "30s"', "max_concurrency = 2"]
    for ref in refs:
        lines += ["", "[[images]]", f'ref = "{ref}"', "list_tags = false"]
    path.write_text("\n".join(lines) + "\n")
    return path


def _checked_refs(db: Path) -> dict[str, str]:
    """ref -> digest of every image checked at least once."""
    conn = sqlite3.connect(db, timeout=10)
    try:
        rows = conn.execute("SELECT ref, digest FROM images WHERE last_checked_at IS NOT NULL")
        return dict(rows.fetchall())
    finally:
        conn.close()


def _logs(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


def _logged(path: Path, event: str) -> int:
    return sum(1 for entry in _logs(path) if entry["event"] == event) if path.exists() else 0


@dataclass
class SlowRound:
    """A daemon in its first round, behind a proxy that let one check through and holds the
    next two (``max_concurrency = 2``); four more images wait for a slot."""

    process: subprocess.Popen[bytes]
    proxy: GatedProxy
    pushed: dict[str, str]  # ref (through the proxy) -> digest
    db: Path
    config: Path
    log: Path


@pytest.fixture
def daemon_options() -> tuple[str, ...]:
    return ()


@pytest.fixture
def slow_round(
    registry_open: RunningRegistry, repository: str, tmp_path: Path,
    daemon_options: tuple[str, ...],
) -> Iterator[SlowRound]:
    with GatedProxy(registry_open.url, free=1) as proxy:
        pushed = {
            f"{proxy.host}/{repository}/s{i}:1": registry_open.push.push_image(
                f"{repository}/s{i}", "1"
            )
            for i in range(6)
        }
        db = tmp_path / "watcher.db"
        config = _config(tmp_path / "watcher.toml", proxy.host, list(pushed), db)
        log = tmp_path / "daemon.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen([*DAEMON, "--config", str(config), *daemon_options],
                                       stderr=stderr, stdout=subprocess.DEVNULL, cwd=tmp_path)
        try:
            wait_until(
                lambda: process.poll() is not None or (_checked(db) == 1 and proxy.held == 2),
                timeout=60, what="one check recorded and two held in the proxy",
            )
            assert process.poll() is None, log.read_text()
            yield SlowRound(process, proxy, pushed, db, config, log)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def _requested(proxy: GatedProxy) -> set[str]:
    """The refs whose manifest was asked for through the proxy."""
    refs = set()
    for seen in proxy.seen:
        repository, _, tag = seen.route.removeprefix("/v2/").partition("/manifests/")
        refs.add(f"{proxy.host}/{repository}:{tag}")
    return refs


@pytest.mark.registry
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_mid_round_finishes_the_checks_in_flight_and_starts_no_more(
    slow_round: SlowRound, signum: signal.Signals
) -> None:
    process, proxy, log = slow_round.process, slow_round.proxy, slow_round.log
    os.kill(process.pid, signum)
    wait_until(lambda: _logged(log, "stopping") == 1, timeout=10, what="the daemon stopping")
    proxy.release()  # the two held checks may now finish
    assert process.wait(timeout=30) == 0, log.read_text()

    text = log.read_text()
    assert "RuntimeError" not in text
    assert "Traceback" not in text
    assert "Unclosed" not in text  # the registry client was closed at exit
    checked = _checked_refs(slow_round.db)
    assert len(proxy.seen) == 3  # one per check: none started after the signal
    assert set(checked) == _requested(proxy)  # every check started was recorded
    assert checked == {ref: slow_round.pushed[ref] for ref in checked}
    logs = _logs(log)
    finished = [entry for entry in logs if entry["event"] == "round finished"]
    assert len(finished) == 1
    assert finished[0]["checked"] == 3
    assert finished[0]["failed"] == 0
    assert logs[-1]["event"] == "stopped"
    assert logs[-1]["not_started"] == 3
    assert [entry["event"] for entry in logs].count("stopping") == 1


@pytest.mark.registry
def test_a_second_signal_exits_at_once_with_a_consistent_database(
    slow_round: SlowRound,
) -> None:
    process, proxy, log = slow_round.process, slow_round.proxy, slow_round.log
    os.kill(process.pid, signal.SIGTERM)
    wait_until(lambda: _logged(log, "stopping") == 1, timeout=10, what="the daemon stopping")
    os.kill(process.pid, signal.SIGTERM)
    # The held checks never finish: only an exit at once ends the process now.
    assert process.wait(timeout=10) == 128 + signal.SIGTERM, log.read_text()
    assert proxy.held == 2
    assert _logs(log)[-1]["event"] == "stopping at once"
    assert _integrity(slow_round.db) == "ok"
    checked = _checked_refs(slow_round.db)
    assert len(checked) == 1
    assert checked == {ref: slow_round.pushed[ref] for ref in checked}

    proxy.release()
    again = run("check", "--config", str(slow_round.config), "--json")
    assert again.exit_code == 0, again.stderr
    assert _checked_refs(slow_round.db) == slow_round.pushed


@pytest.mark.registry
@pytest.mark.parametrize("daemon_options", [("--stop-timeout", "0.5s")])
def test_checks_that_outlast_the_stop_timeout_are_abandoned(slow_round: SlowRound) -> None:
    process, proxy, log = slow_round.process, slow_round.proxy, slow_round.log
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=10) == 0, log.read_text()  # the held checks never finish
    assert proxy.held == 2
    text = log.read_text()
    assert "Traceback" not in text
    assert "abandoned" in text
    assert _integrity(slow_round.db) == "ok"
    checked = _checked_refs(slow_round.db)
    assert checked == {ref: slow_round.pushed[ref] for ref in checked}
    assert len(checked) == 1
    assert _logs(log)[-1]["event"] == "stopped"


def _integrity(db: Path) -> str:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


@pytest.mark.registry
def test_the_registry_client_lives_across_rounds(
    registry_token: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    refs = []
    for i in range(2):
        registry_token.push.push_image(f"{repository}/r{i}", "1")
        refs.append(str(registry_token.ref(f"{repository}/r{i}", "1")))
    assert registry_token.token_server is not None
    db = tmp_path / "watcher.db"
    config = _config(tmp_path / "watcher.toml", registry_token.host, refs, db,
                     'interval = "0.5s"')
    log = tmp_path / "daemon.log"
    before = registry_token.token_server.requests
    with log.open("wb") as stderr:
        process = subprocess.Popen([*DAEMON, "--config", str(config)], stderr=stderr,
                                   stdout=subprocess.DEVNULL, cwd=tmp_path)
    try:
        wait_until(lambda: process.poll() is not None or _logged(log, "round finished") >= 3,
                   timeout=60, what="three rounds")
        assert process.poll() is None, log.read_text()
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    rounds = [entry for entry in _logs(log) if entry["event"] == "round finished"]
    assert len(rounds) >= 3
    assert all(entry["failed"] == 0 for entry in rounds)
    # One token per repository scope across every round: tokens outlive a round.
    assert registry_token.token_server.requests - before == 2


def _docker_config(path: Path, host: str, password: str) -> None:
    auth = base64.b64encode(f"alice:{password}".encode()).decode()
    path.with_suffix(".tmp").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    path.with_suffix(".tmp").replace(path)


@pytest.mark.registry
def test_credentials_are_read_again_each_round(
    registry_htpasswd: RunningRegistry, repository: str, tmp_path: Path
) -> None:
    registry_htpasswd.push.push_image(repository, "1")
    ref = str(registry_htpasswd.ref(repository, "1"))
    docker = tmp_path / "docker.json"
    assert registry_htpasswd.password is not None
    _docker_config(docker, registry_htpasswd.host, registry_htpasswd.password)
    db = tmp_path / "watcher.db"
    config = _config(tmp_path / "watcher.toml", registry_htpasswd.host, [ref], db,
                     'interval = "0.5s"', f'docker_config = "{docker}"')
    log = tmp_path / "daemon.log"

    def rounds() -> list[dict[str, Any]]:
        return [e for e in _logs(log) if e["event"] == "round finished"] if log.exists() else []

    with log.open("wb") as stderr:
        process = subprocess.Popen([*DAEMON, "--config", str(config)], stderr=stderr,
                                   stdout=subprocess.DEVNULL, cwd=tmp_path)
    try:
        wait_until(lambda: process.poll() is not None or len(rounds()) >= 1, timeout=60,
                   what="the first round")
        assert rounds()[0]["failed"] == 0, log.read_text()
        _docker_config(docker, registry_htpasswd.host, "wrong")
        wait_until(lambda: process.poll() is not None or rounds()[-1]["failed"] == 1,
                   timeout=60, what="a round with the changed credentials")
        assert process.poll() is None, log.read_text()
        os.kill(process.pid, signal.SIGTERM)
        assert process.wait(timeout=30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert _logged(log, "registry settings changed; opening a new registry client") == 1
    failed = [e for e in _logs(log) if e["event"] == "check failed"]
    assert "refused the credentials" in failed[0]["error"]


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
