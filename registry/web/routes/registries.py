"""Registries: their portfolios with the versions promoted in them, and their history."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from registry.api.deps import ReadSessionDep
from registry.services import registries
from registry.services.aliases import aliases_of_collections
from registry.services.collections import list_portfolios
from registry.services.history import registry_history
from registry.services.names import LATEST
from registry.views import collections_public, registries_public, versions_public_by_id
from registry.web.rendering import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
HISTORY = 50


@router.get("/registries", response_class=HTMLResponse)
def registries_page(request: Request, session: ReadSessionDep) -> HTMLResponse:
    return render(
        request,
        "registries.html",
        registries=registries_public(registries.list_registries(session)),
    )


@router.get("/registries/{registry}", response_class=HTMLResponse)
def registry_page(request: Request, registry: str, session: ReadSessionDep) -> HTMLResponse:
    row = registries.get_registry(session, registry)
    portfolios = list_portfolios(session, row)
    pairs = aliases_of_collections(session, [p.id for p in portfolios if p.id is not None])
    ids = sorted({vid for group in pairs.values() for _, vid in group})
    versions = {v.id: v for v in versions_public_by_id(session, ids)}
    promoted = {
        p.name: [(name, versions[vid]) for name, vid in pairs[p.id] if vid in versions]  # type: ignore[index]
        for p in portfolios
    }
    return render(
        request,
        "registry.html",
        registry=registries_public([row])[0],
        portfolios=collections_public(session, portfolios),
        promoted=promoted,
        latest=LATEST,
        history=registry_history(session, row, HISTORY),
    )
