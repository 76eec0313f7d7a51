"""Compliance figures per organization and period: the containers the organization
originated, holds or has custody of, registered in the period, counted by
:mod:`service.reports.figures` (the region figures count through the same tally).
"""

from __future__ import annotations

import io
import uuid
from datetime import datetime

from sqlmodel import Session, col, func, select

from schemas.reports import ComplianceReport
from service.anomalies.models import Anomaly, AnomalyStatus
from service.anomalies.profile import Profiles
from service.auth.actor import Actor
from service.errors import InvalidInput, NotFound
from service.organizations.models import Organization
from service.reports.cells import SafeCsvWriter
from service.reports.figures import Tally, dwell, profiles_of, tally
from service.reports.settled import SettledFigures


def visible_org(session: Session, actor: Actor, organization_id: uuid.UUID) -> Organization:
    org = session.get(Organization, organization_id)
    allowed = org is not None and (
        actor.is_admin
        or (actor.is_regulator and org.jurisdiction == actor.jurisdiction)
        or org.id == actor.organization_id
    )
    if org is None or not allowed:
        raise NotFound(f"organization {organization_id} not found")
    return org


def compliance_report(
    *,
    session: Session,
    actor: Actor,
    organization_id: uuid.UUID,
    period_from: datetime,
    period_to: datetime,
    now: datetime,
    profiles: Profiles,
    settled: SettledFigures | None = None,
) -> ComplianceReport:
    if period_to <= period_from:
        raise InvalidInput("'to' must be after 'from'")
    org = visible_org(session, actor, organization_id)
    figures = Tally(profiles_of(org, profiles))
    tally(
        session,
        {org.id: figures},
        period_from=period_from,
        period_to=period_to,
        now=now,
        settled=settled.look(session, now) if settled is not None else None,
    )
    stays = dwell(session, period_from=period_from, period_to=period_to, organizations=[org.id])
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
        profile=profiles.of(org).name,
        period_from=period_from,
        period_to=period_to,
        containers=figures.containers,
        containers_by_state=dict(sorted(figures.by_state.items())),
        on_time=figures.on_time(),
        dwell=stays,
        weights=figures.weights(),
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
