"""One mapping from service errors to HTTP responses: `{"detail": message}`."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from registry.errors import RegistryError


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RegistryError)
    async def _registry_error(_request: Request, exc: RegistryError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.message})
