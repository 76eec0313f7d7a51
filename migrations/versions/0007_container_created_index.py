"""An index on when containers were registered: every report and the region figures select
the containers registered in a period.

Revision ID: 0007_container_created_index
Revises: 0006_webhook_leases
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007_container_created_index"
down_revision: str | None = "0006_webhook_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_container_created_at", "container", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_container_created_at", table_name="container")
