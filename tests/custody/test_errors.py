"""How the custody domain answers each refusal: the state machine's verdicts and a label that
does not verify become refusals with their HTTP status, code and title, and are kept."""

from __future__ import annotations

import pytest

from service.custody.errors import (
    ForgedLabelRefused,
    InvalidTransition,
    LabelRefused,
    MalformedLabelRefused,
    MissingScanField,
    RoleMayNot,
    ScanRefusal,
    StoredRefusal,
    UnknownKeyRefused,
    label_refusal,
    transition_refusal,
)
from service.custody.machine import MissingField, RoleNotAllowed, State, TransitionError
from service.labels.signing import ForgedLabel, LabelError, MalformedLabel, UnknownLabelKey


@pytest.mark.parametrize(
    ("verdict", "kind", "status", "code"),
    [
        (RoleNotAllowed("a driver may not collect"), RoleMayNot, 403, "role-not-allowed"),
        (MissingField("weight_kg is required"), MissingScanField, 422, "missing-field"),
        (
            TransitionError("cannot dispose", skips_step=True),
            InvalidTransition,
            409,
            "invalid-transition",
        ),
    ],
)
def test_state_machine_verdicts_become_refusals(
    verdict: TransitionError, kind: type[ScanRefusal], status: int, code: str
) -> None:
    refusal = transition_refusal(verdict, State.collected)
    assert type(refusal) is kind
    assert refusal.keep_changes is True
    problem = refusal.problem()
    assert problem["status"] == status
    assert problem["type"].endswith("/" + code)
    assert problem["title"] == "Scan refused"
    assert problem["detail"] == verdict.detail
    assert problem["state"] == "collected"


def test_a_skipped_step_is_carried_only_by_a_plain_transition_refusal() -> None:
    skipped = transition_refusal(TransitionError("x", skips_step=True), State.labelled)
    assert isinstance(skipped, InvalidTransition) and skipped.skips_step
    plain = transition_refusal(TransitionError("x"), State.labelled)
    assert not plain.skips_step
    assert not transition_refusal(RoleNotAllowed("x"), State.labelled).skips_step


@pytest.mark.parametrize(
    ("error", "kind", "code", "title"),
    [
        (ForgedLabel("c1", "k1"), ForgedLabelRefused, "forged-label", "Forged label"),
        (UnknownLabelKey("k"), UnknownKeyRefused, "unknown-label-key", "Unknown label key"),
        (MalformedLabel("no dots"), MalformedLabelRefused, "malformed-label", "Malformed label"),
        (LabelError("odd"), LabelRefused, "invalid-label", "Invalid label"),
    ],
)
def test_labels_that_do_not_verify_are_422_refusals(
    error: LabelError, kind: type[LabelRefused], code: str, title: str
) -> None:
    refusal = label_refusal(error)
    assert type(refusal) is kind
    problem = refusal.problem()
    assert (problem["status"], problem["title"]) == (422, title)
    assert problem["type"].endswith("/" + code)
    assert refusal.keep_changes is True


def test_a_stored_refusal_answers_its_body_and_keeps_nothing() -> None:
    body = {"type": "x/custody-mismatch", "title": "Not the custodian", "status": 403,
            "detail": "not yours", "anomalies": []}  # fmt: skip
    replay = StoredRefusal(body)
    assert replay.problem() == body
    assert replay.status == 403
    assert replay.keep_changes is False
