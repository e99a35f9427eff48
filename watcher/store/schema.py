"""The tables, as SQLAlchemy Core metadata.

The database schema is created and changed ONLY by the Alembic migrations in
``migrations/versions/``; this module describes the schema those migrations produce, so queries
can be built from it and a test can assert that the two never drift apart.

    images    one row per tracked reference: the ``ImageState`` fields plus an ``active`` flag
    history   append-only: one row per check that changed something (``HistoryEntry``)
    events    things to tell a user (``Event``); pending until ``acknowledged_at`` is set
    deliveries          the outbox: one row per (event, channel) and whether it was sent
    delivery_attempts   append-only: each try to send a delivery, its outcome and error
    tag_listings        per repository: when its tags were last listed, and the list's digest
    registry_budgets    per registry: its last stated rate-limit budget and back-offs
    dependents          what uses each image: a container of an engine, a line of a file
    replicas            per replica sharing the work: its heartbeat and pace
    image_set_versions  each image set synchronised by shared replicas, numbered

Enums are stored as their string values, mappings as JSON and datetimes as UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names on every dialect, so later migrations can name what they drop.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# Lengths follow the distribution spec: a repository name of at most 255 characters (registry
# included), a tag of at most 128, a digest of algorithm plus hex. They matter only to
# databases that enforce VARCHAR lengths.
REF_LENGTH = 512
TAG_LENGTH = 128
DIGEST_LENGTH = 255
KIND_LENGTH = 32
EVENT_ID_LENGTH = 64
CHANNEL_LENGTH = 128
ROUND_ID_LENGTH = 64
STATE_LENGTH = 16
REPLICA_LENGTH = 128


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime in and out, on every dialect.

    SQLite keeps no offset: values are converted to UTC before they are written and marked
    UTC when read. A naive datetime is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"refusing to store a naive datetime: {value!r}")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], datetime | None] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        # SQLite returns text; fromisoformat (C) is several times faster than the generic
        # regex-based parsing, which matters when ``watcher status`` reads 10,000 images.
        return utc_from_driver

    def copy(self, **kw: Any) -> UTCDateTime:
        return UTCDateTime()


def utc_from_driver(value: Any) -> datetime | None:
    """A UTC datetime from what the driver returned: SQLite's text, another's datetime."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(parsed, datetime):
        raise ValueError(f"not a datetime: {value!r}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


metadata = MetaData(naming_convention=NAMING_CONVENTION)

images = Table(
    "images",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("ref", String(REF_LENGTH), nullable=False, unique=True),
    Column("active", Boolean, nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
    Column("digest", String(DIGEST_LENGTH)),
    Column("media_type", String(255)),
    Column("platforms", JSON, nullable=False),
    Column("newer_same_line", String(TAG_LENGTH)),
    Column("newer_newest", String(TAG_LENGTH)),
    Column("reported_same_line", String(TAG_LENGTH)),
    Column("reported_newest", String(TAG_LENGTH)),
    Column("tags_fingerprint", String(128)),
    Column("removed", Boolean, nullable=False),
    Column("changes", Integer, nullable=False),
    Column("last_changed_at", UTCDateTime),
    Column("last_checked_at", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_status", Integer),
    Column("failing_since", UTCDateTime),
    Column("failure_count", Integer, nullable=False),
    # Revision 0002: change detection you can trust.
    Column("missing_platforms", JSON),
    Column("tags_error", Text),
    Column("acknowledged_same_line", String(TAG_LENGTH)),
    Column("acknowledged_newest", String(TAG_LENGTH)),
    # Revision 0008: several replicas share the work (what is due, who holds it, until when).
    Column("next_check_at", UTCDateTime),
    Column("lease_owner", String(REPLICA_LENGTH)),
    Column("lease_expires_at", UTCDateTime),
    Index(None, "active", "next_check_at"),
)

history = Table(
    "history",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "image_id",
        Integer,
        ForeignKey("images.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(KIND_LENGTH), nullable=False),
    Column("data", JSON, nullable=False),
    Index(None, "image_id", "at"),
)

events = Table(
    "events",
    metadata,
    Column("id", String(EVENT_ID_LENGTH), primary_key=True),
    Column(
        "image_id",
        Integer,
        ForeignKey("images.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(KIND_LENGTH), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("data", JSON, nullable=False),
    # Revision 0003: pending until a user acknowledges it (``watcher ack``). Delivery is per
    # channel and is not recorded here.
    Column("acknowledged_at", UTCDateTime),
    Index(None, "acknowledged_at", "image_id"),
    Index(None, "image_id", "created_at"),
)

# Revision 0004: the outbox.
deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "event_id",
        String(EVENT_ID_LENGTH),
        ForeignKey("events.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("channel", String(CHANNEL_LENGTH), nullable=False),
    Column("state", String(STATE_LENGTH), nullable=False),
    Column("round_id", String(ROUND_ID_LENGTH), nullable=False),
    Column("not_before", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime),
    Column("last_attempt_at", UTCDateTime),
    Column("last_error", Text),
    Column("delivered_at", UTCDateTime),
    Column("note", Text),
    # The payload to send when it is not the event's own (a net change after a supersede).
    Column("data", JSON),
    # Revision 0008: the replica sending it, until when.
    Column("lease_owner", String(REPLICA_LENGTH)),
    Column("lease_expires_at", UTCDateTime),
    UniqueConstraint("event_id", "channel"),
    Index(None, "state", "not_before"),
    Index(None, "channel", "state"),
)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "delivery_id",
        Integer,
        ForeignKey("deliveries.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("at", UTCDateTime, nullable=False),
    Column("outcome", String(STATE_LENGTH), nullable=False),
    Column("error", Text),
    Index(None, "delivery_id", "at"),
)

# Revision 0005: tag lists are listed on their own interval.
tag_listings = Table(
    "tag_listings",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("registry", String(255), nullable=False),
    Column("repository", String(REF_LENGTH), nullable=False),
    Column("listed_at", UTCDateTime, nullable=False),
    Column("list_digest", String(128), nullable=False),
    Column("tag_count", Integer, nullable=False),
    UniqueConstraint("registry", "repository"),
)

# Revision 0006: what each registry last said of its rate-limit budget.
registry_budgets = Table(
    "registry_budgets",
    metadata,
    Column("registry", String(255), primary_key=True),
    Column("observed_at", UTCDateTime, nullable=False),
    Column("limit", Integer),
    Column("remaining", Integer),
    Column("window_seconds", Float),
    Column("backoffs", Integer, nullable=False),
    Column("paused_until", UTCDateTime),
)

# Revision 0007: what uses each image (containers of an engine; files of a source later).
SOURCE_KIND_LENGTH = 32
SOURCE_NAME_LENGTH = 128
LOCATOR_LENGTH = 1024
LABEL_LENGTH = 512

dependents = Table(
    "dependents",
    metadata,
    Column("id", Integer, primary_key=True),
    Column(
        "image_id",
        Integer,
        ForeignKey("images.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("source_kind", String(SOURCE_KIND_LENGTH), nullable=False),
    Column("source_name", String(SOURCE_NAME_LENGTH), nullable=False),
    Column("locator", String(LOCATOR_LENGTH), nullable=False),
    Column("label", String(LABEL_LENGTH), nullable=False),
    Column("details", JSON, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    UniqueConstraint("source_kind", "source_name", "locator", "label", "image_id"),
    Index(None, "image_id"),
)

# Revision 0008: replicas sharing the work, and the versions of the image set they follow.
replicas = Table(
    "replicas",
    metadata,
    Column("name", String(REPLICA_LENGTH), primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("heartbeat_at", UTCDateTime, nullable=False),
    Column("checks_per_minute", Float, nullable=False),
    Column("checks", Integer, nullable=False),
    Column("last_round_at", UTCDateTime),
    Column("last_round_checks", Integer),
    Column("config_version", Integer),
)

image_set_versions = Table(
    "image_set_versions",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("images", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(REPLICA_LENGTH), nullable=False),
)
