"""Artifact versions of a project collection: commit, plus the shared version routes."""

from fastapi import APIRouter

from registry.api.deps import BlobStoreDep, LimitsDep, SessionDep
from registry.api.routes.versions import version_routes
from registry.schemas import CommitResult, VersionCreate
from registry.services import artifact_versions, runs
from registry.services.collections import CollectionRef
from registry.views import version_public


async def project_collection(project: str, collection: str) -> CollectionRef:
    return CollectionRef(name=collection, project=project)


router = APIRouter(prefix="/projects/{project}/collections/{collection}", tags=["artifacts"])


@router.post("/versions", status_code=201)
def commit_version(
    project: str,
    collection: str,
    body: VersionCreate,
    session: SessionDep,
    store: BlobStoreDep,
    limits: LimitsDep,
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
    version, created = artifact_versions.commit_version(session, store, new, limits)
    session.flush()
    return CommitResult(version=version_public(session, version), created=created)


router.include_router(version_routes(project_collection))
