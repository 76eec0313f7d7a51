"""Webhook subscriptions and the outbox deliverer.

A scan or sweep only inserts outbox rows (``store.enqueue_notifications``). Delivery never
holds a database transaction while it waits on a receiver (on SQLite a transaction holds the
process's write lock, so one hanging receiver used to stall every scan):

1. **claim** (one short write transaction): the due rows of active subscriptions, at most
   ``PER_SUBSCRIPTION`` each, are leased to this sender for ``LEASE`` (``SKIP LOCKED`` on
   PostgreSQL, so several senders never claim one row);
2. **send** (no transaction): each subscription's rows in order, subscriptions in parallel,
   each request bounded by ``SEND_TIMEOUT``; after a failure the rest of that subscription's
   rows wait for the next round (a dead receiver costs one timeout per round, never one per
   row), and other subscriptions are not held up by it;
3. **record** (another short transaction): delivered, retried with exponential backoff (30 s,
   1 min, 2 min, ... capped at 1 h) or given up after ``MAX_ATTEMPTS``; only the holder of the
   lease may record, so a sender that outlived its lease changes nothing.

A subscription whose attempts have all failed for ``PAUSE_AFTER`` (and at least
``PAUSE_AFTER_FAILURES`` times) is paused by itself, with the reason; its rows wait until an
administrator resumes it. Bodies are signed as Standard Webhooks specifies (see
:mod:`service.anomalies.webhook_security`), and with the older ``X-Medwaste-Signature:
sha256=<hex>``; URLs to inside addresses are refused unless allowed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import delete, func, or_
from sqlmodel import Session, col, select

from schemas.anomalies import WebhookCreate
from service.anomalies.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from service.anomalies.webhook_security import (
    ForbiddenAddress,
    check_url,
    new_secret,
    secret_key,
    standard_signature,
    valid_secret,
)
from service.errors import InvalidInput, NotFound
from service.organizations.models import Organization

SIGNATURE_HEADER = "X-Medwaste-Signature"
MAX_ATTEMPTS = 8
BASE_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=1)
# One request to a receiver: connecting, sending, and each wait for its answer.
SEND_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
LEASE = timedelta(minutes=2)
PER_SUBSCRIPTION = 10
CLAIM_BATCH = 200
PARALLEL_SUBSCRIPTIONS = 8
PAUSE_AFTER = timedelta(hours=24)
PAUSE_AFTER_FAILURES = 10


def sign(secret: str, body: bytes) -> str:
    """The older ``X-Medwaste-Signature`` (hex HMAC over the body alone; no replay guard)."""
    return "sha256=" + hmac.new(secret_key(secret), body, hashlib.sha256).hexdigest()


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failure."""
    delay: timedelta = BASE_DELAY * (2 ** max(attempts - 1, 0))
    return min(delay, MAX_DELAY)


def create_subscription(
    *,
    session: Session,
    request: WebhookCreate,
    user_id: uuid.UUID,
    now: datetime,
    allow_private: bool = False,
) -> WebhookSubscription:
    try:
        check_url(str(request.url), allow_private=allow_private)
    except ForbiddenAddress as exc:
        raise InvalidInput(
            f"webhooks may not point there: {exc}",
            errors=[{"field": "url", "message": str(exc)}],
        ) from None
    if request.secret is not None and not valid_secret(request.secret):
        message = 'a secret is "whsec_" followed by base64 of 24 to 64 bytes'
        raise InvalidInput(message, errors=[{"field": "secret", "message": message}])
    if request.organization_id is not None and (
        session.get(Organization, request.organization_id) is None
    ):
        raise NotFound(f"organization {request.organization_id} not found")
    sub = WebhookSubscription(
        organization_id=request.organization_id,
        jurisdiction=request.jurisdiction,
        url=str(request.url),
        secret=request.secret or new_secret(),
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


def pending_counts(session: Session) -> dict[uuid.UUID, int]:
    """Rows waiting to be delivered, per subscription (the backlog)."""
    rows = session.exec(
        select(WebhookDelivery.subscription_id, func.count())
        .where(col(WebhookDelivery.status) == DeliveryStatus.pending)
        .group_by(col(WebhookDelivery.subscription_id))
    )
    return {sub_id: int(n) for sub_id, n in rows}


def get_subscription(*, session: Session, subscription_id: uuid.UUID) -> WebhookSubscription:
    sub = session.get(WebhookSubscription, subscription_id)
    if sub is None:
        raise NotFound(f"webhook {subscription_id} not found")
    return sub


def pause(
    *, session: Session, subscription_id: uuid.UUID, now: datetime, reason: str
) -> WebhookSubscription:
    sub = get_subscription(session=session, subscription_id=subscription_id)
    if sub.active:
        sub.active, sub.paused_at, sub.pause_reason = False, now, reason[:500]
        session.add(sub)
        session.flush()
    return sub


def resume(*, session: Session, subscription_id: uuid.UUID) -> WebhookSubscription:
    """Deliver again, from the rows that waited; the failure run starts afresh."""
    sub = get_subscription(session=session, subscription_id=subscription_id)
    sub.active, sub.paused_at, sub.pause_reason = True, None, None
    sub.consecutive_failures, sub.failing_since = 0, None
    session.add(sub)
    session.flush()
    return sub


def delete_subscription(*, session: Session, subscription_id: uuid.UUID) -> None:
    """The subscription and its outbox rows (notifications, not custody records)."""
    sub = get_subscription(session=session, subscription_id=subscription_id)
    session.execute(delete(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == sub.id))
    session.delete(sub)
    session.flush()


@dataclass(frozen=True)
class Claim:
    """One leased outbox row, with everything needed to send it without the database."""

    delivery_id: uuid.UUID
    lease_id: uuid.UUID
    subscription_id: uuid.UUID
    url: str
    secret: str
    body: bytes


@dataclass(frozen=True)
class Outcome:
    claim: Claim
    sent: bool  # False: not tried this round (its subscription had just failed)
    error: str | None = None


def claim_due(
    *,
    session: Session,
    now: datetime,
    batch: int = CLAIM_BATCH,
    per_subscription: int = PER_SUBSCRIPTION,
    lease: timedelta = LEASE,
) -> list[Claim]:
    """Lease the due rows of active subscriptions (the caller commits at once)."""
    rows = session.exec(
        select(WebhookDelivery, WebhookSubscription)
        .join(
            WebhookSubscription,
            col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
        )
        .where(
            col(WebhookDelivery.status) == DeliveryStatus.pending,
            col(WebhookDelivery.next_attempt_at) <= now,
            or_(
                col(WebhookDelivery.leased_until).is_(None),
                col(WebhookDelivery.leased_until) <= now,
            ),
            col(WebhookSubscription.active).is_(True),
        )
        .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.created_at))
        .limit(batch)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    ).all()
    taken: dict[uuid.UUID, int] = {}
    claims: list[Claim] = []
    lease_id = uuid.uuid4()
    for delivery, sub in rows:
        if taken.get(sub.id, 0) >= per_subscription:
            continue
        taken[sub.id] = taken.get(sub.id, 0) + 1
        delivery.lease_id, delivery.leased_until = lease_id, now + lease
        session.add(delivery)
        body = json.dumps(
            {**delivery.payload, "delivery_id": str(delivery.id)},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        claims.append(Claim(delivery.id, lease_id, sub.id, sub.url, sub.secret, body))
    session.flush()
    return claims


def signed_headers(claim: Claim, now: datetime) -> dict[str, str]:
    """Standard Webhooks headers (and the older X-Medwaste-Signature) for one attempt."""
    message_id = str(claim.delivery_id)
    timestamp = int(now.timestamp())
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(
            secret=claim.secret, message_id=message_id, timestamp=timestamp, body=claim.body
        ),
        SIGNATURE_HEADER: sign(claim.secret, claim.body),
        "X-Medwaste-Delivery": message_id,
    }


def send_one(client: httpx.Client, claim: Claim, *, allow_private: bool = False) -> Outcome:
    try:
        # Again at every send: a name may have come to resolve to an inside address.
        check_url(claim.url, allow_private=allow_private)
    except ForbiddenAddress as exc:
        return Outcome(claim, sent=True, error=f"refused: {exc}"[:500])
    try:
        response = client.post(
            claim.url,
            content=claim.body,
            headers=signed_headers(claim, datetime.now(UTC)),
            timeout=SEND_TIMEOUT,
        )
    except httpx.HTTPError as exc:
        return Outcome(claim, sent=True, error=f"{type(exc).__name__}: {exc}"[:500])
    if not 200 <= response.status_code < 300:
        return Outcome(claim, sent=True, error=f"HTTP {response.status_code}")
    return Outcome(claim, sent=True)


def send_claims(
    client: httpx.Client,
    claims: Sequence[Claim],
    *,
    send: Callable[[httpx.Client, Claim], Outcome] = send_one,
    parallel: int = PARALLEL_SUBSCRIPTIONS,
) -> list[Outcome]:
    """Send without any transaction: each subscription's rows in order, subscriptions side by
    side. After a failure, that subscription's remaining rows are left for the next round."""
    groups: dict[uuid.UUID, list[Claim]] = {}
    for claim in claims:
        groups.setdefault(claim.subscription_id, []).append(claim)

    def one_subscription(group: list[Claim]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for index, claim in enumerate(group):
            outcome = send(client, claim)
            outcomes.append(outcome)
            if outcome.error is not None:
                outcomes.extend(Outcome(c, sent=False) for c in group[index + 1 :])
                break
        return outcomes

    if not groups:
        return []
    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(groups)))) as pool:
        results = pool.map(one_subscription, groups.values())
        return [outcome for group in results for outcome in group]


@dataclass
class RoundReport:
    delivered: int = 0
    retry: int = 0
    failed: int = 0
    deferred: int = 0
    paused: int = 0


def record_outcomes(*, session: Session, outcomes: Iterable[Outcome], now: datetime) -> RoundReport:
    """Write what the sends found (the caller commits). Rows whose lease was taken over by
    another sender are left alone."""
    report = RoundReport()
    subs: dict[uuid.UUID, WebhookSubscription | None] = {}
    for outcome in outcomes:
        claim = outcome.claim
        delivery = session.exec(
            select(WebhookDelivery).where(
                col(WebhookDelivery.id) == claim.delivery_id,
                col(WebhookDelivery.lease_id) == claim.lease_id,
            )
        ).first()
        if delivery is None:
            continue
        delivery.lease_id, delivery.leased_until = None, None
        session.add(delivery)
        if not outcome.sent:
            report.deferred += 1
            continue
        if claim.subscription_id not in subs:
            subs[claim.subscription_id] = session.get(WebhookSubscription, claim.subscription_id)
        sub = subs[claim.subscription_id]
        delivery.attempts += 1
        if outcome.error is None:
            delivery.status, delivery.delivered_at, delivery.last_error = (
                DeliveryStatus.delivered,
                now,
                None,
            )
            report.delivered += 1
            if sub is not None:
                sub.consecutive_failures, sub.failing_since = 0, None
                sub.last_delivered_at = now
                session.add(sub)
            continue
        delivery.last_error = outcome.error
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.failed
            report.failed += 1
        else:
            delivery.next_attempt_at = now + backoff(delivery.attempts)
            report.retry += 1
        if sub is not None and _note_failure(sub, outcome.error, now):
            report.paused += 1
        if sub is not None:
            session.add(sub)
    session.flush()
    return report


def _note_failure(sub: WebhookSubscription, error: str, now: datetime) -> bool:
    """Count a failed attempt; pause a subscription that has failed for too long. Returns
    whether it was paused now."""
    sub.consecutive_failures += 1
    sub.failing_since = sub.failing_since or now
    sub.last_error = error[:500]
    if (
        sub.active
        and sub.consecutive_failures >= PAUSE_AFTER_FAILURES
        and now - sub.failing_since >= PAUSE_AFTER
    ):
        sub.active, sub.paused_at = False, now
        sub.pause_reason = (
            f"paused automatically: every attempt failed for "
            f"{int(PAUSE_AFTER.total_seconds() // 3600)} h ({sub.consecutive_failures} in a row); "
            f"last error: {error}"
        )[:500]
        return True
    return False


Transaction = Callable[[], AbstractContextManager[Session]]


def deliver_round(
    *,
    transaction: Transaction,
    client: httpx.Client,
    clock: Callable[[], datetime],
    send: Callable[[httpx.Client, Claim], Outcome] = send_one,
) -> RoundReport:
    """Claim, send, record: two short transactions with the sending between them."""
    with transaction() as session:
        claims = claim_due(session=session, now=clock())
    if not claims:
        return RoundReport()
    outcomes = send_claims(client, claims, send=send)
    with transaction() as session:
        return record_outcomes(session=session, outcomes=outcomes, now=clock())


def has_due(session: Session, now: datetime) -> bool:
    """Whether any row is due (a read, so an idle sender never takes the write lock)."""
    return (
        session.exec(
            select(WebhookDelivery.id)
            .where(
                col(WebhookDelivery.status) == DeliveryStatus.pending,
                col(WebhookDelivery.next_attempt_at) <= now,
            )
            .limit(1)
        ).first()
        is not None
    )
