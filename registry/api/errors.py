"""One mapping from service errors to HTTP responses: `{"detail": message}`, and the
declaration of those responses in the OpenAPI document."""

import re
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException

from registry.errors import RegistryError
from registry.schemas import ErrorMessage, InvalidRequest

# What any API route may answer besides its success (registry/errors.py).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorMessage, "description": "Not found"},
    409: {"model": ErrorMessage, "description": "Conflicts with stored state"},
    413: {"model": ErrorMessage, "description": "Over a size limit (STRATA_MAX_*)"},
    422: {"model": InvalidRequest, "description": "Invalid input"},
    503: {"model": ErrorMessage, "description": "The database is busy; retry"},
}
# The same for a route whose own media type is not JSON (FastAPI would give a `model`
# the route's media type): by reference to the components the other routes declare.
ERROR_RESPONSES_BY_REFERENCE: dict[int | str, dict[str, Any]] = {
    status: {
        "description": response["description"],
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{response['model'].__name__}"}
            }
        },
    }
    for status, response in ERROR_RESPONSES.items()
}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RegistryError)
    async def _registry_error(_request: Request, exc: RegistryError) -> JSONResponse:
        return JSONResponse(
            status_code=exc.status_code, content={"detail": exc.message}, headers=exc.headers
        )

    @app.exception_handler(IntegrityError)
    async def _integrity_error(_request: Request, _exc: IntegrityError) -> JSONResponse:
        # Two requests created the same row at once; the loser may simply retry.
        return JSONResponse(
            status_code=409, content={"detail": "a concurrent change conflicted; retry"}
        )

    @app.exception_handler(DataError)
    async def _data_error(_request: Request, exc: DataError) -> JSONResponse:
        # A value the database cannot hold (PostgreSQL refuses NUL characters in text
        # and JSON, for one) is the request's fault, whatever the route.
        return JSONResponse(
            status_code=422, content={"detail": f"a value cannot be stored: {exc.orig}"}
        )

    @app.exception_handler(OperationalError)
    async def _operational_error(_request: Request, _exc: OperationalError) -> JSONResponse:
        return JSONResponse(
            status_code=503, content={"detail": "the database is busy or unavailable; retry"}
        )

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        # FastAPI reports a body its JSON decoder could not finish as "error parsing
        # the body"; say what was wrong when it was the nesting.
        if isinstance(exc.__cause__, RecursionError):
            return JSONResponse(
                status_code=422,
                content={"detail": "request body nests deeper than the JSON decoder allows"},
            )
        # Any other failure to read the body (it is not UTF-8, say) is the body's fault.
        if exc.status_code == 400 and exc.__cause__ is not None:
            return JSONResponse(
                status_code=422,
                content={"detail": f"request body is not valid UTF-8 JSON: {exc.__cause__}"},
            )
        if exc.status_code == 405:
            exc.headers = {"Allow": ", ".join(allowed_methods(request))}
        return await http_exception_handler(request, exc)


def allowed_methods(request: Request) -> list[str]:
    """The methods the OpenAPI document gives the request's path: those of its most
    specific templates (`/blobs/batch` before `/blobs/{digest}`). Starlette would name
    only those of the first route matching it, when they come from several routers."""
    paths = request.app.openapi()["paths"]
    matching = [t for t in paths if _template(t).fullmatch(request.url.path)]
    fewest = min((t.count("{") for t in matching), default=0)
    return sorted({m.upper() for t in matching if t.count("{") == fewest for m in paths[t]})


@lru_cache(maxsize=512)
def _template(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)))
