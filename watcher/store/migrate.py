"""Alembic wiring: where the migrations live, which revision a database is at, upgrading it.

The migrations ship inside the package as ``watcher.migrations`` (the top-level
``migrations/`` folder of the repository), so an installed watcher can upgrade its own
database; ``importlib.resources`` finds them both installed and in an editable checkout.
"""

from __future__ import annotations

import importlib.resources
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine

from watcher.errors import DatabaseTooNew, StorageError
from watcher.store.engine import advisory_lock, mark_writer, writing

log = logging.getLogger(__name__)

# PostgreSQL advisory lock (a fixed key, "watcher" + 2) held while the schema is migrated.
MIGRATION_LOCK = 0x7761_7463_6865_7202


def script_location() -> Path:
    """The migrations folder, as a directory on disk (Alembic needs one)."""
    location = importlib.resources.files("watcher.migrations")
    path = Path(str(location))
    if not (path / "env.py").is_file():
        raise StorageError(f"migrations not found at {path}: the watcher installation is broken")
    return path


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def script_directory() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise StorageError("no migrations found: the watcher installation is broken")
    return head


def revisions() -> list[str]:
    """Every revision, oldest first."""
    return [script.revision for script in reversed(list(script_directory().walk_revisions()))]


def known_revisions() -> frozenset[str]:
    return frozenset(revisions())


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; None for a database watcher never migrated."""
    heads = MigrationContext.configure(connection).get_current_heads()
    if len(heads) > 1:
        raise StorageError(f"database has several schema revisions ({', '.join(heads)})")
    return heads[0] if heads else None


def ensure_known(revision: str | None) -> None:
    """Refuse a database migrated by a newer watcher: its schema is unknown to this one."""
    if revision is not None and revision not in known_revisions():
        raise DatabaseTooNew(
            f"database is at revision {revision}, which this watcher does not know: "
            "it was migrated by a newer watcher; upgrade watcher"
        )


def check_current(revision: str | None) -> None:
    """Raise unless the database is at the head revision of this watcher."""
    ensure_known(revision)
    head = head_revision()
    if revision is None:
        raise StorageError("database has no watcher schema yet, run `watcher db upgrade`")
    if revision != head:
        raise StorageError(
            f"database is at revision {revision}, run `watcher db upgrade` (to {head})"
        )


def upgrade(engine: Engine, target: str = "head") -> tuple[str | None, str | None]:
    """Apply migrations up to ``target`` in one transaction; returns (from, to) revisions.

    On PostgreSQL the transaction first takes an advisory lock (``MIGRATION_LOCK``), so
    processes that start together on one database migrate one after another: the first
    migrates, the others then find the schema at its head and change nothing. The lock ends
    with the transaction. (On SQLite the write transaction already runs alone.)
    """
    with _migration_connection(engine) as connection:
        if advisory_lock(connection, MIGRATION_LOCK):
            log.info("waited for another process migrating this database")
        before = current_revision(connection)
        ensure_known(before)
        command.upgrade(alembic_config(connection), target)
        after = current_revision(connection)
        if engine.dialect.name == "sqlite":
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise StorageError(f"migration broke foreign keys: {problems[:5]}")
    return before, after


@contextmanager
def _migration_connection(engine: Engine) -> Iterator[Connection]:
    """A write transaction for migrations.

    SQLite changes most columns by copying a table ("batch" migrations); with foreign keys
    on, dropping the old copy would cascade. So they are off while migrating (they cannot be
    switched inside a transaction), checked with ``foreign_key_check`` before commit, and
    switched back on afterwards.
    """
    if engine.dialect.name != "sqlite":
        with writing(engine) as connection:
            yield connection
        return
    with engine.connect() as connection:
        _pragma(connection, "foreign_keys = OFF")
        try:
            mark_writer(connection)
            with connection.begin():
                yield connection
        finally:
            _pragma(connection, "foreign_keys = ON")


def _pragma(connection: Connection, pragma: str) -> None:
    """Run a PRAGMA outside any transaction, on the DBAPI connection itself."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {pragma}")
    finally:
        cursor.close()
