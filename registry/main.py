"""The FastAPI application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from registry.api.errors import install_error_handlers
from registry.api.routes import (
    artifacts,
    blobs,
    projects,
    queries,
    registries,
    resolve,
    runs,
)
from registry.db import make_engine, read_only
from registry.settings import Settings
from registry.storage.blob_store import BlobStore

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = make_engine(settings.resolved_database_url)
        app.state.read_engine = read_only(app.state.engine)
        app.state.blob_store = BlobStore.from_url(
            settings.resolved_storage_url, settings.storage_options
        )
        yield
        app.state.engine.dispose()

    app = FastAPI(title="Strata", version="0.1.0", lifespan=lifespan)
    install_error_handlers(app)
    for module in (blobs, artifacts, projects, registries, resolve, queries, runs):
        app.include_router(module.router, prefix=API_PREFIX)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
