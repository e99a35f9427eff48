"""Each registry's last stated rate-limit budget, for `watcher status` and other processes.

Revision ID: 0006
Revises: 0005
Created: 2026-12-02

Registries such as Docker Hub state a budget (``RateLimit-Limit``/``RateLimit-Remaining``)
and may ask a client to back off (429). The process that checks keeps what it last learnt
here at the end of each round, so `watcher status` (another process) can show it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "registry_budgets",
        sa.Column("registry", sa.String(length=255), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("limit", sa.Integer(), nullable=True),
        sa.Column("remaining", sa.Integer(), nullable=True),
        sa.Column("window_seconds", sa.Float(), nullable=True),
        sa.Column("backoffs", sa.Integer(), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("registry", name="pk_registry_budgets"),
    )


def downgrade() -> None:
    op.drop_table("registry_budgets")
