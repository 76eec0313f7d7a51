"""Webhooks cannot be pointed at inside addresses (unless allowed), and are signed as the
Standard Webhooks specification says, so an off-the-shelf verifier accepts them and rejects
replays and tampering."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, func, select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from service.anomalies.models import WebhookSubscription
from service.anomalies.webhook_security import new_secret
from service.anomalies.webhooks import Claim, send_one, signed_headers
from service.auth.roles import Role
from service.config import Settings
from tests.factories import login, make_user

INSIDE = [
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://app.localhost/hook",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://10.0.0.5/hook",
    "http://172.16.3.4/hook",
    "http://192.168.1.1/hook",
    "http://100.64.1.1/hook",  # carrier-grade NAT
    "http://0.0.0.0/hook",
    "http://[::1]/hook",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
]


def _subscriptions(session: Session) -> int:
    return session.exec(select(func.count()).select_from(WebhookSubscription)).one()


@pytest.mark.parametrize("url", INSIDE)
def test_inside_addresses_are_refused(client: TestClient, session: Session, url: str) -> None:
    admin = login(client, make_user(session, Role.admin))
    before = _subscriptions(session)
    response = client.post(
        "/api/v1/webhooks", json={"url": url, "jurisdiction": "CN-15"}, headers=admin
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["url"]
    assert _subscriptions(session) == before


def test_a_setting_allows_inside_receivers(
    client: TestClient, session: Session, settings: Settings
) -> None:
    admin = login(client, make_user(session, Role.admin))
    settings.webhook_allow_private_addresses = True
    response = client.post(
        "/api/v1/webhooks", json={"url": INSIDE[0], "jurisdiction": "CN-15"}, headers=admin
    )
    assert response.status_code == 201, response.text


def test_public_receivers_are_accepted_with_a_standard_secret(
    client: TestClient, session: Session
) -> None:
    admin = login(client, make_user(session, Role.admin))
    made = client.post(
        "/api/v1/webhooks",
        json={"url": "https://93.184.215.14/hook", "jurisdiction": "CN-15"},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    assert made.json()["secret"].startswith("whsec_")
    for secret in ("a-plain-sixteen-char-secret", "whsec_not*base64", "whsec_c2hvcnQ="):
        bad = client.post(
            "/api/v1/webhooks",
            json={"url": "https://93.184.215.14/h", "jurisdiction": "CN-15", "secret": secret},
            headers=admin,
        )
        assert bad.status_code == 422, secret


def _claim(url: str, secret: str) -> Claim:
    body = json.dumps({"event": "anomaly.created", "anomaly": {"kind": "forged_label"}}).encode()
    return Claim(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), url, secret, body)


def test_a_send_to_an_inside_address_is_refused_at_send_time() -> None:
    calls: list[httpx.Request] = []
    with httpx.Client(
        transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(200))
    ) as http:
        outcome = send_one(http, _claim("http://169.254.169.254/hook", new_secret()))
        assert outcome.error is not None and outcome.error.startswith("refused")
        assert calls == []
        allowed = send_one(
            http, _claim("http://169.254.169.254/hook", new_secret()), allow_private=True
        )
        assert allowed.error is None and len(calls) == 1


def test_deliveries_verify_with_an_off_the_shelf_verifier() -> None:
    secret = new_secret()
    received: list[httpx.Request] = []
    with httpx.Client(
        transport=httpx.MockTransport(lambda r: received.append(r) or httpx.Response(204))
    ) as http:
        claim = _claim("https://93.184.215.14/hook", secret)
        assert send_one(http, claim).error is None
    [request] = received
    headers = dict(request.headers.items())
    assert headers["webhook-id"] == str(claim.delivery_id)
    verified = Webhook(secret).verify(request.content, headers)
    assert verified["anomaly"]["kind"] == "forged_label"
    # Tampered bodies, other secrets and replays long after are refused.
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(request.content.replace(b"forged", b"benign"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(request.content, headers)
    old = signed_headers(claim, datetime.now(UTC) - timedelta(minutes=30))
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(claim.body, old)
