"""Trip tracks: the positions a driver's phone records while a trip is open, append-only.

Revision ID: 0008_track_points
Revises: 0007_container_created_index
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import service.db

revision: str = "0008_track_points"
down_revision: str | None = "0007_container_created_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "track_point",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("manifest_id", sa.Uuid(), nullable=False),
        sa.Column("device_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=False),
        sa.Column("speed_mps", sa.Float(), nullable=True),
        sa.Column("heading_deg", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["manifest_id"], ["manifest.id"], name=op.f("fk_track_point_manifest_id_manifest")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_track_point_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_track_point")),
        sa.UniqueConstraint(
            "manifest_id",
            "recorded_at",
            "device_id",
            name=op.f("uq_track_point_manifest_id_recorded_at_device_id"),
        ),
    )
    # Append-only in the database itself, like the custody record (0002).
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "CREATE TRIGGER track_point_append_only BEFORE UPDATE OR DELETE ON track_point "
            "FOR EACH ROW EXECUTE FUNCTION medwaste_refuse_change()"
        )
        op.execute(
            "CREATE TRIGGER track_point_no_truncate BEFORE TRUNCATE ON track_point "
            "FOR EACH STATEMENT EXECUTE FUNCTION medwaste_refuse_change()"
        )
    else:
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER track_point_no_{operation.lower()} BEFORE {operation} "
                "ON track_point BEGIN SELECT RAISE(ABORT, 'table track_point is append-only: "
                f"{operation} refused'); END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS track_point_append_only ON track_point")
        op.execute("DROP TRIGGER IF EXISTS track_point_no_truncate ON track_point")
    else:
        for operation in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS track_point_no_{operation}")
    op.drop_table("track_point")
