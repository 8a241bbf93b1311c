"""The front page, projects, and the search box."""

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from registry.api.deps import ReadSessionDep
from registry.errors import InvalidInput, RegistryError
from registry.limits import Limits
from registry.models import ArtifactCollection, Registry, Run
from registry.query.targets import TARGETS
from registry.schemas import ProjectPublic, QueryRequest
from registry.services import access, projects, registries, runs
from registry.services.automations import list_automations
from registry.services.search import search
from registry.views import (
    collections_public,
    registries_public,
    rows_by_id,
    runs_public,
    versions_public_by_id,
)
from registry.web.forms import query_request
from registry.web.rendering import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE = 50


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: ReadSessionDep) -> HTMLResponse:
    return render(
        request,
        "home.html",
        projects=[
            ProjectPublic.model_validate(p, from_attributes=True)
            for p in projects.list_projects(session)
        ],
        registries=registries_public(registries.list_registries(session)),
        automation_count=_automation_count(session),
    )


def _automation_count(session: Session) -> int | None:
    """Automations are for admin keys (they span every registry): others see no count."""
    principal = access.principal_of(session)
    if principal is not None and principal.role != "admin":
        return None
    return len(list_automations(session))


@router.get("/projects/{project}", response_class=HTMLResponse)
def project_page(
    request: Request, project: str, session: ReadSessionDep, cursor: str | None = None
) -> HTMLResponse:
    query = query_request(project=project, sort="name", limit=PAGE, cursor=cursor)
    ids, next_cursor = search(session, "collections", query, request.app.state.limits)
    collections = collections_public(session, rows_by_id(session, ArtifactCollection, ids))
    recent_runs = runs.list_runs(session, project, limit=10)
    return render(
        request,
        "project.html",
        project=project,
        collections=collections,
        next_cursor=next_cursor,
        runs=runs_public(session, recent_runs),
    )


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    session: ReadSessionDep,
    q: str = "",
    kind: str = "versions",
    scope: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    """Search in the filter language. A malformed filter is shown with its message."""
    form = {"q": q, "kind": kind, "scope": scope}
    items: list[Any] = []
    next_cursor = None
    error = None
    try:
        query = _query(q, kind, scope, cursor, request.app.state.limits)
        if query is not None:
            ids, next_cursor = search(session, kind, query, request.app.state.limits)
            items = _load(session, kind, ids)
    except RegistryError as exc:
        error = exc.message
    return render(
        request,
        "search.html",
        status_code=422 if error else 200,
        form=form,
        kinds=list(TARGETS),
        items=items,
        next_cursor=next_cursor,
        error=error,
    )


def _query(
    q: str, kind: str, scope: str, cursor: str | None, limits: Limits
) -> QueryRequest | None:
    if kind not in TARGETS:
        raise InvalidInput(f"search {', '.join(TARGETS)}, not {kind!r}")
    if not q.strip():
        return None
    if len(q) > limits.filter_bytes:
        raise InvalidInput(f"a filter has at most {limits.filter_bytes} characters")
    try:
        parsed = json.loads(q)
    except ValueError as exc:
        raise InvalidInput(f"the filter is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise InvalidInput('a filter is a JSON object, e.g. {"tag": "vision"}')
    project = registry = None
    if scope.startswith("@"):
        registry = scope[1:]
    elif scope:
        project = scope
    return query_request(
        filter=parsed, project=project, registry=registry, limit=PAGE, cursor=cursor or None
    )


def _load(session: ReadSessionDep, kind: str, ids: list[int]) -> list[Any]:
    if kind == "versions":
        return versions_public_by_id(session, ids)
    if kind == "collections":
        return collections_public(session, rows_by_id(session, ArtifactCollection, ids))
    if kind == "runs":
        return runs_public(session, rows_by_id(session, Run, ids))
    return registries_public(rows_by_id(session, Registry, ids))
