"""Detection on a refused scan: what the refusal reveals (a forged label, a scan of a disposed
container, a skipped step, a scanner who is neither custodian nor expected receiver)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlmodel import Session

from service.anomalies.detection import as_str
from service.anomalies.models import Anomaly
from service.anomalies.profile import Profiles
from service.anomalies.rules import Finding, Kind, flagged
from service.anomalies.store import Subject, store_findings
from service.custody.errors import (
    CustodyMismatch,
    ForgedLabelRefused,
    InvalidTransition,
    ScanRefusal,
    UnknownKeyRefused,
)
from service.custody.machine import State
from service.custody.models import Container, ScanRejection
from service.organizations.directory import directory


@dataclass(frozen=True)
class RefusedScan:
    """A refused scan, as recorded, with the refusal that was decided."""

    rejection: ScanRejection
    container: Container | None
    error: ScanRefusal


def flag_refusal(session: Session, refusal: RefusedScan, profiles: Profiles) -> list[Anomaly]:
    """Flag what a refused scan reveals: a forged label, a scan of a disposed container, a
    skipped step, or a scanner who is neither custodian nor expected receiver."""
    rejection, container, error = refusal.rejection, refusal.container, refusal.error
    orgs = directory(session)
    actor_org = orgs.organization(rejection.actor_organization_id)
    origin = orgs.organization(container.origin_organization_id) if container else None
    place = actor_org or origin
    profile = profiles.of(place, epidemic=bool(container and container.epidemic))
    jurisdiction = place.jurisdiction if place else ""
    now = rejection.recorded_at
    facts = {
        "rejection_id": str(rejection.id),
        "action": rejection.action,
        "problem": rejection.problem_type,
        "detail": rejection.detail,
        "actor_organization_id": as_str(rejection.actor_organization_id),
        "point": [rejection.latitude, rejection.longitude]
        if rejection.latitude is not None
        else None,
    }
    cause = f"rejection:{rejection.id}"
    found: list[tuple[Subject, Finding]] = []

    if isinstance(error, (ForgedLabelRefused, UnknownKeyRefused)):
        digest = hashlib.sha256((rejection.qr_payload or "").encode()).hexdigest()[:32]
        label_container = _existing_container(session, rejection.qr_payload)
        subject = Subject(
            key=f"label:{digest}",
            jurisdiction=jurisdiction,
            organization_id=rejection.actor_organization_id,
            container_id=label_container,
        )
        found.append(
            (
                subject,
                flagged(
                    Kind.forged_label,
                    setting=profile.rule(Kind.forged_label),
                    cause="payload",
                    threshold="a label signature that does not verify",
                    facts={**facts, "qr_payload": rejection.qr_payload},
                ),
            )
        )
    if container is not None:
        subject = Subject.container(
            container.id,
            jurisdiction=jurisdiction,
            organization_id=rejection.actor_organization_id or container.holder_organization_id,
        )
        state = container.state
        if state is State.disposed:
            found.append(
                (
                    subject,
                    flagged(
                        Kind.scan_after_disposal,
                        setting=profile.rule(Kind.scan_after_disposal),
                        cause=cause,
                        threshold="any scan of a disposed container",
                        facts=facts,
                    ),
                )
            )
        if isinstance(error, CustodyMismatch):
            found.append(
                (
                    subject,
                    flagged(
                        Kind.custody_mismatch,
                        setting=profile.rule(Kind.custody_mismatch),
                        cause=cause,
                        threshold="the scanner is neither custodian nor expected receiver",
                        facts={
                            **facts,
                            "custodian_organization_id": str(container.custodian_organization_id),
                        },
                    ),
                )
            )
        if type(error) is InvalidTransition and error.skips_step:
            found.append(
                (
                    subject,
                    flagged(
                        Kind.missing_step,
                        setting=profile.rule(Kind.missing_step),
                        cause=cause,
                        threshold="every required earlier state",
                        facts={**facts, "state": state.value},
                    ),
                )
            )
    named, _new = store_findings(session, found, now=now)
    return named


def _existing_container(session: Session, payload: str | None) -> str | None:
    parts = (payload or "").split(".")
    if len(parts) < 2 or not parts[1]:
        return None
    return parts[1] if session.get(Container, parts[1][:32]) is not None else None
