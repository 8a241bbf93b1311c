"""Rendering pages: the Jinja2 environment, its filters, and the page route class.

Pages are rendered on the server from the same service functions the REST API calls;
the browser only adds small conveniences (static/app.js). Every page response carries
`Server-Timing: app;dur=<ms>`, the time the service spent on it, so its cost can be
read in the browser's developer tools and checked by tests.
"""

import json
import time
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from registry.errors import RegistryError, Unauthorized
from registry.web import links

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"

_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")


def human_size(size: int | None) -> str:
    """1536 -> '1.5 KB' (powers of 1024, as file browsers show sizes)."""
    if size is None:
        return ""
    value = float(size)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def short_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["size"] = human_size
    env.filters["time"] = short_time
    env.filters["pretty_json"] = pretty_json
    env.globals["links"] = links
    return env


ENVIRONMENT = _environment()


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    page = ENVIRONMENT.get_template(template).render(
        request=request,
        auth_enabled=request.app.state.settings.auth_enabled,
        principal=getattr(request.state, "principal", None),
        **context,
    )
    return HTMLResponse(page, status_code=status_code)


def error_page(request: Request, error: RegistryError) -> HTMLResponse:
    """A service error as a page: the same status and message the API would give."""
    return render(request, "error.html", status_code=error.status_code, message=error.message)


class PageRoute(APIRoute):
    """A page: times itself into `Server-Timing`, and turns a service error (a missing
    project, a malformed name, a key whose role falls short) into an error page instead
    of JSON. Without a valid key, when the service requires one, it sends the browser
    to the sign-in form, which stores the key in a cookie that pages (only) accept."""

    signs_in_by_cookie = True

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def timed(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except Unauthorized:
                back = request.url.path if request.method == "GET" else "/"
                response = RedirectResponse(links.with_query("/login", next=back), 303)
            except RegistryError as error:
                response = error_page(request, error)
            elapsed_ms = (time.perf_counter() - started) * 1000
            response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.1f}"
            return response

        return timed


def same_origin(request: Request) -> bool:
    """Whether a form was posted by a page of this service. Browsers send
    `Sec-Fetch-Site` (and `Origin`) with every form POST; a page of another site must not
    move an alias through a visitor's browser (cross-site request forgery)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


class CrossSiteForm(RegistryError):
    status_code = 403


def check_same_origin(request: Request) -> None:
    if not same_origin(request):
        raise CrossSiteForm("this form was sent from another site; open the page here and retry")
