"""Webhook delivery outside any transaction: leases on outbox rows, and subscriptions that
record their failures and can be paused (by an administrator or by themselves).

Revision ID: 0006_webhook_leases
Revises: 0005_directory_epoch
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.db

revision: str = "0006_webhook_leases"
down_revision: str | None = "0005_directory_epoch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_at", service.db.UTCDateTime(timezone=True)))
        batch_op.add_column(sa.Column("pause_reason", sqlmodel.sql.sqltypes.AutoString(length=500)))
        batch_op.add_column(
            sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("failing_since", service.db.UTCDateTime(timezone=True)))
        batch_op.add_column(sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500)))
        batch_op.add_column(sa.Column("last_delivered_at", service.db.UTCDateTime(timezone=True)))
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_id", sa.Uuid()))
        batch_op.add_column(sa.Column("leased_until", service.db.UTCDateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("webhook_delivery", schema=None) as batch_op:
        batch_op.drop_column("leased_until")
        batch_op.drop_column("lease_id")
    with op.batch_alter_table("webhook_subscription", schema=None) as batch_op:
        for name in (
            "last_delivered_at",
            "last_error",
            "failing_since",
            "consecutive_failures",
            "pause_reason",
            "paused_at",
        ):
            batch_op.drop_column(name)
