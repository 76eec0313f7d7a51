"""The custody state machine (SPEC §3), as pure logic over plain values.

Who may do what, from which state, and where it leads. The service layer adds what needs the
database (custodianship, manifests, label signatures); everything here is tested without one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from service.auth.roles import Role


class State(StrEnum):
    labelled = "labelled"
    collected = "collected"
    hospital_storage = "hospital_storage"
    in_transit = "in_transit"
    received = "received"
    stored = "stored"
    disposed = "disposed"
    lost = "lost"


class Action(StrEnum):
    register = "register"
    collect = "collect"
    store = "store"
    pickup = "pickup"
    receive = "receive"
    dispose = "dispose"
    inspect = "inspect"
    report_incident = "report_incident"
    correct = "correct"


class Incident(StrEnum):
    damaged = "damaged"
    leaking = "leaking"
    lost = "lost"
    # A lost container turns up again: it goes back to where it was (an anomaly in itself).
    found = "found"


class DisposalMethod(StrEnum):
    incineration = "incineration"
    autoclave = "autoclave"
    microwave = "microwave"
    chemical = "chemical"
    other = "other"


class CorrectionReason(StrEnum):
    did_not_occur = "did_not_occur"
    incorrect_data = "incorrect_data"


TERMINAL = frozenset({State.disposed, State.lost})

# Where each state sits in a container's life; used to tell "skipped a step" from "went back".
_STAGE = {
    State.labelled: 0,
    State.collected: 1,
    State.hospital_storage: 2,
    State.in_transit: 3,
    State.received: 4,
    State.stored: 5,
    State.disposed: 6,
}
# The earliest stage an action normally follows.
_ACTION_STAGE = {
    Action.collect: 0,
    Action.store: 1,
    Action.pickup: 1,
    Action.receive: 3,
    Action.dispose: 4,
}


class TransitionError(Exception):
    """A scan that does not fit the state machine."""

    def __init__(self, detail: str, *, skips_step: bool = False) -> None:
        super().__init__(detail)
        self.detail = detail
        self.skips_step = skips_step


class RoleNotAllowed(TransitionError):
    """The action is not one the role performs."""


class MissingField(TransitionError):
    """The action records a fact the scan did not give (a weight, a method, ...)."""


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    from_states: frozenset[State]
    description: str


def _rule(roles: Iterable[Role], states: Iterable[State], description: str) -> Rule:
    return Rule(frozenset(roles), frozenset(states), description)


NON_TERMINAL = frozenset(State) - TERMINAL

RULES: dict[Action, Rule] = {
    Action.collect: _rule([Role.hospital_staff], [State.labelled], "collect a labelled container"),
    Action.store: _rule(
        [Role.hospital_staff, Role.storage_operator, Role.disposal_operator],
        [State.collected, State.received],
        "store a collected or received container",
    ),
    Action.pickup: _rule(
        [Role.driver],
        [State.collected, State.hospital_storage, State.stored],
        "pick up a collected or stored container",
    ),
    Action.receive: _rule(
        [Role.storage_operator, Role.disposal_operator],
        [State.in_transit],
        "receive a container in transit",
    ),
    Action.dispose: _rule(
        [Role.disposal_operator], [State.received, State.stored], "dispose of a received container"
    ),
    Action.inspect: _rule(
        [r for r in Role if r is not Role.admin], list(State), "inspect a container"
    ),
    Action.report_incident: _rule(
        [r for r in Role if r is not Role.regulator and r is not Role.admin],
        [*NON_TERMINAL, State.lost],
        "report an incident",
    ),
}

# Who stores what: hospital staff keep collected waste in the hospital's store; operators keep
# received waste at a storage site or plant.
_STORE_TARGET = {
    (Role.hospital_staff, State.collected): State.hospital_storage,
    (Role.storage_operator, State.received): State.stored,
    (Role.disposal_operator, State.received): State.stored,
}

_SIMPLE_TARGET = {
    Action.collect: State.collected,
    Action.pickup: State.in_transit,
    Action.receive: State.received,
    Action.dispose: State.disposed,
}


@dataclass(frozen=True)
class ScanFacts:
    """What the scan carries that the state machine checks."""

    weight_kg: float | None = None
    method: DisposalMethod | None = None
    incident: Incident | None = None
    has_manifest: bool = False


def next_state(
    *,
    state: State,
    action: Action,
    role: Role,
    facts: ScanFacts = ScanFacts(),
    state_before_loss: State | None = None,
) -> State:
    """The state a container moves to when ``role`` performs ``action`` on it in ``state``.

    Raises :class:`TransitionError` (409) when the action does not fit the state,
    :class:`RoleNotAllowed` (403) when the role may never do it, and :class:`MissingField` (422)
    when the scan lacks what the action records.
    """
    if action in (Action.register, Action.correct):
        raise TransitionError(f"'{action}' is not a scan action")
    rule = RULES[action]
    if role not in rule.roles:
        raise RoleNotAllowed(f"a {role} may not {action} containers")
    _require_fields(action, facts)

    if state not in rule.from_states:
        raise TransitionError(_refusal(state, action), skips_step=skips_step(state, action))

    if action is Action.inspect:
        return state
    if action is Action.report_incident:
        return _incident_target(state, facts.incident, state_before_loss)
    if action is Action.store:
        target = _STORE_TARGET.get((role, state))
        if target is None:
            raise TransitionError(f"a {role} may not store a container that is {state}")
        return target
    return _SIMPLE_TARGET[action]


# What a scan of each action must carry besides the label (SPEC §3), and why it is refused
# without it.
REQUIRED_FIELDS: dict[Action, tuple[str, str]] = {
    Action.collect: ("weight_kg", "'collect' records the weight: weight_kg is required"),
    Action.receive: ("weight_kg", "'receive' records the weight: weight_kg is required"),
    Action.dispose: ("method", "'dispose' records the method: method is required"),
    Action.report_incident: (
        "incident",
        "'report_incident' needs incident: damaged, leaking, lost or found",
    ),
    Action.pickup: ("manifest_id", "'pickup' is part of a trip: manifest_id is required"),
}


def _require_fields(action: Action, facts: ScanFacts) -> None:
    required = REQUIRED_FIELDS.get(action)
    if required is None:
        return
    field, why = required
    given = facts.has_manifest if field == "manifest_id" else getattr(facts, field) is not None
    if not given:
        raise MissingField(why)


def _incident_target(state: State, incident: Incident | None, before_loss: State | None) -> State:
    if state is State.lost:
        if incident is not Incident.found:
            raise TransitionError("the container is reported lost: only 'found' applies")
        if before_loss is None or before_loss in TERMINAL:
            raise TransitionError("the state before the loss is unknown")
        return before_loss
    if incident is Incident.found:
        raise TransitionError(f"the container is {state}, not lost: it cannot be found")
    return State.lost if incident is Incident.lost else state


def skips_step(state: State, action: Action) -> bool:
    """Whether ``action`` belongs to a later stage than ``state`` has reached (a missing step)."""
    wanted = _ACTION_STAGE.get(action)
    stage = _STAGE.get(state)
    return wanted is not None and stage is not None and stage < wanted


def _refusal(state: State, action: Action) -> str:
    if state is State.disposed:
        return f"the container was disposed of; it cannot be {_past(action)}"
    if state is State.lost:
        return f"the container is reported lost; it cannot be {_past(action)}"
    allowed = ", ".join(sorted(RULES[action].from_states))
    return f"cannot {action} a container that is {state} (allowed from: {allowed})"


def _past(action: Action) -> str:
    return {
        Action.collect: "collected",
        Action.store: "stored",
        Action.pickup: "picked up",
        Action.receive: "received",
        Action.dispose: "disposed of",
    }.get(action, f"given '{action}'")


def allowed_actions(*, state: State, role: Role, has_manifest: bool = True) -> list[Action]:
    """The scan actions ``role`` may take now on a container in ``state`` (for the phone)."""
    result: list[Action] = []
    for action, rule in RULES.items():
        if role not in rule.roles or state not in rule.from_states:
            continue
        if action is Action.store and (role, state) not in _STORE_TARGET:
            continue
        if action is Action.pickup and not has_manifest:
            continue
        if action is Action.report_incident and state is State.lost:
            continue
        result.append(action)
    return result


@dataclass(frozen=True)
class ChainStep:
    """One accepted event as the replay sees it."""

    event_id: int
    action: Action
    to_state: State
    corrects_event_id: int | None = None
    correction_reason: CorrectionReason | None = None


def replay(steps: Iterable[ChainStep]) -> State:
    """The state a chain leads to once events corrected as ``did_not_occur`` are set aside.

    Each kept event's recorded ``to_state`` is trusted; a correction of kind ``did_not_occur``
    removes the event it points at, so the state falls back to the last event still standing.
    """
    ordered = list(steps)
    voided = {
        s.corrects_event_id
        for s in ordered
        if s.action is Action.correct and s.correction_reason is CorrectionReason.did_not_occur
    }
    state: State | None = None
    for step in ordered:
        if step.action is Action.correct or step.event_id in voided:
            continue
        state = step.to_state
    if state is None:
        raise ValueError("a chain with no standing events has no state")
    return state
