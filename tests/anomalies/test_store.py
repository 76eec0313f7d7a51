"""Findings are stored once each, and each new anomaly is put in the outbox of every active
subscription of its organization or its jurisdiction, and of no other."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from service.anomalies.models import Anomaly, WebhookDelivery, WebhookSubscription
from service.anomalies.rules import Finding, Kind
from service.anomalies.store import Subject, store_findings
from service.organizations.models import OrgKind
from tests.conftest import FakeClock
from tests.factories import make_org


def _finding(cause: str) -> Finding:
    return Finding(
        kind=Kind.impossible_travel,
        severity="warning",
        rule="the rule's source",
        threshold="> 120 km/h",
        cause=cause,
        facts={"km": 41.5, "minutes": 1},
    )


def _subscribe(session: Session, now: datetime, **scope: object) -> WebhookSubscription:
    sub = WebhookSubscription(
        url="https://hooks.example/x", secret="s" * 32, created_at=now, **scope
    )
    session.add(sub)
    session.flush()
    return sub


def test_new_anomalies_go_to_the_outbox_of_their_subscribers_only(
    session: Session, clock: FakeClock
) -> None:
    now = clock.now
    hospital = make_org(session, OrgKind.hospital, jurisdiction="CN-15")
    elsewhere = make_org(session, OrgKind.hospital, jurisdiction="CN-37")
    by_org = _subscribe(session, now, organization_id=hospital.id)
    by_region = _subscribe(session, now, jurisdiction="CN-15")
    _subscribe(session, now, organization_id=elsewhere.id)
    _subscribe(session, now, jurisdiction="CN-37")
    _subscribe(session, now, organization_id=hospital.id, active=False)

    subject = Subject(
        key=f"organization:{hospital.id}", jurisdiction="CN-15", organization_id=hospital.id
    )
    named, new = store_findings(session, [(subject, _finding("event:1"))], now=now)
    assert [a.id for a in named] == [a.id for a in new]
    [anomaly] = new
    assert (anomaly.kind, anomaly.organization_id, anomaly.facts) == (
        "impossible_travel",
        hospital.id,
        {"km": 41.5, "minutes": 1},
    )
    deliveries = session.exec(select(WebhookDelivery)).all()
    assert sorted(str(d.subscription_id) for d in deliveries) == sorted(
        [str(by_org.id), str(by_region.id)]
    )
    assert {d.payload["anomaly"]["id"] for d in deliveries} == {str(anomaly.id)}

    # Stored again (a replay, a second sweep): named, not new, announced to nobody again.
    again_named, again_new = store_findings(
        session, [(subject, _finding("event:1")), (subject, _finding("event:2"))], now=now
    )
    assert again_new == [a for a in again_named if a.id != anomaly.id]
    assert {a.id for a in again_named} >= {anomaly.id}
    assert len(session.exec(select(Anomaly)).all()) == 2
    assert len(session.exec(select(WebhookDelivery)).all()) == 4


def test_without_subscribers_nothing_is_queued(session: Session, clock: FakeClock) -> None:
    region = Subject(key="label:abc", jurisdiction="CN-15")
    _named, new = store_findings(session, [(region, _finding("forged"))], now=clock.now)
    assert len(new) == 1
    assert session.exec(select(WebhookDelivery)).all() == []
