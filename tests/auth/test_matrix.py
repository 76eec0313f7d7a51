"""The authorization matrix: every route of the app x every role x own / other organization.

The routes come from the app itself (its OpenAPI description), so a route added without an
entry in ``RULES`` fails ``test_every_route_has_a_rule`` and its own matrix test.

HOW TO ADD A ROUTE: add one line to ``RULES`` keyed by ``(METHOD, "/path/{template}")`` exactly
as it appears in /openapi.json:
    PUBLIC                       no token needed (must not answer 401)
    allow(Role.x, Role.y, ...)   these roles get past authorization (anything but 401/403 and
                                 never 5xx); every other role must get 403
    allow(*ALL, scoped="container" | "manifest" | "anomaly")
                                 the path names an object of that kind: each role reads its
                                 own (2xx) and jurisdiction B's (404; admins 2xx)
    body=lambda world, role: {...}
                                 a request body when the role check only runs after the body
                                 validates (otherwise writes send ``{}``)
Path parameters are filled by ``PATH_PARAMS`` (name -> value for the role); unknown names get a
random UUID. Unauthenticated requests must get 401 on every non-public route.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlmodel import Session

from service.app import create_app
from service.auth.roles import Role
from service.config import Settings
from tests.auth.world import World, build_world
from tests.conftest import FakeClock

ALL = tuple(Role)
NOT_REGULATOR = tuple(r for r in Role if r is not Role.regulator)
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

Body = Callable[[World, Role], Any]


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role] = frozenset()
    public: bool = False
    scoped: str | None = None
    body: Body | None = None


PUBLIC = Rule(public=True)


def allow(*roles: Role, scoped: str | None = None, body: Body | None = None) -> Rule:
    return Rule(roles=frozenset(roles), scoped=scoped, body=body)


def _containers_body(world: World, role: Role) -> dict[str, Any]:
    return {"count": 1, "category": "infectious", "site_id": str(world.sites["hospital"].id)}


RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/api/v1/labels/keys"): PUBLIC,
    ("GET", "/api/v1/vocabulary"): PUBLIC,
    ("POST", "/api/v1/auth/token"): PUBLIC,
    ("POST", "/api/v1/auth/refresh"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): allow(*ALL),
    ("GET", "/api/v1/me"): allow(*ALL),
    # administration
    ("POST", "/api/v1/organizations"): allow(Role.admin),
    ("PATCH", "/api/v1/organizations/{organization_id}"): allow(Role.admin),
    ("GET", "/api/v1/organizations"): allow(*ALL),
    ("POST", "/api/v1/organizations/{organization_id}/sites"): allow(Role.admin),
    ("GET", "/api/v1/organizations/{organization_id}/sites"): allow(*ALL),
    ("POST", "/api/v1/users"): allow(Role.admin),
    ("GET", "/api/v1/users"): allow(Role.admin),
    ("POST", "/api/v1/users/{user_id}/deactivate"): allow(Role.admin),
    ("POST", "/api/v1/devices/{device_id}/revoke"): allow(Role.admin),
    ("GET", "/api/v1/audit"): allow(Role.admin, Role.regulator),
    # custody
    ("POST", "/api/v1/containers"): allow(Role.hospital_staff, body=_containers_body),
    ("GET", "/api/v1/containers"): allow(*ALL),
    ("GET", "/api/v1/containers/{container_id}"): allow(*ALL, scoped="container"),
    ("GET", "/api/v1/containers/{container_id}/events"): allow(*ALL, scoped="container"),
    # every role scans (regulators: inspect only, admins: corrections) — the scan service
    # refuses other actions with 403/409, recorded as evidence
    ("POST", "/api/v1/scans"): allow(*ALL),
    # labels
    ("GET", "/api/v1/containers/{container_id}/label.png"): allow(*ALL, scoped="container"),
    ("GET", "/api/v1/containers/{container_id}/label.svg"): allow(*ALL, scoped="container"),
    ("GET", "/api/v1/labels/sheet.pdf"): allow(*ALL),
    # manifests (the manifest service also checks that the caller's organization is a party)
    ("POST", "/api/v1/manifests"): allow(*NOT_REGULATOR),
    ("GET", "/api/v1/manifests"): allow(*ALL),
    ("GET", "/api/v1/manifests/{manifest_id}"): allow(*ALL, scoped="manifest"),
    ("GET", "/api/v1/manifests/{manifest_id}.pdf"): allow(*ALL, scoped="manifest"),
    ("GET", "/api/v1/manifests/{manifest_id}/track"): allow(*ALL, scoped="manifest"),
    ("GET", "/api/v1/manifests/{manifest_id}/track.geojson"): allow(*ALL, scoped="manifest"),
    ("POST", "/api/v1/manifests/{manifest_id}/sign"): allow(*NOT_REGULATOR),
    # a printed copy checked by whoever holds it: only what the paper shows
    ("GET", "/api/v1/manifests/{manifest_id}/verification"): PUBLIC,
    ("GET", "/verify/manifests/{manifest_id}"): PUBLIC,
    # only the destination (storage or disposal) closes a trip, or an admin
    ("POST", "/api/v1/manifests/{manifest_id}/close"): allow(
        Role.storage_operator, Role.disposal_operator, Role.admin
    ),
    # anomalies: everyone reads their own organization's queue (regulators: jurisdiction);
    # only regulators of the jurisdiction and admins work it
    ("GET", "/api/v1/anomalies"): allow(*ALL),
    ("GET", "/api/v1/anomalies/{anomaly_id}"): allow(*ALL, scoped="anomaly"),
    ("POST", "/api/v1/anomalies/{anomaly_id}/acknowledge"): allow(Role.regulator, Role.admin),
    ("POST", "/api/v1/anomalies/{anomaly_id}/resolve"): allow(Role.regulator, Role.admin),
    ("POST", "/api/v1/anomalies/{anomaly_id}/dismiss"): allow(Role.regulator, Role.admin),
    ("GET", "/api/v1/webhooks"): allow(Role.admin),
    ("POST", "/api/v1/webhooks"): allow(Role.admin),
    ("POST", "/api/v1/webhooks/{webhook_id}/pause"): allow(Role.admin),
    ("POST", "/api/v1/webhooks/{webhook_id}/resume"): allow(Role.admin),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): allow(Role.admin),
    # reports: per organization, for the organization itself, its regulators and admins
    ("GET", "/api/v1/reports/compliance"): allow(*ALL),
    ("GET", "/api/v1/reports/region"): allow(*ALL),
    # the transparency log: public, hashes reveal no content
    ("GET", "/api/v1/log/checkpoint"): PUBLIC,
    ("GET", "/api/v1/log/checkpoints"): PUBLIC,
    ("GET", "/api/v1/log/key"): PUBLIC,
    ("GET", "/api/v1/log/keys"): PUBLIC,
    ("GET", "/api/v1/log/proof/inclusion"): PUBLIC,
    ("GET", "/api/v1/log/proof/consistency"): PUBLIC,
    ("GET", "/api/v1/log/tile/entries/{path}"): PUBLIC,
    ("GET", "/api/v1/log/tile/{level}/{path}"): PUBLIC,
    # evidence bundles: scoped like what they are of
    ("GET", "/api/v1/containers/{container_id}/evidence"): allow(*ALL, scoped="container"),
    ("GET", "/api/v1/manifests/{manifest_id}/evidence"): allow(*ALL, scoped="manifest"),
    # GS1 EPCIS: everyone queries what they may see; capture records scans of the caller
    # (regulators are read-only there: their inspections go through /api/v1/scans)
    ("GET", "/epcis/v2/events"): allow(*ALL),
    ("POST", "/epcis/v2/capture"): allow(*NOT_REGULATOR),
    ("GET", "/api/v1/containers/{container_id}/epcis"): allow(*ALL, scoped="container"),
    # phones
    ("GET", "/mobile/v1/resolve"): allow(*ALL),
    ("POST", "/mobile/v1/sync"): allow(*ALL),
    # An empty batch: who may send one at all (each point is then judged on its own trip).
    ("POST", "/mobile/v1/tracks"): allow(
        *NOT_REGULATOR, body=lambda w, r: {"device_id": "phone-1", "points": []}
    ),
}

PATH_PARAMS: dict[str, Callable[[World, Role], Any]] = {
    "container_id": lambda w, role: w.own_container[role],
    "manifest_id": lambda w, role: w.own_manifest[role],
    "anomaly_id": lambda w, role: w.own_anomaly[role],
    "organization_id": lambda w, role: w.orgs["hospital"].id,
    "user_id": lambda w, role: w.bystander.id,
    "device_id": lambda w, role: "matrix-phone-1",
}


def _app_routes() -> list[tuple[str, str]]:
    """Every (method, path template) the app serves: its OpenAPI operations plus the
    documentation routes, which are not in the description."""
    data_dir = Path(tempfile.mkdtemp(prefix="medwaste-matrix-"))
    app = create_app(Settings(data_dir=data_dir), engine=create_engine("sqlite://"))
    routes = [("GET", "/openapi.json"), ("GET", "/docs")]
    for path, operations in app.openapi()["paths"].items():
        routes.extend(
            (method.upper(), path)
            for method in operations
            if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}
        )
    return sorted(set(routes))


APP_ROUTES = _app_routes()


def test_every_route_has_a_rule() -> None:
    missing = [r for r in APP_ROUTES if r not in RULES]
    stale = [r for r in RULES if r not in APP_ROUTES]
    assert not missing, (
        "routes without an authorization rule; add them to RULES in tests/auth/test_matrix.py:\n"
        + "\n".join(f'    ("{m}", "{p}"): allow(Role....),' for m, p in missing)
    )
    assert not stale, f"RULES names routes the app no longer has: {stale}"


def _url(path: str, world: World, role: Role, overrides: dict[str, Any] | None = None) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if overrides and name in overrides:
            return str(overrides[name])
        make = PATH_PARAMS.get(name)
        return str(make(world, role) if make else uuid.uuid4())

    return re.sub(r"\{([^}/]+)\}", value, path)


def _send(client: TestClient, method: str, url: str, headers: dict[str, str], body: Any) -> int:
    if method in WRITE_METHODS:
        response = client.request(method, url, json=body, headers=headers)
    else:
        response = client.request(method, url, headers=headers)
    return response.status_code


@pytest.mark.parametrize(("method", "path"), APP_ROUTES, ids=[f"{m} {p}" for m, p in APP_ROUTES])
def test_route_authorization(
    method: str,
    path: str,
    client: TestClient,
    session: Session,
    settings: Settings,
    clock: FakeClock,
) -> None:
    rule = RULES.get((method, path))
    assert rule is not None, f"no authorization rule for {method} {path}: add it to RULES"
    world = build_world(client, session, settings, clock.now)
    failures: list[str] = []

    def body_for(role: Role) -> Any:
        return rule.body(world, role) if rule.body else {}

    # 1. no token
    status = _send(client, method, _url(path, world, Role.admin), {}, body_for(Role.admin))
    if rule.public and status == 401:
        failures.append("anonymous: public route answered 401")
    if not rule.public and status != 401:
        failures.append(f"anonymous: expected 401, got {status}")
    if rule.public:
        assert not failures, failures
        return

    for role in Role:
        # 2. each role on its own organization's object (or a neutral one)
        url = _url(path, world, role)
        status = _send(client, method, url, world.headers[role], body_for(role))
        if role in rule.roles:
            if status in (401, 403) or status >= 500:
                failures.append(f"{role} (allowed) -> {status} on {url}")
            elif rule.scoped and not 200 <= status < 300:
                failures.append(f"{role} reading its own {rule.scoped} -> {status}, expected 2xx")
        elif status != 403:
            failures.append(f"{role} (not allowed) -> {status}, expected 403")
        # 3. each role on jurisdiction B's object: not there for anyone but an admin
        if rule.scoped and role in rule.roles:
            other = world.other(rule.scoped)
            url = _url(path, world, role, {f"{rule.scoped}_id": other})
            status = _send(client, method, url, world.headers[role], body_for(role))
            expected = "2xx" if role is Role.admin else "404"
            if (role is Role.admin and not 200 <= status < 300) or (
                role is not Role.admin and status != 404
            ):
                failures.append(
                    f"{role} on another jurisdiction's {rule.scoped} -> {status}, expected {expected}"
                )
    assert not failures, f"{method} {path}:\n  " + "\n  ".join(failures)


def matrix_size() -> tuple[int, int, int]:
    """(routes, roles, cases) as the matrix runs them."""
    cases = 0
    for key in APP_ROUTES:
        rule = RULES.get(key)
        if rule is None:
            continue
        cases += 1
        if not rule.public:
            cases += len(Role) + (len(rule.roles) if rule.scoped else 0)
    return len(APP_ROUTES), len(Role), cases
