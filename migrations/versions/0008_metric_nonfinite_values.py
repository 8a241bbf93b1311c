"""Metric values may be NaN

A run may store NaN and infinite metric values when it asks to (`allow_nonfinite`).
PostgreSQL keeps NaN in a double precision column; SQLite turns NaN into NULL, so the
column accepts NULL and a NULL value reads back as NaN. SQLite rebuilds the table.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("metric", schema=None) as batch_op:
        batch_op.alter_column("value", existing_type=sa.Float(), nullable=True)


def downgrade() -> None:
    # SQLite's NaN values cannot be kept in a NOT NULL column.
    op.execute("DELETE FROM metric WHERE value IS NULL")
    with op.batch_alter_table("metric", schema=None) as batch_op:
        batch_op.alter_column("value", existing_type=sa.Float(), nullable=False)
