"""The transparency log: every custody event is a leaf of one RFC 9162 Merkle tree.

Tables for the leaves, the tree (as C2SP tiles), the signed checkpoints and the log's keys,
and the triggers that make the database itself append every custody event to the log, in
commit order, so that no code path can write an event that escapes it:

- SQLite runs one write transaction at a time: an AFTER INSERT trigger gives each event the
  next index as it is inserted.
- PostgreSQL: a deferred constraint trigger does it when the event's transaction commits,
  locking the ``log_head`` row until the commit is done (so indexes follow commit order, and
  the lock is held only while committing). ``SET CONSTRAINTS custody_event_enters_log
  IMMEDIATE`` runs it earlier, for an answer that must show the index.

Leaves and checkpoints are append-only, tiles only grow, the log's size never goes down.
Events already stored enter the log in id order.

Revision ID: 0003_transparency_log
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import service.db

revision: str = "0003_transparency_log"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EMPTY_ROOT = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "log_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_head")),
    )
    op.create_table(
        "log_leaf",
        sa.Column("log_index", BIG, autoincrement=False, nullable=False),
        sa.Column("event_id", BIG, nullable=False),
        sa.Column("event_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("log_index", name=op.f("pk_log_leaf")),
        sa.UniqueConstraint("event_id", name=op.f("uq_log_leaf_event_id")),
    )
    op.create_table(
        "log_tree",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_tree")),
    )
    op.create_table(
        "log_tile",
        sa.Column("level", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_log_tile")),
    )
    op.create_table(
        "log_checkpoint",
        sa.Column("id", BIG, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("origin", sa.String(length=255), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("issued_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_checkpoint")),
    )
    with op.batch_alter_table("log_checkpoint", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_log_checkpoint_tree_size"), ["tree_size"], unique=False
        )
    op.create_table(
        "log_key",
        sa.Column("vkey", sa.String(length=400), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("key_id", sa.String(length=8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", service.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("vkey", name=op.f("pk_log_key")),
    )

    # The events stored before the log existed enter it in id order.
    op.execute(
        "INSERT INTO log_leaf (log_index, event_id, event_hash) "
        "SELECT row_number() OVER (ORDER BY id) - 1, id, hash FROM custody_event"
    )
    op.execute("INSERT INTO log_head (id, size) SELECT 1, count(*) FROM log_leaf")
    op.execute(f"INSERT INTO log_tree (id, size, root_hash) VALUES (1, 0, '{EMPTY_ROOT}')")

    if op.get_context().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _postgresql_triggers() -> None:
    op.execute(
        """
        CREATE FUNCTION medwaste_log_append() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            next_index bigint;
        BEGIN
            UPDATE log_head SET size = size + 1 WHERE id = 1 RETURNING size - 1 INTO next_index;
            IF next_index IS NULL THEN
                RAISE EXCEPTION 'the transparency log has no head row';
            END IF;
            INSERT INTO log_leaf (log_index, event_id, event_hash)
                VALUES (next_index, NEW.id, NEW.hash);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE CONSTRAINT TRIGGER custody_event_enters_log AFTER INSERT ON custody_event "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION medwaste_log_append()"
    )
    for table in ("log_leaf", "log_checkpoint"):
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION medwaste_refuse_change()"
        )
    for table in ("log_leaf", "log_checkpoint", "log_key", "log_tile", "log_head", "log_tree"):
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION medwaste_refuse_change()"
        )
    op.execute(
        "CREATE TRIGGER log_key_kept BEFORE DELETE OR UPDATE OF vkey, name, key_id, created_at "
        "ON log_key FOR EACH ROW EXECUTE FUNCTION medwaste_refuse_change()"
    )
    op.execute(
        """
        CREATE FUNCTION medwaste_log_only_grows() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                RAISE EXCEPTION 'table % only grows: DELETE refused', TG_TABLE_NAME
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            IF TG_TABLE_NAME = 'log_tile' THEN
                IF NEW.level <> OLD.level OR NEW.idx <> OLD.idx
                   OR length(NEW.data) < length(OLD.data)
                   OR substring(NEW.data FROM 1 FOR length(OLD.data)) <> OLD.data THEN
                    RAISE EXCEPTION 'table log_tile only grows: a tile keeps its hashes'
                        USING ERRCODE = 'insufficient_privilege';
                END IF;
            ELSIF NEW.id <> OLD.id OR NEW.size < OLD.size THEN
                RAISE EXCEPTION 'table % only grows: its size never goes down', TG_TABLE_NAME
                    USING ERRCODE = 'insufficient_privilege';
            END IF;
            RETURN NEW;
        END
        $$
        """
    )
    for table in ("log_tile", "log_head", "log_tree"):
        op.execute(
            f"CREATE TRIGGER {table}_only_grows BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION medwaste_log_only_grows()"
        )


def _sqlite_triggers() -> None:
    op.execute(
        """
        CREATE TRIGGER custody_event_enters_log AFTER INSERT ON custody_event
        BEGIN
            SELECT RAISE(ABORT, 'the transparency log has no head row')
                WHERE NOT EXISTS (SELECT 1 FROM log_head WHERE id = 1);
            INSERT INTO log_leaf (log_index, event_id, event_hash)
                SELECT size, NEW.id, NEW.hash FROM log_head WHERE id = 1;
            UPDATE log_head SET size = size + 1 WHERE id = 1;
        END
        """
    )
    for table in ("log_leaf", "log_checkpoint"):
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, 'table {table} is append-only: "
                f"{operation} refused'); END"
            )
    op.execute(
        "CREATE TRIGGER log_key_kept BEFORE UPDATE OF vkey, name, key_id, created_at ON log_key "
        "BEGIN SELECT RAISE(ABORT, 'table log_key is append-only: UPDATE refused'); END"
    )
    op.execute(
        "CREATE TRIGGER log_key_no_delete BEFORE DELETE ON log_key "
        "BEGIN SELECT RAISE(ABORT, 'table log_key is append-only: DELETE refused'); END"
    )
    op.execute(
        """
        CREATE TRIGGER log_tile_only_grows BEFORE UPDATE ON log_tile
        WHEN NEW.level <> OLD.level OR NEW.idx <> OLD.idx
             OR length(NEW.data) < length(OLD.data)
             OR substr(NEW.data, 1, length(OLD.data)) <> OLD.data
        BEGIN SELECT RAISE(ABORT, 'table log_tile only grows: a tile keeps its hashes'); END
        """
    )
    for table in ("log_head", "log_tree"):
        op.execute(
            f"CREATE TRIGGER {table}_only_grows BEFORE UPDATE ON {table} "
            "WHEN NEW.id <> OLD.id OR NEW.size < OLD.size "
            f"BEGIN SELECT RAISE(ABORT, 'table {table} only grows: its size never goes down'); "
            "END"
        )
    for table in ("log_tile", "log_head", "log_tree"):
        op.execute(
            f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'table {table} only grows: DELETE refused'); END"
        )


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS custody_event_enters_log ON custody_event")
        op.execute("DROP FUNCTION IF EXISTS medwaste_log_append()")
    else:
        op.execute("DROP TRIGGER IF EXISTS custody_event_enters_log")
    for table in ("log_key", "log_checkpoint", "log_tile", "log_tree", "log_leaf", "log_head"):
        op.drop_table(table)
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS medwaste_log_only_grows()")
