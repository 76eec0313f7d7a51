"""The application: routers, error handlers, and what lives for the life of the process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import Engine

from mobile_api.router import router as mobile_router
from service.auth.router import router as auth_router
from service.config import Settings, get_settings
from service.custody.router import router as custody_router
from service.db import make_engine, session_scope
from service.errors import install_handlers
from service.labels.keys import load_signer
from service.labels.router import router as labels_router
from service.organizations.router import router as organizations_router


class Health(BaseModel):
    status: str
    database: str


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.effective_database_url, pool_size=settings.db_pool_size)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with session_scope(engine, write=True) as session:
            app.state.signer = load_signer(session=session, settings=settings)
        yield

    app = FastAPI(
        title="Medical waste chain of custody",
        version="0.1.0",
        summary="Signed QR labels, custody scans and an anomaly queue for regulators.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    install_handlers(app)

    @app.get("/health", response_model=Health, tags=["health"])
    def health() -> Health:
        return Health(status="ok", database=engine.dialect.name)

    for router in (
        auth_router,
        organizations_router,
        custody_router,
        labels_router,
        mobile_router,
    ):
        app.include_router(router)
    return app
