"""Artifact versions of a collection: commit, read, update, delete, files, aliases."""

from typing import Annotated

from fastapi import APIRouter, Query

from registry.api.deps import BlobStoreDep, SessionDep
from registry.db import MAX_INT64
from registry.errors import InvalidInput
from registry.schemas import (
    AliasTarget,
    CommitResult,
    FileEntry,
    FilePage,
    RunPublic,
    VersionCreate,
    VersionPublic,
    VersionUpdate,
)
from registry.services import aliases, artifact_versions, runs
from registry.services.manifests import committed_manifest
from registry.services.names import LATEST
from registry.services.projects import get_collection
from registry.services.versions import list_versions, resolve_version
from registry.views import runs_public, version_public, versions_public

router = APIRouter(prefix="/projects/{project}/collections/{collection}", tags=["artifacts"])


@router.post("/versions", status_code=201)
def commit_version(
    project: str, collection: str, body: VersionCreate, session: SessionDep, store: BlobStoreDep
) -> CommitResult:
    producer = runs.get_run(session, body.run.project, body.run.id) if body.run else None
    new = artifact_versions.NewVersion(
        project=project,
        collection=collection,
        type=body.type,
        manifest_digest=body.manifest_digest,
        description=body.description,
        metadata=body.metadata,
        aliases=body.aliases,
        tags=body.tags,
        producer=producer,
        ttl_seconds=body.ttl_seconds,
    )
    version, created = artifact_versions.commit_version(session, store, new)
    session.flush()
    return CommitResult(version=version_public(session, version), created=created)


@router.get("/versions")
def get_versions(
    project: str,
    collection: str,
    session: SessionDep,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[VersionPublic]:
    collection_row = get_collection(session, project, collection)
    return versions_public(
        session, list_versions(session, collection_row, offset=offset, limit=limit)
    )


@router.get("/versions/{selector}")
def get_version(project: str, collection: str, selector: str, session: SessionDep) -> VersionPublic:
    _, version = resolve_version(session, project, collection, selector)
    return version_public(session, version)


@router.patch("/versions/{selector}")
def update_version(
    project: str, collection: str, selector: str, body: VersionUpdate, session: SessionDep
) -> VersionPublic:
    collection_row, version = resolve_version(
        session, project, collection, selector, for_update=True
    )
    artifact_versions.update_version(
        session,
        collection_row,
        version,
        description=body.description,
        metadata=body.metadata,
        aliases=body.aliases,
        tags=body.tags,
    )
    session.flush()
    return version_public(session, version)


@router.delete("/versions/{selector}", status_code=204)
def delete_version(
    project: str, collection: str, selector: str, session: SessionDep, delete_aliases: bool = False
) -> None:
    collection_row, version = resolve_version(
        session, project, collection, selector, for_update=True
    )
    artifact_versions.delete_version(
        session, collection_row, version, delete_aliases=delete_aliases
    )


@router.get("/versions/{selector}/files")
def list_files(
    project: str,
    collection: str,
    selector: str,
    session: SessionDep,
    store: BlobStoreDep,
    prefix: str = "",
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> FilePage:
    """One page of the version's files in path order, optionally under `prefix`."""
    _, version = resolve_version(session, project, collection, selector)
    manifest = committed_manifest(store, version.manifest_digest)
    page, total = manifest.page(prefix, offset, limit)
    files = [
        FileEntry(path=p, digest=e.digest, size=e.size, ref=e.ref, extra=e.extra) for p, e in page
    ]
    more = offset + limit < total
    return FilePage(files=files, next_offset=offset + limit if more else None)


@router.get("/versions/{selector}/consumers")
def list_consumers(
    project: str, collection: str, selector: str, session: SessionDep
) -> list[RunPublic]:
    """Runs that used this version (lineage: run --uses--> version)."""
    _, version = resolve_version(session, project, collection, selector)
    return runs_public(session, runs.consumers_of(session, version))


@router.put("/aliases/{alias}")
def set_alias(
    project: str, collection: str, alias: str, body: AliasTarget, session: SessionDep
) -> VersionPublic:
    if alias == LATEST:
        raise InvalidInput("alias 'latest' is maintained automatically and cannot be set")
    collection_row, version = resolve_version(
        session, project, collection, body.version, for_update=True
    )
    aliases.set_alias(session, collection_row, alias, version)
    session.flush()
    return version_public(session, version)


@router.delete("/aliases/{alias}", status_code=204)
def remove_alias(project: str, collection: str, alias: str, session: SessionDep) -> None:
    collection_row = get_collection(session, project, collection, for_update=True)
    aliases.remove_alias(session, collection_row, alias)
