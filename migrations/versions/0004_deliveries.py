"""The outbox: one delivery row per event and channel, and every attempt to send it.

Revision ID: 0004
Revises: 0003
Created: 2026-12-02

``deliveries`` holds, per (event, channel), whether the channel has been told: pending (soaking,
due, or waiting to retry), delivered, failed (for good), expired (failed for the whole retry
window) or superseded (replaced within the soak window; ``note`` says why). ``data`` is the
payload to send when it differs from the event's (the net change of a tag that moved twice
within the soak window). ``delivery_attempts`` records each try: when, what came of it, why.
Events recorded before this revision get no delivery rows: they were never routed.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("round_id", sa.String(length=64), nullable=False),
        sa.Column("not_before", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=True),
        sa.Column("last_attempt_at", _utc(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", _utc(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name="fk_deliveries_event_id_events", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint("event_id", "channel", name="uq_deliveries_event_id_channel"),
    )
    op.create_index("ix_deliveries_state_not_before", "deliveries", ["state", "not_before"])
    op.create_index("ix_deliveries_channel_state", "deliveries", ["channel", "state"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["deliveries.id"],
            name="fk_delivery_attempts_delivery_id_deliveries",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_attempts"),
    )
    op.create_index(
        "ix_delivery_attempts_delivery_id_at", "delivery_attempts", ["delivery_id", "at"]
    )


def downgrade() -> None:
    op.drop_table("delivery_attempts")
    op.drop_table("deliveries")
