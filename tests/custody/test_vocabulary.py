"""The custody rules served to phones (GET /api/v1/vocabulary) are the state machine's own: an
action is offered to a role in a state exactly when the machine lets it through, and a scan is
refused for a missing field exactly when the served table says the action requires it."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas.custody import CATEGORIES
from service.auth.roles import Role
from service.custody.machine import (
    Action,
    CorrectionReason,
    DisposalMethod,
    Incident,
    MissingField,
    RoleNotAllowed,
    ScanFacts,
    State,
    TransitionError,
    next_state,
)

SCAN_ACTIONS = [a for a in Action if a not in (Action.register, Action.correct)]
# A scan lacking each field the table may require.
WITHOUT: dict[str, dict[str, Any]] = {
    "weight_kg": {"weight_kg": None},
    "method": {"method": None},
    "incident": {"incident": None},
    "manifest_id": {"has_manifest": False},
}
FULL = ScanFacts(weight_kg=1.0, method=DisposalMethod.incineration, has_manifest=True)


@pytest.fixture
def served(client: TestClient) -> dict[str, Any]:
    response = client.get("/api/v1/vocabulary")  # no token: phones fetch it like the label keys
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _passes(
    state: State, action: Action, role: Role, facts: ScanFacts, before_loss: State | None
) -> bool:
    try:
        next_state(
            state=state, action=action, role=role, facts=facts, state_before_loss=before_loss
        )
    except RoleNotAllowed:
        return False
    except MissingField:
        raise  # every field is given: the table must not be tested against a refusal for one
    except TransitionError:
        return False
    return True


def _facts(state: State) -> ScanFacts:
    """Every field a scan may carry (an incident that fits the state)."""
    incident = Incident.found if state is State.lost else Incident.damaged
    return dataclasses.replace(FULL, incident=incident)


def test_the_served_table_is_the_state_machine(served: dict[str, Any]) -> None:
    rules = {r["action"]: r for r in served["actions"]}
    assert set(rules) == {str(a) for a in SCAN_ACTIONS}
    for state, action, role in itertools.product(State, SCAN_ACTIONS, Role):
        rule = rules[str(action)]
        offered = str(state) in rule["from_states"].get(str(role), [])
        before_loss = State.collected if state is State.lost else None
        assert offered == _passes(state, action, role, _facts(state), before_loss), (
            state,
            action,
            role,
        )
    # A few read the way SPEC §3 puts them.
    assert rules["store"]["from_states"] == {
        "hospital_staff": ["collected"],
        "storage_operator": ["received"],
        "disposal_operator": ["received"],
    }
    assert rules["collect"]["from_states"] == {"hospital_staff": ["labelled"]}
    assert "admin" not in rules["inspect"]["from_states"]
    assert rules["report_incident"]["from_states"]["driver"][-1] == "lost"  # found again


@pytest.mark.parametrize("action", SCAN_ACTIONS, ids=str)
def test_required_fields_are_the_ones_the_machine_refuses_without(
    served: dict[str, Any], action: Action
) -> None:
    rule = next(r for r in served["actions"] if r["action"] == action)
    role_name, states = next(iter(rule["from_states"].items()))
    role, state = Role(role_name), State(states[0])
    for field in ("weight_kg", "method", "incident", "manifest_id"):
        facts = _facts(state)
        lacking = dataclasses.replace(facts, **WITHOUT[field])
        try:
            next_state(state=state, action=action, role=role, facts=lacking)
            refused = False
        except MissingField:
            refused = True
        except TransitionError:
            refused = False
        assert refused == (field in rule["requires"]), (action, field)


def test_the_words_and_stages(served: dict[str, Any]) -> None:
    assert served["categories"] == list(CATEGORIES)
    assert served["disposal_methods"] == [str(m) for m in DisposalMethod]
    assert served["incidents"] == [str(i) for i in Incident]
    assert served["correction_reasons"] == [str(r) for r in CorrectionReason]
    assert served["states"][0] == "labelled"
    assert set(served["terminal_states"]) == {"disposed", "lost"}
    stages = {s["stage"]: s for s in served["stages"]}
    assert stages["storage"] == {
        "stage": "storage",
        "begins": "collect",
        "ends": "pickup",
        "states": ["collected", "hospital_storage"],
    }
    assert stages["transit"]["states"] == ["in_transit"]
    assert stages["disposal"]["ends"] == "dispose"
