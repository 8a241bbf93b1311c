"""Finding a collection by its owner: a project (`p/c`) or a registry (`@r/c`)."""

from dataclasses import dataclass

from sqlmodel import Session, select

from registry.db import insert_unless_present
from registry.errors import Conflict, NotFound
from registry.models import ArtifactCollection, Registry
from registry.services.names import check_name
from registry.services.projects import get_collection
from registry.services.registries import check_type_allowed, get_registry


@dataclass(frozen=True)
class CollectionRef:
    """Names a collection: `project` for a project's, `registry` for a portfolio."""

    name: str
    project: str | None = None
    registry: str | None = None

    def __str__(self) -> str:
        return f"@{self.registry}/{self.name}" if self.registry else f"{self.project}/{self.name}"


def find_collection(
    session: Session, ref: CollectionRef, *, for_update: bool = False
) -> ArtifactCollection:
    if ref.registry is None:
        assert ref.project is not None
        return get_collection(session, ref.project, ref.name, for_update=for_update)
    registry = get_registry(session, ref.registry)
    collection = _portfolio(session, registry, ref.name, for_update=for_update)
    if collection is None:
        raise NotFound(f"collection {ref} does not exist")
    return collection


def get_or_create_portfolio(
    session: Session, registry: Registry, name: str, type_: str
) -> ArtifactCollection:
    """The registry's collection `name`, locked; created on the first link into it."""
    check_name("collection", name)
    check_type_allowed(registry, type_)
    collection = _portfolio(session, registry, name, for_update=True)
    if collection is None:
        row = ArtifactCollection(registry_id=registry.id, name=name, type=type_)
        insert_unless_present(session, row)
        collection = _portfolio(session, registry, name, for_update=True)
        assert collection is not None
    if collection.type != type_:
        raise Conflict(
            f"collection @{registry.name}/{name} holds type {collection.type!r}, not {type_!r}"
        )
    return collection


def list_portfolios(session: Session, registry: Registry) -> list[ArtifactCollection]:
    query = select(ArtifactCollection).where(ArtifactCollection.registry_id == registry.id)
    return list(session.exec(query.order_by(ArtifactCollection.name)))


def _portfolio(
    session: Session, registry: Registry, name: str, *, for_update: bool
) -> ArtifactCollection | None:
    query = select(ArtifactCollection).where(
        ArtifactCollection.registry_id == registry.id,
        ArtifactCollection.name == check_name("collection", name),
    )
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()
