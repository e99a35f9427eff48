"""Migrations: the only source of the schema, and they must match the models and keep data."""

from __future__ import annotations

import importlib.resources
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from watcher.core.events import DigestChanged, NewVersion
from watcher.errors import DatabaseTooNew, StorageError
from watcher.store import EventState, Store, migrate
from watcher.store.engine import create, reading, writing
from watcher.store.schema import metadata

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
T1 = datetime(2024, 5, 1, 13, 0, tzinfo=UTC)


def revisions_oldest_first() -> list[str]:
    return [
        script.revision for script in reversed(list(migrate.script_directory().walk_revisions()))
    ]


def test_migrations_are_found_as_package_resources() -> None:
    location = importlib.resources.files("watcher.migrations")
    assert (Path(str(location)) / "env.py").is_file()
    assert migrate.script_location() == Path(str(location))
    assert (migrate.script_location() / "versions").is_dir()


def test_there_is_one_head_and_one_base() -> None:
    scripts = migrate.script_directory()
    assert len(scripts.get_heads()) == 1
    assert len(scripts.get_bases()) == 1
    assert Store.head_revision() == scripts.get_current_head()


def test_an_empty_database_upgraded_to_head_matches_the_models(store_url: str) -> None:
    with Store.open(store_url) as store:
        assert store.current_revision() == Store.head_revision()
    engine = create(store_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_upgrading_twice_changes_nothing(store_url: str) -> None:
    with Store.open(store_url) as store:
        store.upgrade()
        assert store.current_revision() == Store.head_revision()


# Rows written at the FIRST revision, in that revision's columns. Later revisions must carry
# them forward: the test counts every table's rows after each step and reads them back through
# the Store API at head.
FIRST_REVISION_ROWS: dict[str, list[dict[str, object]]] = {
    "images": [
        {
            "id": 1,
            "ref": "docker.io/library/python:3.12",
            "active": True,
            "added_at": T0,
            "digest": "sha256:" + "a" * 64,
            "media_type": "application/vnd.oci.image.index.v1+json",
            "platforms": {"linux/amd64": "sha256:" + "b" * 64},
            "newer_same_line": "3.12.4",
            "newer_newest": "3.13.0",
            "reported_same_line": "3.12.4",
            "reported_newest": "3.13.0",
            "tags_fingerprint": "f" * 64,
            "removed": False,
            "changes": 2,
            "last_changed_at": T0,
            "last_checked_at": T0,
            "last_error": None,
            "last_error_status": None,
            "failing_since": None,
            "failure_count": 0,
        },
        {
            "id": 2,
            "ref": "ghcr.io/acme/base:1",
            "active": False,
            "added_at": T0,
            "digest": None,
            "media_type": None,
            "platforms": {},
            "newer_same_line": None,
            "newer_newest": None,
            "reported_same_line": None,
            "reported_newest": None,
            "tags_fingerprint": None,
            "removed": False,
            "changes": 1,
            "last_changed_at": None,
            "last_checked_at": T0,
            "last_error": "unauthorized",
            "last_error_status": 401,
            "failing_since": T0,
            "failure_count": 3,
        },
    ],
    "history": [
        {"id": 1, "image_id": 1, "at": T0, "kind": "baseline", "data": {"digest": "x"}},
        {"id": 2, "image_id": 1, "at": T0, "kind": "new_version", "data": {"new": ["3.13.0"]}},
        {"id": 3, "image_id": 2, "at": T0, "kind": "failing", "data": {"status": 401}},
    ],
    "events": [
        {
            "id": "e" * 32,
            "image_id": 1,
            "kind": "new_version",
            "created_at": T0,
            "data": {"new": ["3.13.0"]},
            "state": "pending",
            "attempts": 0,
        },
        {
            "id": "d" * 32,
            "image_id": 1,
            "kind": "digest_changed",
            "created_at": T0,
            "data": {},
            "state": "acknowledged",
            "attempts": 1,
            "acknowledged_at": T0,
        },
        # Delivered by a notifier, never acknowledged: still waiting for the user.
        {
            "id": "c" * 32,
            "image_id": 1,
            "kind": "digest_changed",
            "created_at": T0,
            "data": {"old_digest": "sha256:" + "a" * 64, "new_digest": "sha256:" + "f" * 64},
            "state": "delivered",
            "attempts": 2,
            "last_attempt_at": T1,
            "delivered_at": T1,
        },
        # Acknowledged without a time: it keeps the best time known, its delivery's.
        {
            "id": "b" * 32,
            "image_id": 2,
            "kind": "tag_removed",
            "created_at": T0,
            "data": {"tag_digest": None},
            "state": "acknowledged",
            "attempts": 1,
            "delivered_at": T1,
        },
    ],
}


def test_data_written_at_the_first_revision_survives_every_upgrade(store_url: str) -> None:
    revisions = revisions_oldest_first()
    engine = create(store_url)
    try:
        migrate.upgrade(engine, revisions[0])
        with writing(engine) as connection:
            tables = sa.MetaData()
            tables.reflect(connection, only=list(FIRST_REVISION_ROWS))
            for name, rows in FIRST_REVISION_ROWS.items():
                table = tables.tables[name]
                for row in rows:
                    connection.execute(table.insert().values(_portable(row, table)))
        counts = _counts(engine)
        assert counts == {name: len(rows) for name, rows in FIRST_REVISION_ROWS.items()}
        for revision in revisions[1:]:
            migrate.upgrade(engine, revision)
            after = _counts(engine)
            assert after == counts, f"rows lost migrating to {revision}"
    finally:
        engine.dispose()

    with Store.open(store_url) as store:
        assert store.current_revision() == Store.head_revision()
        python = store.load_state("docker.io/library/python:3.12")
        assert python is not None
        assert python.digest == "sha256:" + "a" * 64
        assert dict(python.platforms) == {"linux/amd64": "sha256:" + "b" * 64}
        assert python.newer.newest == "3.13.0"
        assert python.last_changed_at == T0
        # Revision 0002's columns read as nothing missing, no error, nothing acknowledged.
        assert (python.missing_platforms, python.tags_error) == ((), None)
        assert (python.acknowledged_same_line, python.acknowledged_newest) == (None, None)
        base = store.load_state("ghcr.io/acme/base:1")
        assert base is not None
        assert (base.failure_count, base.last_error_status, base.failing_since) == (3, 401, T0)
        assert [s.ref for s in store.statuses(include_inactive=True)] == [
            "docker.io/library/python:3.12",
            "ghcr.io/acme/base:1",
        ]
        assert [e.kind for e in store.history("docker.io/library/python:3.12")] == [
            "baseline",
            "new_version",
        ]
        # Revision 0003: pending until acknowledged; delivered alone is pending.
        pending = store.events()
        assert [(e.id, e.state) for e in pending] == [
            ("c" * 32, EventState.PENDING),
            ("e" * 32, EventState.PENDING),
        ]
        assert [e.acknowledged_at for e in pending] == [None, None]
        # The JSON stored before payloads were typed reads back as typed payloads.
        assert pending[0].payload == DigestChanged("sha256:" + "a" * 64, "sha256:" + "f" * 64)
        assert pending[1].payload == NewVersion(None, None, ("3.13.0",))
        acknowledged = store.events(states=[EventState.ACKNOWLEDGED])
        assert [(e.id, e.acknowledged_at) for e in acknowledged] == [
            ("b" * 32, T1),
            ("d" * 32, T0),
        ]
        statuses = {s.ref: s for s in store.statuses(include_inactive=True)}
        assert [e.id for e in statuses["docker.io/library/python:3.12"].pending] == [
            "c" * 32,
            "e" * 32,
        ]
        assert statuses["ghcr.io/acme/base:1"].pending == ()
    engine = create(store_url)
    try:
        with engine.connect() as connection:
            columns = {c["name"] for c in sa.inspect(connection).get_columns("events")}
    finally:
        engine.dispose()
    assert columns == {"id", "image_id", "kind", "created_at", "data", "acknowledged_at"}


def _portable(row: dict[str, object], table: sa.Table) -> dict[str, object]:
    """Reflected SQLite columns know no time zones: hand them UTC without an offset."""
    out = dict(row)
    for key, value in row.items():
        if isinstance(value, datetime) and not getattr(table.c[key].type, "timezone", False):
            out[key] = value.astimezone(UTC).replace(tzinfo=None)
    return out


def _counts(engine: sa.Engine) -> dict[str, int]:
    with reading(engine) as connection:
        names = set(sa.inspect(connection).get_table_names())
        return {
            name: connection.execute(sa.text(f"SELECT count(*) FROM {name}")).scalar_one()
            for name in FIRST_REVISION_ROWS
            if name in names
        }


def _stamp(url: str, revision: str) -> None:
    engine = create(url)
    try:
        with writing(engine) as connection:
            connection.execute(
                sa.text("UPDATE alembic_version SET version_num = :v"), {"v": revision}
            )
    finally:
        engine.dispose()


def test_a_database_from_a_newer_watcher_is_refused(store_url: str) -> None:
    Store.open(store_url).close()
    _stamp(store_url, "9999_from_the_future")
    with pytest.raises(DatabaseTooNew, match="newer watcher; upgrade watcher"):
        Store.open(store_url, upgrade=False)
    with pytest.raises(DatabaseTooNew, match="9999_from_the_future"):
        Store.open(store_url, upgrade=True)


def test_a_database_behind_head_must_be_upgraded_first(store_url: str) -> None:
    with Store.connect(store_url) as store:
        assert store.current_revision() is None
    with pytest.raises(StorageError, match=r"run `watcher db upgrade`"):
        Store.open(store_url, upgrade=False)
    engine = create(store_url)
    try:
        migrate.upgrade(engine, revisions_oldest_first()[0])
    finally:
        engine.dispose()
    if len(revisions_oldest_first()) > 1:
        with pytest.raises(
            StorageError, match=r"database is at revision .* run `watcher db upgrade`"
        ):
            Store.open(store_url, upgrade=False)
    Store.open(store_url, upgrade=True).close()
    Store.open(store_url, upgrade=False).close()


def test_a_failed_upgrade_leaves_the_database_as_it_was(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = migrate.current_revision
    calls: list[str | None] = []

    def fail_after_migrating(connection: sa.Connection) -> str | None:
        calls.append(real(connection))
        if len(calls) == 2:  # after command.upgrade, before the commit
            raise RuntimeError("injected failure")
        return calls[-1]

    monkeypatch.setattr(migrate, "current_revision", fail_after_migrating)
    engine = create(store_url)
    try:
        with pytest.raises(RuntimeError, match="injected failure"):
            migrate.upgrade(engine)
        assert calls == [None, Store.head_revision()]
        with engine.connect() as connection:
            assert sa.inspect(connection).get_table_names() == []
    finally:
        engine.dispose()


def test_downgrading_0003_restores_the_state_column(store_url: str) -> None:
    engine = create(store_url)
    try:
        migrate.upgrade(engine, "0002")
        with writing(engine) as connection:
            tables = sa.MetaData()
            tables.reflect(connection, only=list(FIRST_REVISION_ROWS))
            for name, rows in FIRST_REVISION_ROWS.items():
                for row in rows:
                    table = tables.tables[name]
                    connection.execute(table.insert().values(_portable(row, table)))
        migrate.upgrade(engine, "0003")
        with writing(engine) as connection:
            command.downgrade(migrate.alembic_config(connection), "0002")
        with reading(engine) as connection:
            rows = connection.execute(sa.text("SELECT id, state FROM events ORDER BY id")).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in rows] == [
        ("b" * 32, "acknowledged"),
        ("c" * 32, "pending"),
        ("d" * 32, "acknowledged"),
        ("e" * 32, "pending"),
    ]


def test_the_revisions_read_as_text_agree_with_alembic() -> None:
    # Opening a database reads the scripts' revision lines without Alembic: same answer.
    scripts = migrate.script_directory()
    assert migrate.head_revision() == scripts.get_current_head()
    assert migrate.known_revisions() == {script.revision for script in scripts.walk_revisions()}
    assert migrate._revision_chain() == {
        script.revision: script.down_revision for script in scripts.walk_revisions()
    }


def test_0007_adds_dependents_linked_to_images_and_its_downgrade_drops_them(
    store_url: str,
) -> None:
    engine = create(store_url)
    try:
        migrate.upgrade(engine, "0006")
        with reading(engine) as connection:
            assert "dependents" not in sa.inspect(connection).get_table_names()
        migrate.upgrade(engine, "0007")
        with writing(engine) as connection:
            connection.execute(sa.text(
                "INSERT INTO images (id, ref, active, added_at, platforms, removed, changes,"
                " failure_count) VALUES (1, 'docker.io/library/python:3.12', true,"
                " '2024-05-01 12:00:00', '{}', false, 0, 0)"))
            connection.execute(sa.text(
                "INSERT INTO dependents (image_id, source_kind, source_name, locator, label,"
                " details, first_seen_at, last_seen_at) VALUES (1, 'engine', 'host', 'c1',"
                " 'web', '{}', '2024-05-01 12:00:00', '2024-05-01 12:00:00')"))
        with writing(engine) as connection, pytest.raises(sa.exc.IntegrityError):
            connection.execute(sa.text(
                "INSERT INTO dependents (image_id, source_kind, source_name, locator, label,"
                " details, first_seen_at, last_seen_at) VALUES (1, 'engine', 'host', 'c1',"
                " 'web', '{}', '2024-05-01 12:00:00', '2024-05-01 12:00:00')"))
        with writing(engine) as connection:
            command.downgrade(migrate.alembic_config(connection), "0006")
        with reading(engine) as connection:
            names = sa.inspect(connection).get_table_names()
            assert "dependents" not in names
            assert connection.execute(sa.text("SELECT count(*) FROM images")).scalar_one() == 1
    finally:
        engine.dispose()
