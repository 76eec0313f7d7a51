"""Compliance figures per organization and period.

Containers counted: those the organization originated, held or had custody of, registered in
the period. Stages (:mod:`service.custody.stages`): storage (collect → pickup), transit (pickup →
receive), disposal (receive → dispose), measured on event time over the events that still
stand after corrections, with corrected weights; a stage is on time when it ended (or, if still
open, has lasted) within the limit of the profile the anomaly rules judge the organization by.
"""

from __future__ import annotations

import io
import statistics
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import Session, col, func, select

from schemas.reports import ComplianceReport, DwellStats, OnTime, Weights
from service.anomalies.detection import org_profile
from service.anomalies.models import Anomaly, AnomalyStatus
from service.anomalies.rules import STAGE_RULE
from service.auth.actor import Actor
from service.custody.ledger import corrected_weights, standing_events
from service.custody.machine import Action, State
from service.custody.models import Container, CustodyEvent
from service.custody.stages import STAGES
from service.errors import InvalidInput, NotFound
from service.organizations.models import Organization
from service.reports.cells import SafeCsvWriter


def _visible_org(session: Session, actor: Actor, organization_id: uuid.UUID) -> Organization:
    org = session.get(Organization, organization_id)
    allowed = org is not None and (
        actor.is_admin
        or (actor.is_regulator and org.jurisdiction == actor.jurisdiction)
        or org.id == actor.organization_id
    )
    if org is None or not allowed:
        raise NotFound(f"organization {organization_id} not found")
    return org


def _stats(hours: list[float]) -> DwellStats:
    if not hours:
        return DwellStats(count=0, median_hours=None, p90_hours=None)
    ordered = sorted(hours)
    p90 = (
        statistics.quantiles(ordered, n=10, method="inclusive")[8]
        if len(ordered) > 1
        else ordered[0]
    )
    return DwellStats(
        count=len(ordered),
        median_hours=round(statistics.median(ordered), 2),
        p90_hours=round(p90, 2),
    )


def compliance_report(
    *,
    session: Session,
    actor: Actor,
    organization_id: uuid.UUID,
    period_from: datetime,
    period_to: datetime,
    now: datetime,
    default_profile: str,
) -> ComplianceReport:
    if period_to <= period_from:
        raise InvalidInput("'to' must be after 'from'")
    org = _visible_org(session, actor, organization_id)
    profile = org_profile(org, default=default_profile)
    containers = list(
        session.exec(
            select(Container).where(
                or_(
                    col(Container.origin_organization_id) == org.id,
                    col(Container.holder_organization_id) == org.id,
                    col(Container.custodian_organization_id) == org.id,
                ),
                col(Container.created_at) >= period_from,
                col(Container.created_at) < period_to,
            )
        )
    )
    ids = [c.id for c in containers]
    events: dict[str, list[CustodyEvent]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        for e in session.exec(
            select(CustodyEvent)
            .where(col(CustodyEvent.container_id).in_(ids[start : start + 500]))
            .order_by(col(CustodyEvent.container_id), col(CustodyEvent.seq))
        ):
            events[e.container_id].append(e)

    dwell: dict[str, list[float]] = {stage.name: [] for stage in STAGES}
    on_time: list[OnTime] = []
    late: Counter[str] = Counter()
    total: Counter[str] = Counter()
    collected = received = disposed = 0.0
    for c in containers:
        chain = events.get(c.id, [])
        weights = corrected_weights(chain)
        first: dict[str, CustodyEvent] = {}
        for e in standing_events(chain):
            first.setdefault(e.action, e)
        collect, receive = first.get(Action.collect), first.get(Action.receive)
        collect_kg = weights.get(collect.id or 0) if collect is not None else None
        receive_kg = weights.get(receive.id or 0) if receive is not None else None
        if collect_kg:
            collected += collect_kg
        if receive_kg:
            received += receive_kg
            if c.state == State.disposed:
                disposed += receive_kg
        for stage in STAGES:
            name, begin, end, kind = stage.name, stage.begins, stage.ends, STAGE_RULE[stage.name]
            started = first.get(begin)
            if started is None:
                continue
            ended = first.get(end)
            until = ended.occurred_at if ended else now
            hours = (until - started.occurred_at).total_seconds() / 3600
            if ended is not None:
                dwell[name].append(hours)
            limit = profile.rule(kind).hours()
            total[name] += 1
            if limit is not None and timedelta(hours=hours) > limit:
                late[name] += 1
    for stage in STAGES:
        name, kind = stage.name, STAGE_RULE[stage.name]
        limit = profile.rule(kind).hours()
        on_time.append(
            OnTime(
                rule=str(kind),
                limit_hours=limit.total_seconds() / 3600 if limit else None,
                total=total[name],
                late=late[name],
                rate=round(1 - late[name] / total[name], 4) if total[name] else None,
            )
        )
    open_by_kind = dict(
        session.exec(
            select(Anomaly.kind, func.count())
            .where(
                col(Anomaly.organization_id) == org.id,
                col(Anomaly.status) == AnomalyStatus.open,
            )
            .group_by(col(Anomaly.kind))
        ).all()
    )
    return ComplianceReport(
        organization_id=org.id,
        organization_name=org.name,
        jurisdiction=org.jurisdiction,
        profile=profile.name,
        period_from=period_from,
        period_to=period_to,
        containers=len(containers),
        containers_by_state=dict(sorted(Counter(c.state for c in containers).items())),
        on_time=on_time,
        dwell={name: _stats(values) for name, values in dwell.items()},
        weights=Weights(
            collected_kg=round(collected, 3),
            received_kg=round(received, 3),
            disposed_kg=round(disposed, 3),
        ),
        open_anomalies_by_kind=dict(sorted(open_by_kind.items())),
    )


def report_csv(report: ComplianceReport) -> str:
    """One ``section,key,metric,value`` row per figure."""
    out = io.StringIO()
    writer = SafeCsvWriter(out)
    writer.writerow(["section", "key", "metric", "value"])
    writer.writerow(["organization", str(report.organization_id), "name", report.organization_name])
    writer.writerow(["organization", str(report.organization_id), "profile", report.profile])
    writer.writerow(["period", "from", "", report.period_from.isoformat()])
    writer.writerow(["period", "to", "", report.period_to.isoformat()])
    writer.writerow(["containers", "all", "count", report.containers])
    for state, n in report.containers_by_state.items():
        writer.writerow(["containers_by_state", state, "count", n])
    for item in report.on_time:
        writer.writerow(["on_time", item.rule, "total", item.total])
        writer.writerow(["on_time", item.rule, "late", item.late])
        writer.writerow(["on_time", item.rule, "rate", "" if item.rate is None else item.rate])
    for stage, stats in report.dwell.items():
        writer.writerow(["dwell", stage, "count", stats.count])
        writer.writerow(["dwell", stage, "median_hours", stats.median_hours or ""])
        writer.writerow(["dwell", stage, "p90_hours", stats.p90_hours or ""])
    for metric, value in report.weights.model_dump().items():
        writer.writerow(["weights", "total", metric, value])
    for kind, n in report.open_anomalies_by_kind.items():
        writer.writerow(["open_anomalies", kind, "count", n])
    return out.getvalue()
