"""Signing in to the pages with an API key, when the service requires keys.

The key goes into a cookie that only page routes read (api/deps.py `_secret`):
HttpOnly (no script can read it), SameSite=Strict (no other site's page can make the
browser send it) and Secure when the page is served over https. The key is checked
here, so a mistyped one is refused at once rather than on the next page.
"""

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from registry.api.deps import KEY_COOKIE, ReadSessionDep
from registry.services import api_keys
from registry.web.rendering import PageRoute, check_same_origin, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
COOKIE_SECONDS = 12 * 3600
MAX_KEY_CHARS = 256


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html", next=_local(next), error=None)


@router.post("/login")
def login(
    request: Request,
    session: ReadSessionDep,
    key: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    check_same_origin(request)
    secret = key.strip()
    error = None
    if not request.app.state.settings.auth_enabled:
        error = "This service does not require keys (STRATA_AUTH is off): no need to sign in."
    elif not secret:
        error = "Paste an API key (strata_...) to sign in."
    elif len(secret) > MAX_KEY_CHARS or api_keys.authenticate(session, secret) is None:
        error = "That key is not valid: it is unknown, revoked or mistyped."
    if error:
        return render(request, "login.html", status_code=401, next=_local(next), error=error)
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(
        KEY_COOKIE,
        secret,
        max_age=COOKIE_SECONDS,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> RedirectResponse:
    check_same_origin(request)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(KEY_COOKIE, path="/", httponly=True, samesite="strict")
    return response


def _local(target: str) -> str:
    """Only a path of this service (never `//host` or `https://...`) after signing in."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
