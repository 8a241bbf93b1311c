"""garbage collection: the blobs each manifest names

`manifest_blob` lists, per manifest, the blobs it names (itself included), written when
a version commits. Garbage collection keeps every blob that a version's manifest lists
and storage usage adds them up. Manifests of versions committed before this revision
are indexed by the first garbage collection (it reads them from the blob store, which a
migration cannot reach). `gc_state` tells uploads whether a collection deleted blobs
while they were under way (see registry/services/gc.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "manifest_blob",
        sa.Column("manifest_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("blob_digest", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("manifest_digest", "blob_digest"),
    )
    op.create_index("ix_manifest_blob_blob_digest", "manifest_blob", ["blob_digest"])
    op.create_table(
        "gc_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("epoch", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("deleting_until", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("gc_state")
    op.drop_index("ix_manifest_blob_blob_digest", table_name="manifest_blob")
    op.drop_table("manifest_blob")
