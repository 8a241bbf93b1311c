"""Searches in the filter language. POST, since filters can be large; they only read."""

from fastapi import APIRouter
from sqlmodel import Session

from registry.api.deps import ReadSessionDep
from registry.models import ArtifactCollection, Registry, Run
from registry.schemas import (
    CollectionPage,
    QueryRequest,
    RegistryPage,
    RunPage,
    VersionPage,
)
from registry.services.search import Search, search
from registry.views import (
    collections_public,
    registries_public,
    rows_by_id,
    runs_public,
    versions_public_by_id,
)

router = APIRouter(prefix="/query", tags=["query"])


def _search(target: str, body: QueryRequest, session: Session) -> tuple[list[int], str | None]:
    return search(session, Search(target=target, **body.model_dump()))


@router.post("/registries")
def query_registries(body: QueryRequest, session: ReadSessionDep) -> RegistryPage:
    ids, cursor = _search("registries", body, session)
    return RegistryPage(
        items=registries_public(rows_by_id(session, Registry, ids)), next_cursor=cursor
    )


@router.post("/collections")
def query_collections(body: QueryRequest, session: ReadSessionDep) -> CollectionPage:
    ids, cursor = _search("collections", body, session)
    rows = rows_by_id(session, ArtifactCollection, ids)
    return CollectionPage(items=collections_public(session, rows), next_cursor=cursor)


@router.post("/versions")
def query_versions(body: QueryRequest, session: ReadSessionDep) -> VersionPage:
    ids, cursor = _search("versions", body, session)
    return VersionPage(items=versions_public_by_id(session, ids), next_cursor=cursor)


@router.post("/runs")
def query_runs(body: QueryRequest, session: ReadSessionDep) -> RunPage:
    ids, cursor = _search("runs", body, session)
    return RunPage(items=runs_public(session, rows_by_id(session, Run, ids)), next_cursor=cursor)
