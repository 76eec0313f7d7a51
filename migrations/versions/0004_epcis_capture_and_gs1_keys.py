"""EPCIS: GS1 keys of organizations and sites, and the ids of captured events.

Revision ID: 0004_epcis_capture_and_gs1_keys
Revises: 0003_transparency_log
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.db

revision: str = "0004_epcis_capture_and_gs1_keys"
down_revision: str | None = "0003_transparency_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "gs1_company_prefix", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("gln", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_organization_gs1_company_prefix"), ["gs1_company_prefix"]
        )
        batch_op.create_unique_constraint(batch_op.f("uq_organization_gln"), ["gln"])
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("gln", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=True)
        )
        batch_op.create_unique_constraint(batch_op.f("uq_site_gln"), ["gln"])
    op.create_table(
        "epcis_capture",
        sa.Column("capture_key", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=True),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("captured_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_epcis_capture_organization_id_organization"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_epcis_capture_user_id_user")
        ),
        sa.PrimaryKeyConstraint("capture_key", name=op.f("pk_epcis_capture")),
    )


def downgrade() -> None:
    op.drop_table("epcis_capture")
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_site_gln"), type_="unique")
        batch_op.drop_column("gln")
    with op.batch_alter_table("organization", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_organization_gln"), type_="unique")
        batch_op.drop_constraint(batch_op.f("uq_organization_gs1_company_prefix"), type_="unique")
        batch_op.drop_column("gln")
        batch_op.drop_column("gs1_company_prefix")
