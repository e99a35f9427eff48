"""Events: pending until acknowledged; delivery leaves the events table.

Revision ID: 0003
Revises: 0002
Created: 2026-12-02

An event is pending until a user acknowledges it (``acknowledged_at`` set by ``watcher ack``);
whether a notifier delivered it is a fact per channel and gets a table of its own. The
``state`` column mixed the two, and ``delivered_at`` and the attempt columns described one
channel only: they go. Existing rows carry over: an event in state ``acknowledged`` keeps
its ``acknowledged_at`` (its delivery or creation time if it had none), one that was only
``delivered`` is pending again (nobody acknowledged it), a pending one stays pending.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.execute(
        "UPDATE events SET acknowledged_at = COALESCE(acknowledged_at, delivered_at, created_at)"
        " WHERE state = 'acknowledged'"
    )
    op.execute("UPDATE events SET acknowledged_at = NULL WHERE state <> 'acknowledged'")
    op.drop_index("ix_events_state_image_id", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("state")
        batch.drop_column("attempts")
        batch.drop_column("last_attempt_at")
        batch.drop_column("last_error")
        batch.drop_column("delivered_at")
    op.create_index("ix_events_acknowledged_at_image_id", "events", ["acknowledged_at", "image_id"])


def downgrade() -> None:
    op.drop_index("ix_events_acknowledged_at_image_id", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.add_column(
            sa.Column("state", sa.String(length=16), server_default="pending", nullable=False)
        )
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("last_attempt_at", _utc(), nullable=True))
        batch.add_column(sa.Column("last_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("delivered_at", _utc(), nullable=True))
    op.execute("UPDATE events SET state = 'acknowledged' WHERE acknowledged_at IS NOT NULL")
    op.create_index("ix_events_state_image_id", "events", ["state", "image_id"])
