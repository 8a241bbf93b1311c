"""Collections and versions, of projects and of registry portfolios alike: the version
list, a version with its files, runs and lineage, and moving an alias (with a
confirmation step)."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session

from registry.api.deps import BlobStoreDep, ReadSessionDep, SessionDep
from registry.api.routes.artifacts import project_collection
from registry.api.routes.registries import registry_collection
from registry.errors import InvalidInput, RegistryError
from registry.models import ArtifactCollection, ArtifactVersion
from registry.services import access, aliases, runs
from registry.services.collections import CollectionRef, find_collection
from registry.services.lineage import source_of
from registry.services.manifests import committed_manifest
from registry.services.names import LATEST, check_alias
from registry.services.registries import get_registry
from registry.services.search import search
from registry.services.versions import resolve_version
from registry.views import (
    collections_public,
    runs_public,
    versions_public,
    versions_public_by_id,
)
from registry.web import links
from registry.web.forms import parse_offset, query_request
from registry.web.lineage_page import lineage_response
from registry.web.rendering import PageRoute, check_same_origin, render

VERSIONS_PAGE = 50
FILES_PAGE = 100


def collection_pages(collection_ref: Callable[..., Awaitable[CollectionRef]]) -> APIRouter:
    router = APIRouter(route_class=PageRoute, include_in_schema=False)
    Ref = Annotated[CollectionRef, Depends(collection_ref)]

    @router.get("", response_class=HTMLResponse)
    def collection_page(
        request: Request,
        ref: Ref,
        session: ReadSessionDep,
        cursor: str | None = None,
        moved: str | None = None,
    ) -> HTMLResponse:
        return _collection_page(request, session, ref, cursor=cursor, moved=moved)

    @router.post("/aliases", response_class=HTMLResponse)
    def preview_alias_move(
        request: Request,
        ref: Ref,
        session: ReadSessionDep,
        alias: Annotated[str, Form()] = "",
        version: Annotated[str, Form()] = "",
    ) -> HTMLResponse:
        """First step of moving an alias: check it, and ask to confirm the move."""
        check_same_origin(request)
        form = {"alias": alias.strip(), "version": version.strip()}
        try:
            _, target, previous = _alias_move(session, ref, form["alias"], form["version"])
        except RegistryError as exc:
            return _collection_page(request, session, ref, form=form, error=exc.message)
        return render(
            request,
            "confirm_alias.html",
            ref=ref,
            collection_url=links.collection_url(ref),
            alias=form["alias"],
            target=versions_public(session, [target])[0],
            previous=versions_public(session, [previous])[0] if previous else None,
            protected=_protected(session, ref, form["alias"]),
        )

    @router.post("/aliases/confirm")
    def move_alias(
        request: Request,
        ref: Ref,
        session: SessionDep,
        alias: Annotated[str, Form()] = "",
        version: Annotated[str, Form()] = "",
    ) -> RedirectResponse:
        """The confirmed move, in one writing transaction (it publishes `alias.added`)."""
        check_same_origin(request)
        collection, target, _ = _alias_move(session, ref, alias.strip(), version.strip(), lock=True)
        aliases.set_alias(session, collection, alias.strip(), target)
        moved = links.with_query(links.collection_url(ref), moved=alias.strip())
        return RedirectResponse(moved, status_code=303)

    @router.get("/versions/{selector}", response_class=HTMLResponse)
    def version_page(
        request: Request,
        ref: Ref,
        selector: str,
        session: ReadSessionDep,
        store: BlobStoreDep,
        prefix: str = "",
        offset: str = "0",
    ) -> HTMLResponse:
        _, row = resolve_version(session, ref, selector)
        version = versions_public(session, [row])[0]
        first = parse_offset(offset)
        files, total = committed_manifest(store, row.manifest_digest).page(
            prefix, first, FILES_PAGE
        )
        source = source_of(session, row)
        return render(
            request,
            "version.html",
            ref=ref,
            version=version,
            files=files,
            files_total=total,
            files_offset=first,
            files_page=FILES_PAGE,
            prefix=prefix,
            consumers=runs_public(session, runs.consumers_of(session, source)),
            collection_url=links.collection_url(ref),
        )

    @router.get("/versions/{selector}/lineage", response_class=HTMLResponse)
    def version_lineage_page(
        request: Request,
        ref: Ref,
        selector: str,
        session: ReadSessionDep,
        direction: str = "both",
        depth: str = "2",
    ) -> HTMLResponse:
        _, row = resolve_version(session, ref, selector)
        version = versions_public(session, [row])[0]
        root = ("version", source_of(session, row).id)
        return lineage_response(
            request,
            session,
            root,  # type: ignore[arg-type]
            title=version.qualified_name,
            back_url=links.version_url(version),
            direction=direction,
            depth=depth,
        )

    return router


def _collection_page(
    request: Request,
    session: Session,
    ref: CollectionRef,
    *,
    cursor: str | None = None,
    moved: str | None = None,
    form: dict[str, str] | None = None,
    error: str | None = None,
) -> HTMLResponse:
    row = find_collection(session, ref)
    query = query_request(
        project=ref.project,
        registry=ref.registry,
        collection=ref.name,
        sort="version",
        order="desc",
        limit=VERSIONS_PAGE,
        cursor=cursor,
    )
    ids, next_cursor = search(session, "versions", query, request.app.state.limits)
    assert row.id is not None
    pairs = aliases.aliases_of_collections(session, [row.id]).get(row.id, [])
    targets = {v.id: v for v in versions_public_by_id(session, [vid for _, vid in pairs])}
    protected = get_registry(session, ref.registry).protected_aliases if ref.registry else []
    return render(
        request,
        "collection.html",
        status_code=422 if error else 200,
        ref=ref,
        collection=collections_public(session, [row])[0],
        versions=versions_public_by_id(session, ids),
        next_cursor=next_cursor,
        aliases=[(name, targets[vid]) for name, vid in pairs if vid in targets],
        protected=protected,
        moved=moved,
        form=form or {"alias": "", "version": ""},
        error=error,
    )


def _alias_move(
    session: Session, ref: CollectionRef, alias: str, version: str, *, lock: bool = False
) -> tuple[ArtifactCollection, ArtifactVersion, ArtifactVersion | None]:
    """The collection, the version the alias would reach, and the one it would leave."""
    if not alias:
        raise InvalidInput("name the alias to move, e.g. production")
    if not version:
        raise InvalidInput("name the version the alias should point at, e.g. v3")
    check_alias(alias)
    if alias == LATEST:
        raise InvalidInput("alias 'latest' is maintained automatically and cannot be moved")
    collection, target = resolve_version(session, ref, version, for_update=lock)
    # Said before the confirmation step, not after it: a protected alias needs a
    # registry admin, anything else in a registry a member.
    access.check_portfolio_change(session, collection, alias)
    previous_id = aliases.find_alias_target(session, collection.id, alias)  # type: ignore[arg-type]
    if previous_id == target.id:
        raise InvalidInput(f"{alias} already points at v{target.index}")
    previous = session.get(ArtifactVersion, previous_id) if previous_id is not None else None
    return collection, target, previous


def _protected(session: Session, ref: CollectionRef, alias: str) -> bool:
    return (
        ref.registry is not None and alias in get_registry(session, ref.registry).protected_aliases
    )


router = APIRouter()
router.include_router(
    collection_pages(project_collection), prefix="/projects/{project}/collections/{collection}"
)
router.include_router(
    collection_pages(registry_collection), prefix="/registries/{registry}/collections/{collection}"
)
