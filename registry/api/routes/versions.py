"""Routes on the versions of one collection, shared by project collections
(`/projects/{project}/collections/{collection}`) and registry portfolios
(`/registries/{registry}/collections/{collection}`): read, update, delete or
unlink, files, consumers, aliases and lineage."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from registry.api.deps import BlobStoreDep, LimitsDep, ReadSessionDep, SessionDep
from registry.api.responses import json_response
from registry.db import MAX_INT64
from registry.errors import InvalidInput
from registry.schemas import (
    AliasMovePublic,
    AliasTarget,
    FileEntry,
    FilePage,
    LineagePublic,
    RunPublic,
    VersionPublic,
    VersionUpdate,
)
from registry.services import aliases, artifact_versions, runs
from registry.services.collections import CollectionRef, find_collection
from registry.services.lineage import Direction, lineage, source_of
from registry.services.manifests import committed_manifest
from registry.services.names import LATEST
from registry.services.versions import list_versions, resolve_version
from registry.views import (
    get_version_public,
    lineage_public,
    runs_public,
    version_public,
    versions_public,
)


def version_routes(collection_ref: Callable[..., Awaitable[CollectionRef]]) -> APIRouter:
    """The routes, with `collection_ref` turning the path parameters into a CollectionRef.
    It is async (it does no I/O): a sync dependency would cost a thread hop per request."""
    router = APIRouter()
    Ref = Annotated[CollectionRef, Depends(collection_ref)]

    @router.get("/versions")
    def get_versions(
        ref: Ref,
        session: ReadSessionDep,
        offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[VersionPublic]:
        collection_row = find_collection(session, ref)
        return versions_public(
            session, list_versions(session, collection_row, offset=offset, limit=limit)
        )

    @router.get("/versions/{selector}", response_model=VersionPublic)
    def get_version(ref: Ref, selector: str, session: ReadSessionDep) -> Response:
        return json_response(get_version_public(session, ref, selector))

    @router.patch("/versions/{selector}")
    def update_version(
        ref: Ref, selector: str, body: VersionUpdate, session: SessionDep, limits: LimitsDep
    ) -> VersionPublic:
        collection_row, version = resolve_version(session, ref, selector, for_update=True)
        artifact_versions.update_version(
            session,
            collection_row,
            version,
            limits,
            description=body.description,
            metadata=body.metadata,
            aliases=body.aliases,
            tags=body.tags,
        )
        session.flush()
        return version_public(session, version)

    @router.delete("/versions/{selector}", status_code=204)
    def delete_version(
        ref: Ref, selector: str, session: SessionDep, delete_aliases: bool = False
    ) -> None:
        """Delete a project version, or unlink a portfolio's (its aliases go with it)."""
        collection_row, version = resolve_version(session, ref, selector, for_update=True)
        artifact_versions.delete_version(
            session,
            collection_row,
            version,
            delete_aliases=delete_aliases or ref.registry is not None,
        )

    @router.get("/versions/{selector}/files")
    def list_files(
        ref: Ref,
        selector: str,
        session: ReadSessionDep,
        store: BlobStoreDep,
        prefix: str = "",
        offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    ) -> FilePage:
        """One page of the version's files in path order, optionally under `prefix`."""
        _, version = resolve_version(session, ref, selector)
        manifest = committed_manifest(store, version.manifest_digest)
        page, total = manifest.page(prefix, offset, limit)
        files = [
            FileEntry(path=p, digest=e.digest, size=e.size, ref=e.ref, extra=e.extra)
            for p, e in page
        ]
        more = offset + limit < total
        return FilePage(files=files, next_offset=offset + limit if more else None)

    @router.get("/versions/{selector}/consumers")
    def list_consumers(ref: Ref, selector: str, session: ReadSessionDep) -> list[RunPublic]:
        """Runs that used this version (lineage: run --uses--> version)."""
        _, version = resolve_version(session, ref, selector)
        return runs_public(session, runs.consumers_of(session, source_of(session, version)))

    @router.get("/versions/{selector}/lineage")
    def version_lineage(
        ref: Ref,
        selector: str,
        session: ReadSessionDep,
        direction: Direction = "both",
        depth: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    ) -> LineagePublic:
        """Runs and versions up and/or downstream of this version, `depth` edges away
        at most (all of them without `depth`)."""
        _, version = resolve_version(session, ref, selector)
        root = ("version", source_of(session, version).id)
        return lineage_public(session, root, lineage(session, root, direction, depth))  # type: ignore[arg-type]

    @router.put("/aliases/{alias}")
    def set_alias(ref: Ref, alias: str, body: AliasTarget, session: SessionDep) -> VersionPublic:
        if alias == LATEST:
            raise InvalidInput("alias 'latest' is maintained automatically and cannot be set")
        collection_row, version = resolve_version(session, ref, body.version, for_update=True)
        aliases.set_alias(session, collection_row, alias, version)
        session.flush()
        return version_public(session, version)

    @router.get("/alias-history")
    def alias_history(
        ref: Ref,
        session: ReadSessionDep,
        alias: str | None = None,
        before: Annotated[int | None, Query(ge=1, le=MAX_INT64)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[AliasMovePublic]:
        """Who set, moved or removed which alias, newest first (`latest` aside: it
        follows the newest version by itself). `before` pages on from a move's id."""
        collection_row = find_collection(session, ref)
        moves = aliases.alias_moves(
            session, collection_row, alias=alias, before=before, limit=limit
        )
        return [AliasMovePublic.model_validate(m, from_attributes=True) for m in moves]

    @router.delete("/aliases/{alias}", status_code=204)
    def remove_alias(ref: Ref, alias: str, session: SessionDep) -> None:
        collection_row = find_collection(session, ref, for_update=True)
        aliases.remove_alias(session, collection_row, alias)

    return router
