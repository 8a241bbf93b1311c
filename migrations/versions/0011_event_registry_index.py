"""event registry index: a registry's history without scanning every event

The registry history (page and API) reads a registry's newest links and alias moves:
`WHERE registry_id = ? ORDER BY id DESC`. Without an index that is a scan of the whole
outbox, which grows with every change in every project.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 18:15:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_event_registry_id", "event", ["registry_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_event_registry_id", table_name="event")
