"""The application: routers, error handlers, and what lives for the life of the process."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import CapacityLimiter
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import Engine
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from mobile_api.router import router as mobile_router
from schemas.common import example
from service.anomalies.profile import Profiles
from service.anomalies.router import router as anomalies_router
from service.anomalies.worker import BackgroundWorker
from service.audit.middleware import AuditMiddleware, engine_writer
from service.audit.router import router as audit_router
from service.auth.actors import ActorCache
from service.auth.router import router as auth_router
from service.config import Settings, get_settings
from service.custody.label_router import router as container_labels_router
from service.custody.router import router as custody_router
from service.db import is_sqlite, make_engine, session_scope, utcnow
from service.deps import Clock, engine_sessions
from service.epcis.router import router as epcis_router
from service.errors import install_handlers
from service.evidence.router import router as evidence_router
from service.http.body_limit import BodyLimitMiddleware
from service.http.openapi import install_openapi
from service.http.security_headers import SecurityHeadersMiddleware
from service.labels.keys import KeyRing, load_signer
from service.labels.router import router as labels_router
from service.leader import Leadership
from service.manifests.router import page_router as manifest_page_router
from service.manifests.router import router as manifests_router
from service.observability.middleware import RequestMiddleware
from service.observability.router import router as metrics_router
from service.organizations.directory import Directory
from service.organizations.router import router as organizations_router
from service.reports.region import keep_region_sums
from service.reports.router import router as reports_router
from service.reports.settled import SettledFigures
from service.scanning.router import router as scanning_router
from service.tlog.keys import load_log_signer
from service.tlog.router import router as log_router
from service.tlog.worker import CheckpointWorker
from service.tracks.router import router as tracks_router
from service.web.router import install_web

log = logging.getLogger(__name__)


class Health(BaseModel):
    model_config = example({"status": "ok", "database": "postgresql"})

    status: str
    database: str


def _keep_region_sums(
    engine: Engine, settled: SettledFigures, profiles: Profiles, clock: Clock
) -> None:
    try:
        keep_region_sums(engine, settled, profiles, clock)
    except Exception:  # the figures are then added up at the first request instead
        log.exception("adding up the region sums at start failed")


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, clock: Clock = utcnow
) -> FastAPI:
    """The service. ``clock`` is the time every request and the audit log go by (tests and
    the demo hand in their own)."""
    settings = settings or get_settings()
    # Which anomaly profile judges whom: every profile read and checked before the first request.
    profiles = Profiles.from_settings(settings)
    engine = engine or make_engine(settings.effective_database_url, pool_size=settings.db_pool_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with session_scope(engine, write=True) as session:
            app.state.signer = load_signer(session=session, settings=settings)
            app.state.log_signer = load_log_signer(session=session, settings=settings)
        # The background jobs run in one process at a time across every server.
        leadership = Leadership(engine)
        app.state.leadership = leadership
        if settings.sweep_interval_seconds > 0 or settings.log_checkpoint_seconds > 0:
            leadership.start()
        worker = BackgroundWorker(
            engine,
            interval_seconds=settings.sweep_interval_seconds,
            profiles=profiles,
            allow_private_addresses=settings.webhook_allow_private_addresses,
            leading=lambda: leadership.leading,
        )
        log_worker = CheckpointWorker(
            engine,
            app.state.log_signer,
            interval_seconds=settings.log_checkpoint_seconds,
            leading=lambda: leadership.leading,
        )
        worker.start()
        log_worker.start()
        if settings.sweep_interval_seconds > 0:
            # Every server process keeps its own sums; it adds them up while it serves.
            threading.Thread(
                target=_keep_region_sums,
                args=(engine, app.state.settled_figures, profiles, clock),
                name="kept-region-sums",
                daemon=True,
            ).start()
        # What the process holds once started (some 180,000 objects: the framework, the models,
        # the tables' metadata) lives as long as it does: kept out of the cyclic collector's
        # full passes, each of which would otherwise hold the GIL for a tenth of a second
        # while requests wait (the tail of the scan latency). Given back at the stop.
        gc.freeze()
        # See service.deps.in_write_transaction (a limiter belongs to the event loop that runs).
        app.state.scan_turns = CapacityLimiter(1 if is_sqlite(engine) else settings.scan_threads)
        yield
        app.state.scan_turns = None
        gc.unfreeze()
        worker.stop()
        log_worker.stop()
        leadership.stop()

    app = FastAPI(
        title="Medical waste chain of custody",
        version="0.1.0",
        summary="Signed QR labels, custody scans and an anomaly queue for regulators.",
        lifespan=lifespan,
        # /docs is served with its files from here (service/web/docs.py); no CDN page.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.key_ring = KeyRing()
    app.state.profiles = profiles
    # What the reports add up over containers whose course is over, kept between requests.
    app.state.settled_figures = SettledFigures()
    # Users, organizations and sites remembered between requests, per directory epoch.
    app.state.directory = Directory()
    app.state.actors = ActorCache()
    app.state.engine = engine
    # Each request's unit of work (a test hands in its own transaction).
    app.state.sessions = engine_sessions(engine)
    app.state.clock = clock
    # Where the audit log is written (a test writes into its own transaction instead).
    app.state.audit_writer = engine_writer(engine)
    install_handlers(app)
    install_openapi(app)
    app.add_middleware(AuditMiddleware)
    # An oversized body is refused before anything reads it.
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        max_batch_bytes=settings.max_batch_body_bytes,
    )
    # So that every answer carries them (413s included).
    app.add_middleware(SecurityHeadersMiddleware)
    # The one place the client's address is decided (login throttling, the audit log): the
    # direct peer, or what X-Forwarded-For says when that peer is a trusted proxy (the rightmost
    # address no trusted proxy holds). `medwaste serve` runs uvicorn without its own parsing.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))
    # Outermost: every answer is timed and carries the request's id.
    app.add_middleware(RequestMiddleware)

    @app.get("/health", response_model=Health, tags=["health"])
    def health() -> Health:
        """Whether the service runs and which database it uses (for load balancers and
        orchestrators; no token)."""
        return Health(status="ok", database=engine.dialect.name)

    for router in (
        auth_router,
        organizations_router,
        custody_router,
        scanning_router,
        labels_router,
        container_labels_router,
        manifests_router,
        manifest_page_router,
        tracks_router,
        mobile_router,
        audit_router,
        anomalies_router,
        reports_router,
        log_router,
        evidence_router,
        epcis_router,
        metrics_router,
    ):
        app.include_router(router)
    install_web(app, settings.web_dir)
    return app
