"""When each repository's tags were last listed, and what the list was.

Revision ID: 0005
Revises: 0004
Created: 2026-12-02

Tag lists change far less often than digests matter, so they are listed on their own longer
interval (``tags_interval``). ``tag_listings`` keeps, per repository, when its tags were last
listed and a digest of the sorted list; an image's ranking is reused until the next listing,
or sooner when its tag or tag policy changed (its stored fingerprint no longer matches).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tag_listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("registry", sa.String(length=255), nullable=False),
        sa.Column("repository", sa.String(length=512), nullable=False),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("list_digest", sa.String(length=128), nullable=False),
        sa.Column("tag_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_tag_listings"),
        sa.UniqueConstraint("registry", "repository",
                            name="uq_tag_listings_registry_repository"),
    )


def downgrade() -> None:
    op.drop_table("tag_listings")
