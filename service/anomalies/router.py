"""The anomaly queue and webhook subscriptions over HTTP."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from schemas.anomalies import (
    AnomalyDetail,
    AnomalyNote,
    AnomalyPublic,
    AnomalyStepPublic,
    WebhookCreate,
    WebhookCreated,
    WebhookPause,
    WebhookPublic,
)
from schemas.common import Instant, Page
from service.anomalies import service, webhooks
from service.anomalies.models import AnomalyStatus, Severity, WebhookSubscription
from service.anomalies.rules import Kind
from service.auth.dependencies import AdminActor, CurrentActor
from service.deps import ClockDep, SessionDep, SettingsDep
from service.pagination import MAX_LIMIT

router = APIRouter(prefix="/api/v1", tags=["anomalies"])


@router.get("/anomalies", response_model=Page[AnomalyPublic])
def list_anomalies(
    session: SessionDep,
    actor: CurrentActor,
    status: AnomalyStatus | None = None,
    kind: Kind | None = None,
    severity: Severity | None = None,
    organization_id: uuid.UUID | None = None,
    since: Instant | None = None,
    container_id: Annotated[
        str | None,
        Query(
            max_length=32,
            description="one container's anomalies, and those of the trips it travelled on",
        ),
    ] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> Page[AnomalyPublic]:
    """The anomaly queue the caller may see (a regulator's jurisdiction), most severe and
    newest first, filtered by status, kind, severity, organization, container or time, a page at
    a time."""
    rows, next_cursor = service.list_anomalies(
        session=session,
        actor=actor,
        filters=service.AnomalyFilter(
            status=status,
            kind=kind,
            severity=severity,
            organization_id=organization_id,
            since=since,
            container_id=container_id,
        ),
        cursor=cursor,
        limit=limit,
    )
    return Page[AnomalyPublic](
        items=[AnomalyPublic.model_validate(a) for a in rows], next_cursor=next_cursor
    )


@router.get("/anomalies/{anomaly_id}", response_model=AnomalyDetail)
def get_anomaly(anomaly_id: uuid.UUID, session: SessionDep, actor: CurrentActor) -> AnomalyDetail:
    """One anomaly: the rule and its legal source, the facts that fired it, and its handling
    history."""
    anomaly = service.get_anomaly(session=session, actor=actor, anomaly_id=anomaly_id)
    return AnomalyDetail(
        **AnomalyPublic.model_validate(anomaly).model_dump(),
        steps=[AnomalyStepPublic.model_validate(s) for s in service.steps_of(session, anomaly.id)],
    )


def _step(
    to: AnomalyStatus,
) -> object:
    def endpoint(
        anomaly_id: uuid.UUID,
        body: AnomalyNote,
        session: SessionDep,
        actor: CurrentActor,
        clock: ClockDep,
    ) -> AnomalyDetail:
        anomaly = service.step_anomaly(
            session=session,
            actor=actor,
            anomaly_id=anomaly_id,
            to=to,
            note=body.note,
            now=clock(),
        )
        return AnomalyDetail(
            **AnomalyPublic.model_validate(anomaly).model_dump(),
            steps=[
                AnomalyStepPublic.model_validate(s) for s in service.steps_of(session, anomaly.id)
            ],
        )

    return endpoint


for _path, _status in (
    ("acknowledge", AnomalyStatus.acknowledged),
    ("resolve", AnomalyStatus.resolved),
    ("dismiss", AnomalyStatus.dismissed),
):
    router.add_api_route(
        f"/anomalies/{{anomaly_id}}/{_path}",
        _step(_status),  # type: ignore[arg-type]
        methods=["POST"],
        response_model=AnomalyDetail,
        name=f"{_path}_anomaly",
        summary=f"{_path.capitalize()} an anomaly (regulators of its jurisdiction, admins)",
        description=f"Move the anomaly to `{_status}` with a note, kept in its handling history.",
    )


@router.post("/webhooks", status_code=201, response_model=WebhookCreated, tags=["webhooks"])
def create_webhook(
    body: WebhookCreate,
    session: SessionDep,
    actor: AdminActor,
    clock: ClockDep,
    settings: SettingsDep,
) -> WebhookCreated:
    """Subscribe a URL to new anomalies of an organization or a jurisdiction (administrators).
    Deliveries are signed as Standard Webhooks and retried."""
    sub = webhooks.create_subscription(
        session=session,
        request=body,
        user_id=actor.user_id,
        now=clock(),
        allow_private=settings.webhook_allow_private_addresses,
    )
    return WebhookCreated(**WebhookPublic.model_validate(sub).model_dump(), secret=sub.secret)


@router.get("/webhooks", response_model=Page[WebhookPublic], tags=["webhooks"])
def list_webhooks(session: SessionDep, actor: AdminActor) -> Page[WebhookPublic]:
    """Every subscription, with its delivery health: whether it is paused and why, its
    current run of failures, the last error and how many notifications wait."""
    pending = webhooks.pending_counts(session)
    return Page[WebhookPublic](
        items=[_webhook(s, pending) for s in webhooks.list_subscriptions(session=session)],
        next_cursor=None,
    )


@router.post("/webhooks/{webhook_id}/pause", response_model=WebhookPublic, tags=["webhooks"])
def pause_webhook(
    webhook_id: uuid.UUID,
    body: WebhookPause,
    session: SessionDep,
    actor: AdminActor,
    clock: ClockDep,
) -> WebhookPublic:
    """Stop delivering; notifications keep queueing and go out on resume."""
    sub = webhooks.pause(
        session=session,
        subscription_id=webhook_id,
        now=clock(),
        reason=f"paused by {actor.username}" + (f": {body.reason}" if body.reason else ""),
    )
    return _webhook(sub, webhooks.pending_counts(session))


@router.post("/webhooks/{webhook_id}/resume", response_model=WebhookPublic, tags=["webhooks"])
def resume_webhook(webhook_id: uuid.UUID, session: SessionDep, actor: AdminActor) -> WebhookPublic:
    """Resume a paused webhook subscription (administrators)."""
    sub = webhooks.resume(session=session, subscription_id=webhook_id)
    return _webhook(sub, webhooks.pending_counts(session))


@router.delete("/webhooks/{webhook_id}", status_code=204, tags=["webhooks"])
def delete_webhook(webhook_id: uuid.UUID, session: SessionDep, actor: AdminActor) -> Response:
    """Delete a webhook subscription (administrators)."""
    webhooks.delete_subscription(session=session, subscription_id=webhook_id)
    return Response(status_code=204)


def _webhook(sub: WebhookSubscription, pending: dict[uuid.UUID, int]) -> WebhookPublic:
    return WebhookPublic.model_validate(sub).model_copy(update={"pending": pending.get(sub.id, 0)})
