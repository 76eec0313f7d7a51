"""Each container's course on the container: when the first standing collect, pickup, receive
and dispose happened and the weights collected and received after corrections
(service.custody.course), backfilled from the chains, with a covering index for the reports'
aggregates.

Revision ID: 0009_container_course
Revises: 0008_track_points
"""

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

import service.db
from service.custody.course import COURSE_ACTIONS, course_columns, course_of
from service.custody.machine import Action

revision: str = "0009_container_course"
down_revision: str | None = "0008_track_points"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMES = ("collect_us", "pickup_us", "receive_us", "dispose_us")
WEIGHTS = ("collect_kg", "receive_kg")
INDEXED = (
    "created_at",
    "origin_organization_id",
    "holder_organization_id",
    "custodian_organization_id",
    "epidemic",
    "state",
    "collect_us",
    "collect_kg",
    "pickup_us",
    "receive_us",
    "receive_kg",
    "dispose_us",
)
BATCH = 5000

_events = sa.table(
    "custody_event",
    sa.column("id", sa.BigInteger()),
    sa.column("container_id", sa.String()),
    sa.column("seq", sa.Integer()),
    sa.column("action", sa.String()),
    sa.column("weight_kg", sa.Float()),
    sa.column("corrects_event_id", sa.BigInteger()),
    sa.column("correction_reason", sa.String()),
    sa.column("correction_data", sa.JSON()),
    sa.column("occurred_at", service.db.UTCDateTime(timezone=True)),
)


def upgrade() -> None:
    for name in TIMES:
        op.add_column("container", sa.Column(name, sa.BigInteger(), nullable=True))
    for name in WEIGHTS:
        op.add_column("container", sa.Column(name, sa.Float(), nullable=True))
    _backfill(op.get_bind())
    op.create_index("ix_container_course", "container", list(INDEXED))


def _backfill(conn: sa.Connection) -> None:
    e = _events.c
    rows = conn.execute(
        sa.select(
            e.container_id,
            e.id,
            e.action,
            e.weight_kg,
            e.corrects_event_id,
            e.correction_reason,
            e.correction_data,
            e.occurred_at,
        )
        .where(e.action.in_([*COURSE_ACTIONS, Action.correct]))
        .order_by(e.container_id, e.seq)
        .execution_options(yield_per=BATCH)
    )
    update = sa.text(
        "UPDATE container SET "
        + ", ".join(f"{name} = :{name}" for name in (*TIMES, *WEIGHTS))
        + " WHERE id = :container_id"
    )
    for batch in _batched(_courses(rows)):
        conn.execute(update, batch)


def _courses(rows: Any) -> Iterator[dict[str, Any]]:
    for container_id, chain in itertools.groupby(rows, key=lambda row: row.container_id):
        yield {"container_id": container_id, **course_columns(course_of(list(chain)))}


def _batched(items: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    while batch := list(itertools.islice(items, BATCH)):
        yield batch


def downgrade() -> None:
    # Plain ALTER TABLE ... DROP COLUMN (SQLite 3.35+): a copy of the table, as batch mode
    # makes, cannot replace one that custody events refer to.
    op.drop_index("ix_container_course", table_name="container")
    for name in (*TIMES, *WEIGHTS):
        op.drop_column("container", name)
