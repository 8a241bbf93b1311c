"""JSON documents as JSONB on PostgreSQL, with GIN indexes for the filter language

Version metadata, run config and summary, and the tag lists of collections and runs
become JSONB, and each gets a GIN index (jsonb_path_ops) that answers the `@>`
containment tests the filter compiler emits for $eq, $in and $contains. Registry
settings lists become JSONB too, so every JSON column of the registry is one type.
SQLite keeps JSON text: nothing changes there.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 12:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, indexed)
DOCUMENTS = [
    ("registry", "allowed_types", False),
    ("registry", "protected_aliases", False),
    ("artifact_collection", "tags", True),
    ("artifact_version", "metadata", True),
    ("run", "config", True),
    ("run", "summary", True),
    ("run", "tags", True),
]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, indexed in DOCUMENTS:
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE jsonb USING {column}::jsonb")
        if indexed:
            op.create_index(
                f"ix_{table}_{column}_gin",
                table,
                [column],
                postgresql_using="gin",
                postgresql_ops={column: "jsonb_path_ops"},
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column, indexed in DOCUMENTS:
        if indexed:
            op.drop_index(f"ix_{table}_{column}_gin", table_name=table)
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE json USING {column}::json")
