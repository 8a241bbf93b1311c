"""Projects, their artifact collections and artifact types."""

from fastapi import APIRouter

from registry.api.deps import ReadSessionDep, SessionDep
from registry.schemas import CollectionPublic, CollectionUpdate, ProjectPublic, StorageUsage
from registry.services import collection_deletion, projects
from registry.services.names import check_tags
from registry.services.usage import project_usage
from registry.views import collections_public

router = APIRouter(prefix="/projects", tags=["projects"])


@router.get("")
def list_projects(session: ReadSessionDep) -> list[ProjectPublic]:
    return [
        ProjectPublic.model_validate(p, from_attributes=True)
        for p in projects.list_projects(session)
    ]


@router.get("/{project}")
def get_project(project: str, session: ReadSessionDep) -> ProjectPublic:
    return ProjectPublic.model_validate(
        projects.get_project(session, project), from_attributes=True
    )


@router.get("/{project}/usage")
def get_usage(project: str, session: ReadSessionDep) -> StorageUsage:
    """Bytes the project's versions hold in the blob store (shared blobs count once)."""
    usage = project_usage(session, project)
    return StorageUsage(project=project, **vars(usage))


@router.get("/{project}/types")
def list_types(project: str, session: ReadSessionDep) -> list[str]:
    return projects.list_types(session, project)


@router.get("/{project}/collections")
def list_collections(
    project: str, session: ReadSessionDep, type: str | None = None
) -> list[CollectionPublic]:
    return collections_public(session, projects.list_collections(session, project, type))


@router.get("/{project}/collections/{collection}")
def get_collection(project: str, collection: str, session: ReadSessionDep) -> CollectionPublic:
    return collections_public(session, [projects.get_collection(session, project, collection)])[0]


@router.patch("/{project}/collections/{collection}")
def update_collection(
    project: str, collection: str, body: CollectionUpdate, session: SessionDep
) -> CollectionPublic:
    row = projects.get_collection(session, project, collection, for_update=True)
    if body.description is not None:
        row.description = body.description
    if body.tags is not None:
        row.tags = check_tags(body.tags)
    session.add(row)
    session.flush()
    return collections_public(session, [row])[0]


@router.delete("/{project}/collections/{collection}", status_code=204)
def delete_collection(project: str, collection: str, session: SessionDep) -> None:
    """Delete the collection and its versions at once; garbage collection frees their
    bytes after the grace period, and the name may be used again right away."""
    row = projects.get_collection(session, project, collection, for_update=True)
    collection_deletion.delete_project_collection(session, row)
