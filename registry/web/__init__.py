"""The web UI: server-rendered pages at `/` over the same service functions as the REST
API, with local static assets (no CDN, no build step)."""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from registry.web.rendering import STATIC_DIR
from registry.web.routes import artifacts, automations, home, registries, runs, signin


def install_web(app: FastAPI) -> None:
    for module in (home, signin, artifacts, registries, runs, automations):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
