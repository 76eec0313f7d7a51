"""The directory epoch: one counter the database bumps whenever an organization, a site, a user
or a revoked device changes, so that every server process may keep those rows in memory and
know, with one primary-key read per request, whether its copy is still exact (a deactivated
user or a revoked phone is refused at its next request, whichever process made the change).

Revision ID: 0005_directory_epoch
Revises: 0004_epcis_capture_and_gs1_keys
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_directory_epoch"
down_revision: str | None = "0004_epcis_capture_and_gs1_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables whose rows the in-process caches hold (service/organizations/directory.py).
WATCHED = ("organization", "site", "user", "revoked_device")


def upgrade() -> None:
    op.create_table(
        "directory_epoch",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directory_epoch")),
    )
    op.execute("INSERT INTO directory_epoch (id, value) VALUES (1, 0)")
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            """
            CREATE FUNCTION medwaste_bump_directory_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                UPDATE directory_epoch SET value = value + 1 WHERE id = 1;
                RETURN NULL;
            END
            $$
            """
        )
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER {table}_bumps_directory_epoch AFTER INSERT OR UPDATE OR DELETE "
                f'OR TRUNCATE ON "{table}" FOR EACH STATEMENT '
                "EXECUTE FUNCTION medwaste_bump_directory_epoch()"
            )
    else:
        for table in WATCHED:
            for operation in ("INSERT", "UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_{operation.lower()}_bumps_directory_epoch "
                    f'AFTER {operation} ON "{table}" '
                    "BEGIN UPDATE directory_epoch SET value = value + 1 WHERE id = 1; END"
                )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f'DROP TRIGGER IF EXISTS {table}_bumps_directory_epoch ON "{table}"')
        op.execute("DROP FUNCTION IF EXISTS medwaste_bump_directory_epoch()")
    else:
        for table in WATCHED:
            for operation in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_{operation}_bumps_directory_epoch")
    op.drop_table("directory_epoch")
