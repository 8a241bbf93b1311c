"""Searches in the filter language. POST, since filters can be large; they only read."""

from fastapi import APIRouter

from registry.api.deps import LimitsDep, ReadSessionDep
from registry.models import ArtifactCollection, Registry, Run
from registry.schemas import (
    CollectionPage,
    QueryRequest,
    RegistryPage,
    RunPage,
    VersionPage,
)
from registry.services.search import search
from registry.views import (
    collections_public,
    registries_public,
    rows_by_id,
    runs_public,
    versions_public_by_id,
)

router = APIRouter(prefix="/query", tags=["query"])


@router.post("/registries")
def query_registries(
    body: QueryRequest, session: ReadSessionDep, limits: LimitsDep
) -> RegistryPage:
    ids, cursor = search(session, "registries", body, limits)
    return RegistryPage(
        items=registries_public(rows_by_id(session, Registry, ids)), next_cursor=cursor
    )


@router.post("/collections")
def query_collections(
    body: QueryRequest, session: ReadSessionDep, limits: LimitsDep
) -> CollectionPage:
    ids, cursor = search(session, "collections", body, limits)
    rows = rows_by_id(session, ArtifactCollection, ids)
    return CollectionPage(items=collections_public(session, rows), next_cursor=cursor)


@router.post("/versions")
def query_versions(body: QueryRequest, session: ReadSessionDep, limits: LimitsDep) -> VersionPage:
    ids, cursor = search(session, "versions", body, limits)
    return VersionPage(items=versions_public_by_id(session, ids), next_cursor=cursor)


@router.post("/runs")
def query_runs(body: QueryRequest, session: ReadSessionDep, limits: LimitsDep) -> RunPage:
    ids, cursor = search(session, "runs", body, limits)
    return RunPage(items=runs_public(session, rows_by_id(session, Run, ids)), next_cursor=cursor)
