"""The custody state machine: every action from every state, for every role."""

from __future__ import annotations

import pytest

from service.auth.roles import Role
from service.custody.machine import (
    RULES,
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

# (action, role, from state) -> to state: the whole table of SPEC §3 that must be accepted.
ACCEPTED = {
    (Action.collect, Role.hospital_staff, State.labelled): State.collected,
    (Action.store, Role.hospital_staff, State.collected): State.hospital_storage,
    (Action.store, Role.storage_operator, State.received): State.stored,
    (Action.store, Role.disposal_operator, State.received): State.stored,
    (Action.pickup, Role.driver, State.collected): State.in_transit,
    (Action.pickup, Role.driver, State.hospital_storage): State.in_transit,
    (Action.pickup, Role.driver, State.stored): State.in_transit,
    (Action.receive, Role.storage_operator, State.in_transit): State.received,
    (Action.receive, Role.disposal_operator, State.in_transit): State.received,
    (Action.dispose, Role.disposal_operator, State.received): State.disposed,
    (Action.dispose, Role.disposal_operator, State.stored): State.disposed,
}
STATE_CHANGING = [Action.collect, Action.store, Action.pickup, Action.receive, Action.dispose]


@pytest.mark.parametrize("action", STATE_CHANGING)
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("state", list(State))
def test_every_state_changing_combination(action: Action, role: Role, state: State) -> None:
    expected = ACCEPTED.get((action, role, state))
    if expected is not None:
        assert next_state(state=state, action=action, role=role, facts=FULL) is expected
        return
    with pytest.raises(TransitionError) as refused:
        next_state(state=state, action=action, role=role, facts=FULL)
    if role not in RULES[action].roles:
        assert isinstance(refused.value, RoleNotAllowed)
    else:
        assert not isinstance(refused.value, (RoleNotAllowed, MissingField))
        assert (
            str(state) in refused.value.detail
            or "disposed" in refused.value.detail
            or "lost" in refused.value.detail
        )


@pytest.mark.parametrize("state", list(State))
def test_inspect_never_changes_state(state: State) -> None:
    for role in (Role.regulator, Role.driver, Role.hospital_staff, Role.disposal_operator):
        assert next_state(state=state, action=Action.inspect, role=role) is state


def test_admin_does_not_scan() -> None:
    with pytest.raises(RoleNotAllowed):
        next_state(state=State.collected, action=Action.inspect, role=Role.admin)


@pytest.mark.parametrize("incident", [Incident.damaged, Incident.leaking])
def test_damage_reports_keep_state(incident: Incident) -> None:
    facts = ScanFacts(incident=incident)
    assert (
        next_state(
            state=State.in_transit, action=Action.report_incident, role=Role.driver, facts=facts
        )
        is State.in_transit
    )


def test_lost_and_found_again() -> None:
    lost = next_state(
        state=State.in_transit,
        action=Action.report_incident,
        role=Role.driver,
        facts=ScanFacts(incident=Incident.lost),
    )
    assert lost is State.lost
    # Lost is terminal for everything but being found.
    with pytest.raises(TransitionError):
        next_state(state=State.lost, action=Action.receive, role=Role.disposal_operator, facts=FULL)
    with pytest.raises(TransitionError):
        next_state(
            state=State.lost,
            action=Action.report_incident,
            role=Role.driver,
            facts=ScanFacts(incident=Incident.damaged),
        )
    found = next_state(
        state=State.lost,
        action=Action.report_incident,
        role=Role.driver,
        facts=ScanFacts(incident=Incident.found),
        state_before_loss=State.in_transit,
    )
    assert found is State.in_transit


def test_found_needs_a_lost_container() -> None:
    with pytest.raises(TransitionError):
        next_state(
            state=State.collected,
            action=Action.report_incident,
            role=Role.hospital_staff,
            facts=ScanFacts(incident=Incident.found),
        )


def test_no_incident_on_a_disposed_container() -> None:
    with pytest.raises(TransitionError):
        next_state(
            state=State.disposed,
            action=Action.report_incident,
            role=Role.disposal_operator,
            facts=ScanFacts(incident=Incident.leaking),
        )


@pytest.mark.parametrize(
    ("action", "role", "state", "facts", "field"),
    [
        (Action.collect, Role.hospital_staff, State.labelled, ScanFacts(), "weight_kg"),
        (Action.receive, Role.disposal_operator, State.in_transit, ScanFacts(), "weight_kg"),
        (Action.dispose, Role.disposal_operator, State.received, ScanFacts(), "method"),
        (Action.pickup, Role.driver, State.collected, ScanFacts(weight_kg=3), "manifest_id"),
        (Action.report_incident, Role.driver, State.in_transit, ScanFacts(), "incident"),
    ],
)
def test_missing_records_are_refused(
    action: Action, role: Role, state: State, facts: ScanFacts, field: str
) -> None:
    with pytest.raises(MissingField) as refused:
        next_state(state=state, action=action, role=role, facts=facts)
    assert field in refused.value.detail


def test_disposal_without_receipt_skips_a_step() -> None:
    with pytest.raises(TransitionError) as refused:
        next_state(
            state=State.in_transit, action=Action.dispose, role=Role.disposal_operator, facts=FULL
        )
    assert refused.value.skips_step
    assert skips_step(State.collected, Action.receive)
    assert not skips_step(State.received, Action.collect)  # going back is not skipping


def test_disposed_is_terminal() -> None:
    for action in STATE_CHANGING:
        for role in Role:
            with pytest.raises(TransitionError):
                next_state(state=State.disposed, action=action, role=role, facts=FULL)


def test_allowed_actions_match_the_table() -> None:
    assert allowed_actions(state=State.labelled, role=Role.hospital_staff) == [
        Action.collect,
        Action.inspect,
        Action.report_incident,
    ]
    assert Action.pickup in allowed_actions(state=State.hospital_storage, role=Role.driver)
    assert Action.pickup not in allowed_actions(
        state=State.hospital_storage, role=Role.driver, has_manifest=False
    )
    assert allowed_actions(state=State.disposed, role=Role.disposal_operator) == [Action.inspect]
    assert allowed_actions(state=State.in_transit, role=Role.regulator) == [Action.inspect]
    # Everything offered must be accepted by next_state.
    for state in State:
        for role in Role:
            for action in allowed_actions(state=state, role=role):
                facts = ScanFacts(
                    weight_kg=1,
                    method=DisposalMethod.autoclave,
                    has_manifest=True,
                    incident=Incident.found if state is State.lost else Incident.damaged,
                )
                next_state(
                    state=state,
                    action=action,
                    role=role,
                    facts=facts,
                    state_before_loss=State.collected,
                )


def test_replay_sets_aside_events_that_did_not_occur() -> None:
    steps = [
        ChainStep(1, Action.register, State.labelled),
        ChainStep(2, Action.collect, State.collected),
        ChainStep(3, Action.store, State.hospital_storage),
        ChainStep(4, Action.correct, State.collected, 3, CorrectionReason.did_not_occur),
    ]
    assert replay(steps) is State.collected
    assert replay(steps[:3]) is State.hospital_storage
    data_fix = [
        *steps[:3],
        ChainStep(4, Action.correct, State.hospital_storage, 2, CorrectionReason.incorrect_data),
    ]
    assert replay(data_fix) is State.hospital_storage
