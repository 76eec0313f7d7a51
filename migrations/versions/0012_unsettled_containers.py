"""An index of the containers whose course is not over (not disposed, or a pickup, receipt or
disposal missing): the reports keep sums over the others and read only these at each request.
A few thousand rows in a province's million.

Revision ID: 0012_unsettled_containers
Revises: 0011_scan_accuracy
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_unsettled_containers"
down_revision: str | None = "0011_scan_accuracy"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNSETTLED = sa.text(
    "NOT (state = 'disposed' AND pickup_us IS NOT NULL AND receive_us IS NOT NULL"
    " AND dispose_us IS NOT NULL)"
)


def upgrade() -> None:
    op.create_index(
        "ix_container_unsettled",
        "container",
        ["created_at"],
        sqlite_where=UNSETTLED,
        postgresql_where=UNSETTLED,
    )


def downgrade() -> None:
    op.drop_index("ix_container_unsettled", table_name="container")
