"""Compliance reports over HTTP (JSON or CSV)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from schemas.common import Instant, example_of
from schemas.reports import ComplianceReport, RegionFigures
from service.anomalies.dependencies import ProfilesDep
from service.auth.dependencies import CurrentActor
from service.deps import ClockDep, SessionDep
from service.reports.region import region_figures
from service.reports.service import compliance_report, report_csv
from service.reports.settled import SettledFigures

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


async def get_settled(request: Request) -> SettledFigures:
    """The sums this process keeps over settled containers (made with the application)."""
    settled: SettledFigures = request.app.state.settled_figures
    return settled


SettledDep = Annotated[SettledFigures, Depends(get_settled)]

DEFAULT_PERIOD = timedelta(days=30)
DEFAULT_REGION_PERIOD = timedelta(days=14)


@router.get(
    "/compliance",
    response_model=ComplianceReport,
    responses={
        200: {
            "description": "The figures as JSON, or with `format=csv` as CSV (UTF-8), one "
            "`section,key,metric,value` row per figure",
            "content": {
                "text/csv": {
                    "example": report_csv(
                        ComplianceReport.model_validate(example_of(ComplianceReport))
                    )
                }
            },
        }
    },
)
def compliance(
    session: SessionDep,
    actor: CurrentActor,
    clock: ClockDep,
    profiles: ProfilesDep,
    settled: SettledDep,
    organization_id: uuid.UUID,
    period_from: Annotated[
        Instant | None, Query(alias="from", description="default: 30 days before `to`")
    ] = None,
    period_to: Annotated[Instant | None, Query(alias="to", description="default: now")] = None,
    format: Literal["json", "csv"] = "json",
) -> ComplianceReport | Response:
    """An organization's compliance figures for a period: containers by state, on-time rates per
    rule, time spent per stage, weights collected, received and disposed, open anomalies. JSON or
    CSV."""
    now = clock()
    period_to = period_to or now
    report = compliance_report(
        session=session,
        actor=actor,
        organization_id=organization_id,
        period_from=period_from or period_to - DEFAULT_PERIOD,
        period_to=period_to,
        now=now,
        profiles=profiles,
        settled=settled,
    )
    if format == "csv":
        return Response(
            report_csv(report),
            media_type="text/csv",
            headers={
                "Content-Disposition": f'attachment; filename="compliance-{organization_id}.csv"'
            },
        )
    return report


@router.get("/region", response_model=RegionFigures)
def region(
    session: SessionDep,
    actor: CurrentActor,
    clock: ClockDep,
    profiles: ProfilesDep,
    settled: SettledDep,
    period_from: Annotated[
        Instant | None, Query(alias="from", description="default: 14 days before `to`")
    ] = None,
    period_to: Annotated[Instant | None, Query(alias="to", description="default: now")] = None,
    organization_id: Annotated[
        uuid.UUID | None, Query(description="one organization instead of the whole region")
    ] = None,
    jurisdiction: Annotated[
        str | None,
        Query(max_length=16, description="administrators: one jurisdiction (default: all)"),
    ] = None,
) -> RegionFigures:
    """The figures the regulators' region view draws, for the containers registered in the
    period: weights and anomalies per local day, stays per stage, each organization's figures
    (equal to its compliance report's) and the sites."""
    now = clock()
    period_to = period_to or now
    return region_figures(
        session=session,
        actor=actor,
        period_from=period_from or period_to - DEFAULT_REGION_PERIOD,
        period_to=period_to,
        now=now,
        profiles=profiles,
        organization_id=organization_id,
        jurisdiction=jurisdiction,
        settled=settled,
    )
