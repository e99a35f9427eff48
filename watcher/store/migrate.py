"""Alembic wiring: where the migrations live, which revision a database is at, upgrading it.

The migrations ship inside the package as ``watcher.migrations`` (the top-level
``migrations/`` folder of the repository), so an installed watcher can upgrade its own
database; ``importlib.resources`` finds them both installed and in an editable checkout.
"""

from __future__ import annotations

import importlib.resources
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from watcher.errors import DatabaseTooNew, StorageError
from watcher.store.engine import advisory_lock, mark_writer, writing

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

# Alembic (and Mako, Pygments under it) is imported only where a revision is read or a
# migration runs: commands that open an existing database at its head never pay for it.

log = logging.getLogger(__name__)

# PostgreSQL advisory lock (a fixed key, "watcher" + 2) held while the schema is migrated.
MIGRATION_LOCK = 0x7761_7463_6865_7202

# Alembic's default table of the applied revision.
VERSION_TABLE = "alembic_version"


def script_location() -> Path:
    """The migrations folder, as a directory on disk (Alembic needs one)."""
    location = importlib.resources.files("watcher.migrations")
    path = Path(str(location))
    if not (path / "env.py").is_file():
        raise StorageError(f"migrations not found at {path}: the watcher installation is broken")
    return path


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(script_location()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@cache
def script_directory() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    chain = _revision_chain()
    heads = set(chain) - {down for down in chain.values() if down is not None}
    if len(heads) == 1:
        return heads.pop()
    # Several heads or none: Alembic's own reading says what is wrong with the scripts.
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise StorageError("no migrations found: the watcher installation is broken")
    return head


def revisions() -> list[str]:
    """Every revision, oldest first."""
    return [script.revision for script in reversed(list(script_directory().walk_revisions()))]


def known_revisions() -> frozenset[str]:
    return frozenset(_revision_chain())


_REVISION_LINE = re.compile(
    r'^(revision|down_revision)\s*(?::[^=]*)?=\s*(?:"([^"]*)"|\'([^\']*)\'|None)\s*$', re.M
)


@cache
def _revision_chain() -> dict[str, str | None]:
    """Each migration's revision and the one it follows, read from the scripts as text.

    Opening a database at its head only needs these two names per script; reading them
    this way spares loading Alembic and compiling every script (tests check that it
    agrees with Alembic's reading).
    """
    chain: dict[str, str | None] = {}
    for script in sorted((script_location() / "versions").glob("[0-9]*.py")):
        found: dict[str, str | None] = {}
        for match in _REVISION_LINE.finditer(script.read_text(encoding="utf-8")):
            found[match[1]] = match[2] if match[2] is not None else match[3]
        revision = found.get("revision")
        if revision:
            chain[revision] = found.get("down_revision")
    return chain


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; None for a database watcher never migrated."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    heads = [row[0] for row in connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]
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
        from alembic import command

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
