"""Webhook subscriptions and the outbox deliverer.

A scan or sweep only inserts outbox rows (``store.enqueue_notifications``); this worker sends
them with httpx, signed with HMAC-SHA256 over the exact body in ``X-Medwaste-Signature:
sha256=<hex>``, retrying with exponential backoff (30 s, 1 min, 2 min, ... capped at 1 h) and
giving up after ``MAX_ATTEMPTS``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from datetime import datetime, timedelta

import httpx
from sqlmodel import Session, col, select

from schemas.anomalies import WebhookCreate
from service.anomalies.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from service.errors import NotFound
from service.organizations.models import Organization

SIGNATURE_HEADER = "X-Medwaste-Signature"
MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure."""
    delay: timedelta = BASE_DELAY * (2 ** max(attempts - 1, 0))
    return min(delay, MAX_DELAY)


def create_subscription(
    *, session: Session, request: WebhookCreate, user_id: uuid.UUID, now: datetime
) -> WebhookSubscription:
    if request.organization_id is not None and (
        session.get(Organization, request.organization_id) is None
    ):
        raise NotFound(f"organization {request.organization_id} not found")
    sub = WebhookSubscription(
        organization_id=request.organization_id,
        jurisdiction=request.jurisdiction,
        url=str(request.url),
        secret=request.secret or secrets.token_urlsafe(32),
        created_by_user_id=user_id,
        created_at=now,
    )
    session.add(sub)
    session.flush()
    return sub


def list_subscriptions(*, session: Session) -> list[WebhookSubscription]:
    return list(
        session.exec(select(WebhookSubscription).order_by(col(WebhookSubscription.created_at)))
    )


def deliver_due(
    *, session: Session, client: httpx.Client, now: datetime, batch: int = 50
) -> dict[str, int]:
    """Send the outbox rows that are due; returns counts by outcome. The caller commits."""
    due = list(
        session.exec(
            select(WebhookDelivery)
            .where(
                col(WebhookDelivery.status) == DeliveryStatus.pending,
                col(WebhookDelivery.next_attempt_at) <= now,
            )
            .order_by(col(WebhookDelivery.next_attempt_at))
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    )
    counts = {"delivered": 0, "retry": 0, "failed": 0}
    for delivery in due:
        sub = session.get(WebhookSubscription, delivery.subscription_id)
        if sub is None or not sub.active:
            delivery.status = DeliveryStatus.failed
            delivery.last_error = "subscription inactive"
            counts["failed"] += 1
            session.add(delivery)
            continue
        body = json.dumps(
            {**delivery.payload, "delivery_id": str(delivery.id)},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        delivery.attempts += 1
        error: str | None = None
        try:
            response = client.post(
                sub.url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: sign(sub.secret, body),
                    "X-Medwaste-Delivery": str(delivery.id),
                },
                timeout=10.0,
            )
            if not 200 <= response.status_code < 300:
                error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        if error is None:
            delivery.status = DeliveryStatus.delivered
            delivery.delivered_at = now
            delivery.last_error = None
            counts["delivered"] += 1
        elif delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.failed
            delivery.last_error = error
            counts["failed"] += 1
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            delivery.last_error = error
            counts["retry"] += 1
        session.add(delivery)
    session.flush()
    return counts
