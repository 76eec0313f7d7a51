"""The stages of a container's life that the law times (SPEC §4): storage at the hospital,
transit, and waiting for disposal at the plant. One definition, read by the scan (when a
stage begins and ends), the sweep (which states are in a stage), the reports and the phone.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.custody.machine import Action, State


@dataclass(frozen=True)
class Stage:
    name: str
    # The action that begins the stage and the one that ends it.
    begins: Action
    ends: Action
    # The states a container is in while the stage lasts.
    states: frozenset[State]


STORAGE = Stage(
    "storage", Action.collect, Action.pickup, frozenset({State.collected, State.hospital_storage})
)
TRANSIT = Stage("transit", Action.pickup, Action.receive, frozenset({State.in_transit}))
DISPOSAL = Stage(
    "disposal", Action.receive, Action.dispose, frozenset({State.received, State.stored})
)
STAGES: tuple[Stage, ...] = (STORAGE, TRANSIT, DISPOSAL)

# The actions from which a container's current stage is timed (``Container.stage_since``):
# registration, and every action that begins a stage.
STAGE_STARTS = frozenset({Action.register, *(s.begins for s in STAGES)})


def stage_ended_by(action: Action | str, from_state: State | str | None) -> Stage | None:
    """The stage that ``action``, taken in ``from_state``, brings to an end (if any)."""
    return next((s for s in STAGES if s.ends == action and from_state in s.states), None)
