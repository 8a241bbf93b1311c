"""scheduled jobs

One row per periodic job (version expiry, ...): the process that moves `next_run_at`
past now runs the job for that tick, so any number of workers run it once per tick.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 12:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scheduled_job",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("next_run_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_run_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_owner", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("scheduled_job")
