"""A scan's GPS accuracy (the radius of the phone's fix, metres), as SPEC §7 lets phones send
it: the rules then count only the distance a position proves. Empty for scans recorded before.

Revision ID: 0011_scan_accuracy
Revises: 0010_party_contacts
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_scan_accuracy"
down_revision: str | None = "0010_party_contacts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("custody_event", sa.Column("accuracy_m", sa.Float(), nullable=True))
    op.add_column("scan_rejection", sa.Column("accuracy_m", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scan_rejection") as batch:
        batch.drop_column("accuracy_m")
    with op.batch_alter_table("custody_event") as batch:
        batch.drop_column("accuracy_m")
