"""What uses each tracked image: containers on an engine now, files of a source later.

Revision ID: 0007
Revises: 0006
Created: 2026-12-03

One generic table: a dependent is one place (a container on a host, a line of a Dockerfile)
of one source (``source_kind`` "engine" or "files", and the source's name) that uses a
tracked image. ``locator`` says where (a container ID, a file path), ``label`` how people
call it (the container's name, ``path:line stage``), ``details`` what that source knows (the
digest running, its platform, when it started). A source's links are replaced as a whole
each time it is read: a container removed from its host loses its link, the image its
history.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dependents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("image_id", sa.Integer(), nullable=False),
        sa.Column("source_kind", sa.String(length=32), nullable=False),
        sa.Column("source_name", sa.String(length=128), nullable=False),
        sa.Column("locator", sa.String(length=1024), nullable=False),
        sa.Column("label", sa.String(length=512), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["image_id"], ["images.id"],
                                name="fk_dependents_image_id_images", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_dependents"),
        sa.UniqueConstraint("source_kind", "source_name", "locator", "label", "image_id",
                            name="uq_dependents_source_kind_source_name_locator_label_image_id"),
    )
    op.create_index("ix_dependents_image_id", "dependents", ["image_id"])


def downgrade() -> None:
    op.drop_index("ix_dependents_image_id", table_name="dependents")
    op.drop_table("dependents")
