"""API keys, registry members and the alias audit trail

Keys hold only a hash of their secret; members give a key a role inside one
registry; every alias move is recorded with who made it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("secret_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("prefix"),
    )
    op.create_table(
        "registry_member",
        sa.Column("registry_id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["key_id"], ["api_key.id"]),
        sa.ForeignKeyConstraint(["registry_id"], ["registry.id"]),
        sa.PrimaryKeyConstraint("registry_id", "key_id"),
    )
    op.create_index("ix_registry_member_key_id", "registry_member", ["key_id"])
    op.create_table(
        "alias_move",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("collection", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("alias", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("from_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("to_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alias_move_collection", "alias_move", ["collection_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_alias_move_collection", table_name="alias_move")
    op.drop_table("alias_move")
    op.drop_index("ix_registry_member_key_id", table_name="registry_member")
    op.drop_table("registry_member")
    op.drop_table("api_key")
