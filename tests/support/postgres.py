"""Pytest fixtures that run a throwaway PostgreSQL cluster on loopback.

    postgres_server   session: a cluster in a temporary directory on a free 127.0.0.1 port
    postgres_url      session: the URL of a database ``watcher`` in that cluster
    store_url         per test, parametrized: a fresh SQLite file, or a fresh PostgreSQL database

The cluster uses the Debian server binaries under ``/usr/lib/postgresql/*/bin``. PostgreSQL
refuses to run as root, so as root the server runs as the ``postgres`` user (``subprocess``
switches user in the child: the PID we hold is the postmaster's own) in a directory that user
owns. It runs without fsync (a test database need not survive a power cut) and is stopped by
its PID with a fast shutdown at the end of the session.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import free_port, missing_component, wait_until

BIN_GLOB = "/usr/lib/postgresql/*/bin"
USER = "watcher"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


def find_binaries() -> Path | None:
    """The newest installed server's bin directory, if any."""

    def version(path: Path) -> tuple[int, ...]:
        try:
            return tuple(int(part) for part in path.parent.name.split("."))
        except ValueError:
            return (0,)

    candidates = [
        path
        for path in Path("/").glob(BIN_GLOB.lstrip("/"))
        if (path / "initdb").is_file() and (path / "postgres").is_file()
    ]
    return max(candidates, key=version) if candidates else None


@dataclass
class PostgresServer:
    process: subprocess.Popen[bytes]
    port: int
    directory: Path
    log: Path

    host = "127.0.0.1"
    user = USER

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{database}"

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname="postgres", autocommit=True
        )

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its name."""
        name = name or f"test_{uuid.uuid4().hex[:12]}"
        with self._admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def accepting(self) -> bool:
        import psycopg

        if self.process.poll() is not None:
            raise RuntimeError(
                f"postgres exited with status {self.process.returncode}:\n{self.log_text()}"
            )
        try:
            with psycopg.connect(
                host=self.host, port=self.port, user=self.user, dbname="postgres", connect_timeout=1
            ):
                return True
        except psycopg.OperationalError:
            return False

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Fast shutdown of the postmaster, by its PID; killed if it does not go in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=STOP_TIMEOUT)


def _run_as() -> dict[str, Any]:
    """Popen arguments that drop root to the ``postgres`` user; nothing when not root."""
    if os.geteuid() != 0:
        return {}
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        missing_component("running as root and there is no `postgres` user to run PostgreSQL as")
        raise  # unreachable: missing_component skips or fails
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def start_server(binaries: Path) -> PostgresServer:
    run_as = _run_as()
    directory = Path(tempfile.mkdtemp(prefix="watcher-pg-"))
    if run_as:
        os.chown(directory, run_as["user"], run_as["group"])
    data = directory / "data"
    log = directory / "server.log"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "TZ": "UTC"}
    initdb = subprocess.run(
        [
            str(binaries / "initdb"),
            "--pgdata",
            str(data),
            "--username",
            USER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
            "--no-instructions",
        ],
        cwd=directory,
        env=env,
        capture_output=True,
        check=False,
        **run_as,
    )
    if initdb.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        output = (initdb.stdout + initdb.stderr).decode(errors="replace")
        raise RuntimeError(f"initdb failed ({initdb.returncode}):\n{output}")
    port = free_port()
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                str(binaries / "postgres"),
                "-D",
                str(data),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-k",
                str(directory),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=50",
            ],
            cwd=directory,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            **run_as,
        )
    server = PostgresServer(process, port, directory, log)
    try:
        wait_until(server.accepting, timeout=START_TIMEOUT, what="PostgreSQL to accept connections")
    except BaseException:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing_component("psycopg is not installed (pip install watcher[postgres])")
    binaries = find_binaries()
    if binaries is None:
        missing_component(f"PostgreSQL server binaries not found under {BIN_GLOB}")
        return
    server = start_server(binaries)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """A database ``watcher`` in the session's cluster, shared by the whole session."""
    return postgres_server.url(postgres_server.create_database("watcher"))


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database for one test: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'watcher.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)
