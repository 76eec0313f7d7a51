"""The custody rules as data: the state machine's table, the timed stages and the words a scan
uses, read from the definitions themselves (``machine``, ``stages``, the schemas). Which role
may take which action from which state is asked of the state machine itself, with every field
a scan may carry, so the table cannot say what the machine would refuse."""

from __future__ import annotations

from functools import cache

from schemas.custody import CATEGORIES, ActionRule, StageRule, Vocabulary
from service.auth.roles import Role
from service.custody.machine import (
    REQUIRED_FIELDS,
    RULES,
    TERMINAL,
    Action,
    CorrectionReason,
    DisposalMethod,
    Incident,
    ScanFacts,
    State,
    TransitionError,
    next_state,
)
from service.custody.stages import STAGES


def _allowed(state: State, action: Action, role: Role) -> bool:
    lost = state is State.lost
    facts = ScanFacts(
        weight_kg=1.0,
        method=DisposalMethod.incineration,
        incident=Incident.found if lost else Incident.damaged,
        has_manifest=True,
    )
    try:
        next_state(
            state=state,
            action=action,
            role=role,
            facts=facts,
            state_before_loss=State.collected if lost else None,
        )
    except TransitionError:
        return False
    return True


@cache
def vocabulary() -> Vocabulary:
    order = list(State)
    return Vocabulary(
        states=[str(s) for s in order],
        terminal_states=[str(s) for s in order if s in TERMINAL],
        actions=[
            ActionRule(
                action=action,
                from_states={
                    str(role): [str(s) for s in order if _allowed(s, action, role)]
                    for role in Role
                    if role in rule.roles
                },
                requires=[REQUIRED_FIELDS[action][0]] if action in REQUIRED_FIELDS else [],
                description=rule.description,
            )
            for action, rule in RULES.items()
        ],
        stages=[
            StageRule(
                stage=s.name,
                begins=s.begins,
                ends=s.ends,
                states=[str(x) for x in order if x in s.states],
            )
            for s in STAGES
        ],
        categories=list(CATEGORIES),
        disposal_methods=list(DisposalMethod),
        incidents=list(Incident),
        correction_reasons=list(CorrectionReason),
    )
