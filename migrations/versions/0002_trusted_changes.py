"""Images: missing platforms, tag listing errors, acknowledged newer versions.

Revision ID: 0002
Revises: 0001
Created: 2026-12-02

``missing_platforms``: configured platforms the image's index does not have;
``tags_error``: why the last tag listing failed; ``acknowledged_same_line`` and
``acknowledged_newest``: the newer tags ``watcher ack`` acknowledged. All nullable: existing
rows read as "nothing missing, no error, nothing acknowledged".
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.add_column(sa.Column("missing_platforms", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("tags_error", sa.Text(), nullable=True))
        batch.add_column(sa.Column("acknowledged_same_line", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("acknowledged_newest", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.drop_column("acknowledged_newest")
        batch.drop_column("acknowledged_same_line")
        batch.drop_column("tags_error")
        batch.drop_column("missing_platforms")
