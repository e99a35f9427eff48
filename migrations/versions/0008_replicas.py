"""Several replicas share the work: due checks, leases, heartbeats, versions of the image set.

Revision ID: 0008
Revises: 0007
Created: 2026-12-03

With ``[watcher] replicas = "shared"`` what is due lives in the database: each image's
``next_check_at``, and who holds it (``lease_owner``) until when (``lease_expires_at``);
deliveries get the same lease. ``replicas`` holds each replica's heartbeat, and
``image_set_versions`` each image set (by digest) that was synchronised, numbered: the
newest one wins. Single-process databases leave these columns empty.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("images") as batch:
        batch.add_column(sa.Column("next_check_at", _utc(), nullable=True))
        batch.add_column(sa.Column("lease_owner", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", _utc(), nullable=True))
        batch.create_index("ix_images_active_next_check_at", ["active", "next_check_at"])
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("lease_expires_at", _utc(), nullable=True))
    op.create_table(
        "replicas",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("started_at", _utc(), nullable=False),
        sa.Column("heartbeat_at", _utc(), nullable=False),
        sa.Column("checks_per_minute", sa.Float(), nullable=False),
        sa.Column("checks", sa.Integer(), nullable=False),
        sa.Column("last_round_at", _utc(), nullable=True),
        sa.Column("last_round_checks", sa.Integer(), nullable=True),
        sa.Column("config_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_replicas"),
    )
    op.create_table(
        "image_set_versions",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("images", sa.Integer(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_image_set_versions"),
        sa.UniqueConstraint("digest", name="uq_image_set_versions_digest"),
    )


def downgrade() -> None:
    op.drop_table("image_set_versions")
    op.drop_table("replicas")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
    with op.batch_alter_table("images") as batch:
        batch.drop_index("ix_images_active_next_check_at")
        batch.drop_column("lease_expires_at")
        batch.drop_column("lease_owner")
        batch.drop_column("next_check_at")
