"""collection deletion: when a collection was deleted

A deleted collection keeps its row (and its versions, marked DELETED) until garbage
collection purges them after the grace period; `deleted_at` hides it from every
listing meanwhile and tells garbage collection when its grace period began. Its name
is renamed out of the way at deletion (see registry/services/collection_deletion.py),
so the unique key (owner, name) stays as it is.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 15:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "artifact_collection",
        sa.Column("deleted_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("artifact_collection") as batch:
        batch.drop_column("deleted_at")
