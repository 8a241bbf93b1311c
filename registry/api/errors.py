"""One mapping from service errors to HTTP responses: `{"detail": message}`."""

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException

from registry.errors import RegistryError


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
        return await http_exception_handler(request, exc)
