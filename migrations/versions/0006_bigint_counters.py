"""64-bit sizes, counts, indexes and steps on PostgreSQL

The API takes any 64-bit integer for these (a blob over 2 GiB, a TTL, a metric step
up to 2**63 - 1), which PostgreSQL's INTEGER refused; metric ids outgrow 32 bits at
the ingestion rates the service sustains. The columns become BIGINT (PostgreSQL
rewrites each table). SQLite's INTEGER already holds 64 bits: nothing changes there.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 13:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, nullable)
COLUMNS = [
    ("blob", "size", False),
    ("artifact_collection", "next_index", False),
    ("artifact_version", "index", False),
    ("artifact_version", "size", False),
    ("artifact_version", "file_count", False),
    ("artifact_version", "ttl_seconds", True),
    ("metric", "id", False),
    ("metric", "step", False),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, nullable in COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.BigInteger(),
            existing_type=sa.Integer(),
            existing_nullable=nullable,
        )
    op.execute("ALTER SEQUENCE metric_id_seq AS bigint")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER SEQUENCE metric_id_seq AS integer")
    for table, column, nullable in COLUMNS:
        op.alter_column(
            table,
            column,
            type_=sa.Integer(),
            existing_type=sa.BigInteger(),
            existing_nullable=nullable,
        )
