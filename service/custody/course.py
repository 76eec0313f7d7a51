"""A container's course through the timed stages, as the reports count it: when the first
event of each action that begins or ends a stage (:mod:`service.custody.stages`) happened, and
the weights the collection and the receipt recorded, after corrections.

The course is kept on the container (``Container.collect_us`` ...), moved along by each
accepted scan and rebuilt from the chain by a correction, so that a province's figures are
aggregates over columns instead of a replay of millions of events. :func:`course_of` is the one
definition: the correction, the migration's backfill and the tests all read a chain through it.

Times are whole microseconds since 1970-01-01 UTC (integers): a stay is then a subtraction,
exact and the same on SQLite and PostgreSQL, and "longer than the limit" is judged to the
microsecond exactly as :func:`service.anomalies.rules.overdue` judges it on datetimes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from service.custody.ledger import Recorded, corrected_weights, standing_events
from service.custody.machine import Action
from service.custody.models import Container, CustodyEvent
from service.custody.stages import STAGES

# The actions a course is made of, in the order of a container's life, and those whose
# weight the reports count (what the hospital weighed out, what the plant weighed in).
COURSE_ACTIONS: tuple[Action, ...] = tuple(
    dict.fromkeys(a for stage in STAGES for a in (stage.begins, stage.ends))
)
WEIGHED_ACTIONS: tuple[Action, ...] = (Action.collect, Action.receive)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)


def at_column(action: Action | str) -> str:
    """The container column holding when ``action`` first happened."""
    return f"{action}_us"


def kg_column(action: Action | str) -> str:
    """The container column holding the (corrected) weight ``action`` recorded."""
    return f"{action}_kg"


def to_us(at: datetime) -> int:
    return (at - EPOCH) // MICROSECOND


def from_us(us: int) -> datetime:
    return EPOCH + us * MICROSECOND


class Timed(Recorded, Protocol):
    @property
    def occurred_at(self) -> datetime: ...


@dataclass(frozen=True)
class Course:
    """When each course action first happened (standing events only), and its weight."""

    at_us: Mapping[str, int] = field(default_factory=dict)
    kg: Mapping[str, float | None] = field(default_factory=dict)


def course_of(chain: Sequence[Timed]) -> Course:
    """The course of a chain (in ``seq`` order): the first standing event of each course
    action, with its weight after ``incorrect_data`` corrections."""
    weights = corrected_weights(chain)
    at: dict[str, int] = {}
    kg: dict[str, float | None] = {}
    for event in standing_events(chain):
        if event.action in COURSE_ACTIONS and event.action not in at:
            at[event.action] = to_us(event.occurred_at)
            if event.action in WEIGHED_ACTIONS:
                kg[event.action] = weights.get(event.id) if event.id is not None else None
    return Course(at_us=at, kg=kg)


def course_columns(course: Course) -> dict[str, int | float | None]:
    """Every course column of a container, as ``course`` sets it."""
    columns: dict[str, int | float | None] = {
        at_column(a): course.at_us.get(a) for a in COURSE_ACTIONS
    }
    columns.update({kg_column(a): course.kg.get(a) for a in WEIGHED_ACTIONS})
    return columns


def set_course(container: Container, chain: Sequence[CustodyEvent]) -> None:
    """Rebuild ``container``'s course columns from its whole chain (after a correction)."""
    for name, value in course_columns(course_of(chain)).items():
        setattr(container, name, value)


def follow_course(container: Container, event: CustodyEvent) -> None:
    """Move the course along with a newly accepted (not a correction) event: the first of
    each course action marks the course; a later one of the same action does not."""
    if (
        event.action not in COURSE_ACTIONS
        or getattr(container, at_column(event.action)) is not None
    ):
        return
    setattr(container, at_column(event.action), to_us(event.occurred_at))
    if event.action in WEIGHED_ACTIONS:
        setattr(container, kg_column(event.action), event.weight_kg)
