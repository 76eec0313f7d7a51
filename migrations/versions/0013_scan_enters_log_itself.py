"""A scan may put its own event into the transparency log, in the statement that closes it.

Until now the deferred trigger ``custody_event_enters_log`` appended every event, and a scan
whose answer names its log index ran that trigger early (``SET CONSTRAINTS … IMMEDIATE``), a
round trip of its own. On PostgreSQL the scan's closing statement now takes the next leaf itself
(the same ``log_head`` row update, the same lock held until the commit, the event's stored hash):
the trigger appends every event that is not in the log yet when its transaction commits, and
leaves alone one that is. ``log_leaf.event_id`` stays unique: an event is in the log once.

SQLite is unchanged (its trigger appends each event as it is inserted).

Revision ID: 0013_scan_enters_log_itself
Revises: 0012_unsettled_containers
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013_scan_enters_log_itself"
down_revision: str | None = "0012_unsettled_containers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_APPEND = """
CREATE OR REPLACE FUNCTION medwaste_log_append() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    next_index bigint;
BEGIN
    {skip}
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
_SKIP_LOGGED = (
    "IF EXISTS (SELECT 1 FROM log_leaf WHERE event_id = NEW.id) THEN RETURN NULL; END IF;"
)


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(_APPEND.format(skip=_SKIP_LOGGED))


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute(_APPEND.format(skip=""))
