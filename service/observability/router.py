"""``GET /metrics``: the Prometheus text format, for a scraper the settings allow.

The figures tell how busy each organization's routes are, so the route is not public: a
scraper presents ``MEDWASTE_METRICS_TOKEN`` as a bearer token, or calls from one of
``MEDWASTE_METRICS_NETWORKS`` (loopback by default). Anyone else gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Engine

from service.anomalies.webhooks import pending_counts
from service.config import Settings
from service.deps import ReadSessionDep, SettingsDep, get_engine
from service.errors import Forbidden
from service.observability.metrics import (
    CONTENT_TYPE,
    BacklogCollector,
    PoolCollector,
    exposition,
)

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, include_in_schema=False)
def metrics(
    request: Request,
    settings: SettingsDep,
    session: ReadSessionDep,
    engine: Engine = Depends(get_engine),
) -> Response:
    if not may_scrape(request, settings):
        raise Forbidden("metrics are for the configured scraper (token or network) only")
    text = exposition(
        [
            PoolCollector(engine),
            BacklogCollector(lambda: sum(pending_counts(session).values())),
        ]
    )
    return Response(text, media_type=CONTENT_TYPE)


def may_scrape(request: Request, settings: Settings) -> bool:
    token = settings.metrics_token
    if token is not None:
        scheme, _, offered = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(
            offered.strip().encode(), token.get_secret_value().encode()
        ):
            return True
    if request.client is None:
        return False
    try:
        address = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(address in network for network in settings.metrics_networks)
