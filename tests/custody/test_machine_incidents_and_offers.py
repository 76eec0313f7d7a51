"""The state machine beyond the five state-changing actions: incidents, lost and found, what a
phone is offered, skipped steps, the replay of corrected chains, and what a refusal says."""

from __future__ import annotations

import pytest

from service.auth.roles import Role
from service.custody.machine import (
    Action,
    ChainStep,
    CorrectionReason,
    DisposalMethod,
    Incident,
    MissingField,
    RoleNotAllowed,
    ScanFacts,
    State,
    TransitionError,
    allowed_actions,
    next_state,
    replay,
    skips_step,
)

FULL = ScanFacts(weight_kg=5.0, method=DisposalMethod.incineration, has_manifest=True)
ON_HAND = [  # every state a container can be in before it is disposed of or lost
    State.labelled,
    State.collected,
    State.hospital_storage,
    State.in_transit,
    State.received,
    State.stored,
]
REPORTERS = [Role.hospital_staff, Role.driver, Role.storage_operator, Role.disposal_operator]


def incident(state: State, kind: Incident, role: Role = Role.driver, **kw: State | None) -> State:
    return next_state(
        state=state,
        action=Action.report_incident,
        role=role,
        facts=ScanFacts(incident=kind),
        state_before_loss=kw.get("before"),
    )


# --- incidents and who reports them


@pytest.mark.parametrize("role", REPORTERS)
@pytest.mark.parametrize("state", ON_HAND)
def test_whoever_handles_waste_reports_damage_and_loss_in_any_stage(
    role: Role, state: State
) -> None:
    assert incident(state, Incident.damaged, role) is state
    assert incident(state, Incident.leaking, role) is state
    assert incident(state, Incident.lost, role) is State.lost


@pytest.mark.parametrize("role", [Role.admin, Role.regulator])
def test_admins_and_regulators_do_not_report_incidents(role: Role) -> None:
    with pytest.raises(RoleNotAllowed) as refused:
        incident(State.in_transit, Incident.leaking, role)
    assert refused.value.detail == f"a {role} may not report_incident containers"


def test_no_incident_on_a_disposed_container_says_why() -> None:
    with pytest.raises(TransitionError) as refused:
        incident(State.disposed, Incident.leaking, Role.disposal_operator)
    assert (
        refused.value.detail
        == "the container was disposed of; it cannot be given 'report_incident'"
    )
    assert refused.value.skips_step is False


# --- lost and found


@pytest.mark.parametrize("before", ON_HAND)
def test_a_found_container_goes_back_where_it_was(before: State) -> None:
    assert incident(State.lost, Incident.found, before=before) is before


@pytest.mark.parametrize("before", [None, State.lost, State.disposed])
def test_found_without_a_known_state_before_the_loss_is_refused(before: State | None) -> None:
    with pytest.raises(TransitionError) as refused:
        incident(State.lost, Incident.found, before=before)
    assert refused.value.detail == "the state before the loss is unknown"
    assert str(refused.value) == refused.value.detail


@pytest.mark.parametrize("kind", [Incident.damaged, Incident.leaking, Incident.lost])
def test_a_lost_container_can_only_be_found(kind: Incident) -> None:
    with pytest.raises(TransitionError) as refused:
        incident(State.lost, kind, before=State.in_transit)
    assert refused.value.detail == "the container is reported lost: only 'found' applies"


@pytest.mark.parametrize("state", ON_HAND)
def test_found_needs_a_lost_container(state: State) -> None:
    with pytest.raises(TransitionError) as refused:
        incident(state, Incident.found, before=State.collected)
    assert refused.value.detail == f"the container is {state}, not lost: it cannot be found"


# --- actions that are not scans


@pytest.mark.parametrize("action", [Action.register, Action.correct])
@pytest.mark.parametrize("role", list(Role))
def test_register_and_correct_are_not_scan_actions(action: Action, role: Role) -> None:
    with pytest.raises(TransitionError) as refused:
        next_state(state=State.labelled, action=action, role=role, facts=FULL)
    assert not isinstance(refused.value, RoleNotAllowed)
    assert refused.value.detail == f"'{action}' is not a scan action"


# --- what a refusal says


@pytest.mark.parametrize(
    ("state", "action", "role", "detail"),
    [
        (
            State.disposed,
            Action.collect,
            Role.hospital_staff,
            "the container was disposed of; it cannot be collected",
        ),
        (
            State.disposed,
            Action.store,
            Role.hospital_staff,
            "the container was disposed of; it cannot be stored",
        ),
        (
            State.disposed,
            Action.pickup,
            Role.driver,
            "the container was disposed of; it cannot be picked up",
        ),
        (
            State.disposed,
            Action.receive,
            Role.storage_operator,
            "the container was disposed of; it cannot be received",
        ),
        (
            State.disposed,
            Action.dispose,
            Role.disposal_operator,
            "the container was disposed of; it cannot be disposed of",
        ),
        (
            State.lost,
            Action.pickup,
            Role.driver,
            "the container is reported lost; it cannot be picked up",
        ),
        (
            State.lost,
            Action.receive,
            Role.disposal_operator,
            "the container is reported lost; it cannot be received",
        ),
        (
            State.in_transit,
            Action.dispose,
            Role.disposal_operator,
            "cannot dispose a container that is in_transit (allowed from: received, stored)",
        ),
        (
            State.labelled,
            Action.pickup,
            Role.driver,
            "cannot pickup a container that is labelled (allowed from: collected, hospital_storage, stored)",
        ),
        (
            State.received,
            Action.collect,
            Role.hospital_staff,
            "cannot collect a container that is received (allowed from: labelled)",
        ),
    ],
)
def test_a_refusal_says_what_the_container_is_and_what_was_refused(
    state: State, action: Action, role: Role, detail: str
) -> None:
    with pytest.raises(TransitionError) as refused:
        next_state(state=state, action=action, role=role, facts=FULL)
    assert refused.value.detail == detail
    assert str(refused.value) == detail


def test_a_role_refusal_names_the_role_and_the_action() -> None:
    with pytest.raises(RoleNotAllowed) as refused:
        next_state(state=State.labelled, action=Action.collect, role=Role.driver, facts=FULL)
    assert refused.value.detail == "a driver may not collect containers"


def test_going_back_is_refused_without_calling_it_a_skipped_step() -> None:
    with pytest.raises(TransitionError) as refused:
        next_state(
            state=State.received, action=Action.collect, role=Role.hospital_staff, facts=FULL
        )
    assert refused.value.skips_step is False
    assert TransitionError("any").skips_step is False


@pytest.mark.parametrize(
    ("action", "role", "state", "facts", "detail"),
    [
        (
            Action.collect,
            Role.hospital_staff,
            State.labelled,
            ScanFacts(),
            "'collect' records the weight: weight_kg is required",
        ),
        (
            Action.receive,
            Role.storage_operator,
            State.in_transit,
            ScanFacts(),
            "'receive' records the weight: weight_kg is required",
        ),
        (
            Action.dispose,
            Role.disposal_operator,
            State.stored,
            ScanFacts(),
            "'dispose' records the method: method is required",
        ),
        (
            Action.report_incident,
            Role.hospital_staff,
            State.collected,
            ScanFacts(),
            "'report_incident' needs incident: damaged, leaking, lost or found",
        ),
        (
            Action.pickup,
            Role.driver,
            State.stored,
            ScanFacts(weight_kg=2),
            "'pickup' is part of a trip: manifest_id is required",
        ),
    ],
)
def test_a_missing_record_says_which(
    action: Action, role: Role, state: State, facts: ScanFacts, detail: str
) -> None:
    with pytest.raises(MissingField) as refused:
        next_state(state=state, action=action, role=role, facts=facts)
    assert refused.value.detail == detail


# --- skipped steps (what missing_step reports)

# (state, action) pairs where the action belongs to a later stage than the container reached.
SKIPS = {
    (State.labelled, Action.store),
    (State.labelled, Action.pickup),
    (State.labelled, Action.receive),
    (State.collected, Action.receive),
    (State.hospital_storage, Action.receive),
    (State.labelled, Action.dispose),
    (State.collected, Action.dispose),
    (State.hospital_storage, Action.dispose),
    (State.in_transit, Action.dispose),
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("state", list(State))
def test_skips_step_for_every_state_and_action(state: State, action: Action) -> None:
    assert skips_step(state, action) is ((state, action) in SKIPS)


def test_a_refused_scan_that_skips_a_step_says_so() -> None:
    with pytest.raises(TransitionError) as refused:
        next_state(
            state=State.collected, action=Action.receive, role=Role.storage_operator, facts=FULL
        )
    assert refused.value.skips_step is True


# --- what the phone offers


@pytest.mark.parametrize(
    ("state", "role", "offered"),
    [
        (
            State.collected,
            Role.hospital_staff,
            [Action.store, Action.inspect, Action.report_incident],
        ),
        # An operator may store, but not a container still at the hospital.
        (State.collected, Role.storage_operator, [Action.inspect, Action.report_incident]),
        (
            State.received,
            Role.storage_operator,
            [Action.store, Action.inspect, Action.report_incident],
        ),
        (
            State.received,
            Role.disposal_operator,
            [Action.store, Action.dispose, Action.inspect, Action.report_incident],
        ),
        (State.received, Role.hospital_staff, [Action.inspect, Action.report_incident]),
        (State.stored, Role.driver, [Action.pickup, Action.inspect, Action.report_incident]),
        (
            State.in_transit,
            Role.storage_operator,
            [Action.receive, Action.inspect, Action.report_incident],
        ),
        # A lost container: only looking at it; 'found' is reported from the dashboard's flow.
        (State.lost, Role.driver, [Action.inspect]),
        (State.lost, Role.hospital_staff, [Action.inspect]),
        (State.lost, Role.regulator, [Action.inspect]),
        (State.lost, Role.admin, []),
        (State.disposed, Role.admin, []),
    ],
)
def test_what_the_phone_offers(state: State, role: Role, offered: list[Action]) -> None:
    assert allowed_actions(state=state, role=role) == offered


def test_no_pickup_offered_without_an_open_trip() -> None:
    for state in (State.collected, State.hospital_storage, State.stored):
        assert allowed_actions(state=state, role=Role.driver, has_manifest=False) == [
            Action.inspect,
            Action.report_incident,
        ]


# --- replaying a corrected chain


def test_a_data_correction_of_the_last_event_keeps_its_state() -> None:
    steps = [
        ChainStep(1, Action.register, State.labelled),
        ChainStep(2, Action.collect, State.collected),
        ChainStep(3, Action.correct, State.collected, 2, CorrectionReason.incorrect_data),
    ]
    assert replay(steps) is State.collected


def test_a_correction_never_moves_the_container_itself() -> None:
    steps = [
        ChainStep(1, Action.register, State.labelled),
        ChainStep(2, Action.collect, State.collected),
        ChainStep(3, Action.correct, State.labelled, 2, CorrectionReason.incorrect_data),
    ]
    assert replay(steps) is State.collected


def test_the_chain_goes_on_after_a_voided_event() -> None:
    steps = [
        ChainStep(1, Action.register, State.labelled),
        ChainStep(2, Action.collect, State.collected),
        ChainStep(3, Action.store, State.hospital_storage),
        ChainStep(4, Action.correct, State.collected, 3, CorrectionReason.did_not_occur),
        ChainStep(5, Action.pickup, State.in_transit),
    ]
    assert replay(steps) is State.in_transit


@pytest.mark.parametrize(
    "steps",
    [
        [],
        [
            ChainStep(1, Action.register, State.labelled),
            ChainStep(2, Action.correct, State.labelled, 1, CorrectionReason.did_not_occur),
        ],
    ],
)
def test_a_chain_with_nothing_standing_has_no_state(steps: list[ChainStep]) -> None:
    with pytest.raises(ValueError, match=r"^a chain with no standing events has no state$"):
        replay(steps)
