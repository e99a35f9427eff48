"""Engine creation: URL checks, SQLite pragmas, and the writer/reader transaction discipline.

SQLite allows one writer at a time. A deferred ``BEGIN`` that later writes can fail with
"database is locked" when another connection wrote in between, and no busy timeout helps
with that. So every write transaction starts with ``BEGIN IMMEDIATE`` (it waits, up to the
busy timeout, for the write lock up front) while reads start a plain deferred ``BEGIN``,
which in WAL mode never blocks and never blocks the writer: ``watcher status`` reads while
the daemon writes. Python's sqlite3 module would emit its own BEGIN at odd times, so it is
told to stay out (``isolation_level = None``) and the ``begin`` event emits ours.

Other databases use their own transactions; PostgreSQL reads run at REPEATABLE READ so the
few queries of one read see one snapshot.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from watcher.errors import StorageError

BUSY_TIMEOUT_MS = 5000
CONNECT_TIMEOUT_S = 10
_WRITER = "watcher_writer"

# user:password@, up to the LAST '@' (a password may hold '/', ':', '?', '#', even an
# unescaped '@'): hiding too much is harmless, showing a piece of a password is not.
_PASSWORD = re.compile(r"(://[^:/@]*:).*@")
# Drivers also take the password as a query parameter (?password=...).
_QUERY_PASSWORD = re.compile(r"([?&](?:password|passwd|pwd)=)[^&#]*", re.IGNORECASE)


def mask(url: str | URL) -> str:
    """The URL as it may be shown to a user: password hidden."""
    if isinstance(url, URL):
        text = url.render_as_string(hide_password=True)
    else:
        text = _PASSWORD.sub(r"\1***@", url, count=1)
    return _QUERY_PASSWORD.sub(r"\1***", text)


def parse_url(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        raise StorageError(
            f"invalid database URL {mask(url)!r}: expected e.g. sqlite:///watcher.db "
            "or postgresql+psycopg://user:password@host/dbname"
        ) from exc


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _in_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database


def create(url: str) -> Engine:
    """An engine for ``url`` with watcher's settings; nothing is connected yet."""
    parsed = parse_url(url)
    kwargs: dict[str, Any] = {}
    connect_args: dict[str, Any] = {}
    if is_sqlite(parsed):
        connect_args["timeout"] = BUSY_TIMEOUT_MS / 1000
        connect_args["check_same_thread"] = False
        if _in_memory(parsed):
            # One shared connection, so every caller sees the same in-memory database.
            kwargs["poolclass"] = StaticPool
    elif parsed.get_backend_name() == "postgresql" and "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    try:
        engine = create_engine(
            parsed, connect_args=connect_args, json_serializer=_json_dumps,
            json_deserializer=_json_loads, **kwargs
        )
    except (NoSuchModuleError, ImportError) as exc:
        hint = ""
        if parsed.get_backend_name() == "postgresql":
            hint = "; for PostgreSQL install watcher[postgres] and use postgresql+psycopg://"
        raise StorageError(f"no database driver for {mask(parsed)!r}: {exc}{hint}") from exc
    except (ArgumentError, SQLAlchemyError) as exc:
        raise StorageError(f"cannot use database URL {mask(parsed)!r}: {exc}") from exc
    if is_sqlite(parsed):
        _sqlite_discipline(engine, wal=not _in_memory(parsed))
    return engine


def _json_default(value: object) -> object:
    """What json.dumps cannot write by itself: read-only mappings, datetimes, sets."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} as JSON: {value!r}")


def _json_dumps(value: object) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))


# The JSON values most rows hold (no missing platforms, no data): no parser needed.
_EMPTY_JSON: dict[str, Callable[[], object]] = {"[]": list, "{}": dict, "null": lambda: None}


def _json_loads(text: str | bytes) -> object:
    empty = _EMPTY_JSON.get(text) if isinstance(text, str) else None
    return empty() if empty is not None else json.loads(text)


def _sqlite_discipline(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Python's sqlite3 must not emit BEGIN (or COMMIT before DDL) by itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if wal:
                cursor.execute("PRAGMA journal_mode = WAL")
                # In WAL mode NORMAL loses no committed transaction on an application crash;
                # a power cut may lose the last ones, never consistency.
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        writer = connection.get_execution_options().get(_WRITER, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")


def mark_writer(connection: Connection) -> Connection:
    """Make the connection's next transaction a write transaction (BEGIN IMMEDIATE on SQLite)."""
    return connection.execution_options(**{_WRITER: True})


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction: BEGIN IMMEDIATE on SQLite; commit on success, else roll back."""
    with engine.connect() as connection:
        mark_writer(connection)
        with connection.begin():
            yield connection


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """One read transaction: deferred on SQLite, one snapshot on PostgreSQL."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield connection


def advisory_lock(connection: Connection, key: int) -> bool:
    """On PostgreSQL, wait for the transaction-level advisory lock ``key``; held until the
    transaction ends (commit or rollback), so it cannot outlive it.

    Returns whether it had to wait (another process held it). Other databases need no such
    lock (SQLite's write transactions already run one at a time): nothing is done.
    """
    if connection.dialect.name != "postgresql":
        return False
    if connection.scalar(select(func.pg_try_advisory_xact_lock(key))):
        return False
    connection.execute(select(func.pg_advisory_xact_lock(key)))
    return True
