"""Core tables: images, history, events.

Revision ID: 0001
Revises:
Created: 2025-01-01

A migration is frozen once released: it spells out its tables and columns rather than
importing watcher's models, which keep changing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "images",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ref", sa.String(length=512), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("added_at", _utc(), nullable=False),
        sa.Column("digest", sa.String(length=255), nullable=True),
        sa.Column("media_type", sa.String(length=255), nullable=True),
        sa.Column("platforms", sa.JSON(), nullable=False),
        sa.Column("newer_same_line", sa.String(length=128), nullable=True),
        sa.Column("newer_newest", sa.String(length=128), nullable=True),
        sa.Column("reported_same_line", sa.String(length=128), nullable=True),
        sa.Column("reported_newest", sa.String(length=128), nullable=True),
        sa.Column("tags_fingerprint", sa.String(length=128), nullable=True),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("last_changed_at", _utc(), nullable=True),
        sa.Column("last_checked_at", _utc(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_status", sa.Integer(), nullable=True),
        sa.Column("failing_since", _utc(), nullable=True),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_images"),
        sa.UniqueConstraint("ref", name="uq_images_ref"),
    )
    op.create_table(
        "history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name="fk_history_image_id_images", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_history"),
    )
    op.create_index("ix_history_image_id_at", "history", ["image_id", "at"])
    op.create_table(
        "events",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_attempt_at", _utc(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", _utc(), nullable=True),
        sa.Column("acknowledged_at", _utc(), nullable=True),
        sa.ForeignKeyConstraint(
            ["image_id"], ["images.id"], name="fk_events_image_id_images", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_state_image_id", "events", ["state", "image_id"])
    op.create_index("ix_events_image_id_created_at", "events", ["image_id", "created_at"])


def downgrade() -> None:
    op.drop_table("events")
    op.drop_table("history")
    op.drop_table("images")
