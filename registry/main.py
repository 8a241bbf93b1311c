"""The FastAPI application factory."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from sqlalchemy import Engine

from automations.delivery import DeliveryConfig
from automations.egress import EgressPolicy
from automations.scheduler import PeriodicJob, start_scheduler
from automations.secrets import SecretBox
from automations.worker import DeliveryWorker
from registry.api.access import route_roles
from registry.api.body_limit import LimitBodySize
from registry.api.deps import authorize
from registry.api.errors import ERROR_RESPONSES, install_error_handlers
from registry.api.routes import (
    api_keys,
    artifacts,
    automations,
    blobs,
    deliveries,
    direct,
    integrations,
    projects,
    queries,
    registries,
    resolve,
    runs,
)
from registry.api.traffic import BodyBytes, CountBodyBytes
from registry.db import make_engine, read_only
from registry.models import utcnow
from registry.services import expiry, gc
from registry.settings import Settings
from registry.storage.blob_store import BlobStore
from registry.web import install_web

API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.settings = settings
        app.state.engine = make_engine(settings.resolved_database_url)
        app.state.read_engine = read_only(app.state.engine)
        app.state.blob_store = make_blob_store(settings)
        app.state.secret_box = SecretBox(settings.resolved_secret_key())
        app.state.egress_policy = EgressPolicy.parse(settings.webhook_allowed_hosts)
        app.state.worker = scheduler = None
        if settings.serve_worker:
            app.state.worker = make_worker(settings, app.state.engine, app.state.secret_box)
            scheduler = start_scheduler(
                app.state.worker, settings.delivery_poll_seconds, periodic_jobs(settings)
            )
        yield
        if scheduler is not None:
            scheduler.shutdown(wait=False)
            app.state.worker.close()
        app.state.engine.dispose()

    # The documentation routes are declared below, as API routes, so that `authorize`
    # guards them like every other route.
    app = FastAPI(
        title="Strata",
        version="0.1.0",
        lifespan=lifespan,
        dependencies=[Depends(authorize)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.limits = settings.limits
    install_error_handlers(app)
    body_bytes = BodyBytes()
    app.add_middleware(CountBodyBytes, counter=body_bytes)
    app.add_middleware(LimitBodySize, limits=settings.limits)
    routers = (direct, blobs, artifacts, projects, registries, resolve, queries, runs)
    for module in (*routers, automations, integrations, deliveries, api_keys):
        app.include_router(module.router, prefix=API_PREFIX, responses=ERROR_RESPONSES)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", tags=["health"], response_class=PlainTextResponse)
    def metrics() -> Response:
        """Prometheus text format."""
        return Response(body_bytes.prometheus_text(), media_type=body_bytes.content_type)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Strata API")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title="Strata API")

    install_web(app)
    app.state.route_roles = route_roles(app)
    return app


def make_worker(settings: Settings, engine: Engine, box: SecretBox) -> DeliveryWorker:
    config = DeliveryConfig(
        retry_schedule=settings.delivery_retry_schedule,
        lease_seconds=settings.delivery_lease_seconds,
        timeout_seconds=settings.delivery_timeout_seconds,
    )
    policy = EgressPolicy.parse(settings.webhook_allowed_hosts)
    return DeliveryWorker(engine, config, box, policy, concurrency=settings.delivery_concurrency)


def make_blob_store(settings: Settings) -> BlobStore:
    return BlobStore.from_url(
        settings.resolved_storage_url,
        settings.storage_options,
        presign=settings.storage_presign,
        url_ttl_seconds=settings.storage_url_ttl_seconds,
        signing_key=settings.storage_signing_key,
    )


def gc_cutoffs(settings: Settings) -> gc.Cutoffs:
    """What garbage collection may delete now, by the grace period and URL lifetime."""
    return gc.Cutoffs.at(
        utcnow(),
        timedelta(seconds=settings.gc_grace_seconds),
        timedelta(seconds=settings.storage_url_ttl_seconds),
    )


def periodic_jobs(settings: Settings) -> list[PeriodicJob]:
    """Jobs that run once per tick across every `serve` and `worker` process."""

    def collect_garbage(engine: Engine) -> None:
        gc.run_collection(engine, make_blob_store(settings), gc_cutoffs(settings))

    return [
        PeriodicJob("expire-versions", expiry.EVERY, expiry.run_expiry),
        PeriodicJob("collect-garbage", gc.EVERY, collect_garbage),
    ]
