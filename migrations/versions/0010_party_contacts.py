"""What a transfer manifest (转移联单) prints and the record did not hold: each organization's
address and contact phone, and a trip's driver, driving licence and transport permit numbers.
All optional: records made before keep them empty.

Revision ID: 0010_party_contacts
Revises: 0009_container_course
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_party_contacts"
down_revision: str | None = "0009_container_course"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("organization", sa.Column("address", sa.String(300), nullable=True))
    op.add_column("organization", sa.Column("phone", sa.String(40), nullable=True))
    op.add_column("manifest", sa.Column("driver_name", sa.String(100), nullable=True))
    op.add_column("manifest", sa.Column("driver_licence_number", sa.String(32), nullable=True))
    op.add_column("manifest", sa.Column("transport_permit_number", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("manifest") as batch:
        batch.drop_column("transport_permit_number")
        batch.drop_column("driver_licence_number")
        batch.drop_column("driver_name")
    with op.batch_alter_table("organization") as batch:
        batch.drop_column("phone")
        batch.drop_column("address")
