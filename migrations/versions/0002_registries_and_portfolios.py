"""registries and portfolios

Registries own collections (portfolios) whose versions link to project versions, so
a collection now has exactly one owner: a project or a registry.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 09:17:23.098851
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Rows that exist before this revision get their creation time as `updated_at`.
NOW = sa.text("CURRENT_TIMESTAMP")


def upgrade() -> None:
    op.create_table(
        "registry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("allowed_types", sa.JSON(), nullable=False),
        sa.Column("visibility", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("protected_aliases", sa.JSON(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("alias") as batch_op:
        batch_op.create_index("ix_alias_name", ["name"], unique=False)

    with op.batch_alter_table("artifact_collection") as batch_op:
        batch_op.add_column(sa.Column("registry_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sqlmodel.sql.sqltypes.UTCDateTime(),
                nullable=False,
                server_default=NOW,
            )
        )
        batch_op.alter_column("project_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_index("ix_artifact_collection_registry_id", ["registry_id"], unique=False)
        batch_op.create_unique_constraint(
            "uq_artifact_collection_registry_id_name", ["registry_id", "name"]
        )
        batch_op.create_foreign_key(
            "fk_artifact_collection_registry_id", "registry", ["registry_id"], ["id"]
        )
        batch_op.create_check_constraint(
            "ck_collection_one_owner", "(project_id IS NULL) <> (registry_id IS NULL)"
        )

    with op.batch_alter_table("artifact_version") as batch_op:
        batch_op.add_column(sa.Column("source_version_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "updated_at",
                sqlmodel.sql.sqltypes.UTCDateTime(),
                nullable=False,
                server_default=NOW,
            )
        )
        batch_op.create_index(
            "ix_artifact_version_source_version_id", ["source_version_id"], unique=False
        )
        batch_op.create_unique_constraint(
            "uq_artifact_version_collection_id_source_version_id",
            ["collection_id", "source_version_id"],
        )
        batch_op.create_foreign_key(
            "fk_artifact_version_source_version_id",
            "artifact_version",
            ["source_version_id"],
            ["id"],
        )
    op.execute("UPDATE artifact_collection SET updated_at = created_at")
    op.execute("UPDATE artifact_version SET updated_at = created_at")


def downgrade() -> None:
    with op.batch_alter_table("artifact_version") as batch_op:
        batch_op.drop_constraint("fk_artifact_version_source_version_id", type_="foreignkey")
        batch_op.drop_constraint(
            "uq_artifact_version_collection_id_source_version_id", type_="unique"
        )
        batch_op.drop_index("ix_artifact_version_source_version_id")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("source_version_id")

    op.execute(
        "DELETE FROM alias WHERE collection_id IN "
        "(SELECT id FROM artifact_collection WHERE registry_id IS NOT NULL)"
    )
    with op.batch_alter_table("artifact_collection") as batch_op:
        batch_op.drop_constraint("ck_collection_one_owner", type_="check")
        batch_op.drop_constraint("fk_artifact_collection_registry_id", type_="foreignkey")
        batch_op.drop_constraint("uq_artifact_collection_registry_id_name", type_="unique")
        batch_op.drop_index("ix_artifact_collection_registry_id")
        batch_op.alter_column("project_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("updated_at")
        batch_op.drop_column("registry_id")

    with op.batch_alter_table("alias") as batch_op:
        batch_op.drop_index("ix_alias_name")

    op.drop_table("registry")
