"""Projects and artifact collections."""

from sqlmodel import Session, col, select

from registry.db import insert_unless_present
from registry.errors import Conflict, NotFound
from registry.models import ArtifactCollection, Project
from registry.services.names import check_name, check_type


def get_project(session: Session, name: str) -> Project:
    project = session.exec(
        select(Project).where(Project.name == check_name("project", name))
    ).first()
    if project is None:
        raise NotFound(f"project {name!r} does not exist")
    return project


def get_or_create_project(session: Session, name: str) -> Project:
    check_name("project", name)
    query = select(Project).where(Project.name == name)
    project = session.exec(query).first()
    if project is None:
        insert_unless_present(session, Project(name=name))
        project = session.exec(query).one()
    return project


def get_collection(
    session: Session, project: str, name: str, *, for_update: bool = False
) -> ArtifactCollection:
    project_row = get_project(session, project)
    query = select(ArtifactCollection).where(
        ArtifactCollection.project_id == project_row.id,
        ArtifactCollection.name == check_name("collection", name),
    )
    if for_update:
        query = query.with_for_update()
    collection = session.exec(query).first()
    if collection is None:
        raise NotFound(f"artifact collection {project}/{name} does not exist")
    return collection


def get_or_create_collection(
    session: Session, project: str, name: str, type_: str
) -> ArtifactCollection:
    """The collection row, locked for this transaction so version numbers stay gap-free."""
    check_name("collection", name)
    check_type(type_)
    project_row = get_or_create_project(session, project)
    query = (
        select(ArtifactCollection)
        .where(ArtifactCollection.project_id == project_row.id, ArtifactCollection.name == name)
        .with_for_update()
    )
    collection = session.exec(query).first()
    if collection is None:
        row = ArtifactCollection(project_id=project_row.id, name=name, type=type_)
        insert_unless_present(session, row)
        collection = session.exec(query).one()
    if collection.type != type_:
        raise Conflict(
            f"artifact collection {project}/{name} holds type {collection.type!r}, not {type_!r}"
        )
    return collection


def list_collections(
    session: Session, project: str, type_: str | None = None
) -> list[ArtifactCollection]:
    project_row = get_project(session, project)
    query = select(ArtifactCollection).where(
        ArtifactCollection.project_id == project_row.id,
        col(ArtifactCollection.deleted_at).is_(None),
    )
    if type_ is not None:
        query = query.where(ArtifactCollection.type == type_)
    return list(session.exec(query.order_by(ArtifactCollection.name)))


def list_types(session: Session, project: str) -> list[str]:
    project_row = get_project(session, project)
    query = (
        select(ArtifactCollection.type)
        .where(
            ArtifactCollection.project_id == project_row.id,
            col(ArtifactCollection.deleted_at).is_(None),
        )
        .distinct()
        .order_by(ArtifactCollection.type)
    )
    return list(session.exec(query))


def list_projects(session: Session) -> list[Project]:
    return list(session.exec(select(Project).order_by(Project.name)))
