"""Looking up versions: by `v<N>`, by alias, or by artifact digest."""

from functools import cache
from typing import Any

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from registry.db import MAX_INT64
from registry.errors import NotFound
from registry.models import Alias, ArtifactCollection, ArtifactVersion, Project, Registry
from registry.services import access
from registry.services.aliases import find_alias_target
from registry.services.collections import CollectionRef, find_collection
from registry.services.names import LATEST, VERSION_PATTERN
from sdk.digest import is_digest

COMMITTED = "COMMITTED"
DELETED = "DELETED"


def resolve_version(
    session: Session, ref: CollectionRef, selector: str | None, *, for_update: bool = False
) -> tuple[ArtifactCollection, ArtifactVersion]:
    collection_row = find_collection(session, ref, for_update=for_update)
    selector = selector or LATEST
    query = select(ArtifactVersion).where(
        ArtifactVersion.collection_id == collection_row.id, ArtifactVersion.state == COMMITTED
    )
    if match := VERSION_PATTERN.match(selector):
        index = int(match.group(1))
        # An index beyond any storable one matches nothing (and must not overflow).
        query = query.where(ArtifactVersion.index == min(index, MAX_INT64))
    elif is_digest(selector):
        query = query.where(ArtifactVersion.digest == selector)
    else:
        target = find_alias_target(session, collection_row.id, selector)  # type: ignore[arg-type]
        query = query.where(ArtifactVersion.id == target)
    version = session.exec(query).first()
    if version is None:
        raise NotFound(f"{ref}:{selector} does not exist")
    return collection_row, version


def find_version_id(session: Session, ref: CollectionRef, selector: str | None) -> int | None:
    """The committed version's id in one query (the read path's fast lookup); None when
    anything is missing, or for a registry whose visibility must be checked:
    `resolve_version` then says precisely what, or hides it."""
    if ref.registry is not None and access.visible_registries(session) is not None:
        return None
    selector = selector or LATEST
    value: int | str
    if match := VERSION_PATTERN.match(selector):
        kind, value = "index", min(int(match.group(1)), MAX_INT64)
    elif is_digest(selector):
        kind, value = "digest", selector
    else:
        kind, value = "alias", selector
    owner = ref.registry if ref.registry is not None else ref.project
    params = {"owner": owner, "collection": ref.name, "value": value}
    return session.execute(_lookup(ref.registry is not None, kind), params).scalar()


@cache
def _lookup(in_registry: bool, kind: str) -> Any:
    owner_table = Registry if in_registry else Project
    owner_key = ArtifactCollection.registry_id if in_registry else ArtifactCollection.project_id
    query = (
        select(ArtifactVersion.id)
        .join(ArtifactCollection, col(ArtifactCollection.id) == ArtifactVersion.collection_id)
        .join(owner_table, col(owner_table.id) == owner_key)
        .where(
            owner_table.name == bindparam("owner"),
            ArtifactCollection.name == bindparam("collection"),
            ArtifactVersion.state == COMMITTED,
        )
    )
    if kind == "alias":
        target = select(Alias.version_id).where(
            Alias.collection_id == ArtifactCollection.id, Alias.name == bindparam("value")
        )
        return query.where(ArtifactVersion.id == target.scalar_subquery())
    column = ArtifactVersion.index if kind == "index" else ArtifactVersion.digest
    return query.where(column == bindparam("value"))


def find_committed(
    session: Session,
    collection_id: int,
    *,
    digest: str | None = None,
    manifest_digest: str | None = None,
) -> ArtifactVersion | None:
    query = select(ArtifactVersion).where(
        ArtifactVersion.collection_id == collection_id, ArtifactVersion.state == COMMITTED
    )
    if digest is not None:
        query = query.where(ArtifactVersion.digest == digest)
    if manifest_digest is not None:
        query = query.where(ArtifactVersion.manifest_digest == manifest_digest)
    return session.exec(query.order_by(col(ArtifactVersion.index))).first()


def list_versions(
    session: Session, collection: ArtifactCollection, *, offset: int = 0, limit: int = 100
) -> list[ArtifactVersion]:
    query = (
        select(ArtifactVersion)
        .where(ArtifactVersion.collection_id == collection.id, ArtifactVersion.state == COMMITTED)
        .order_by(col(ArtifactVersion.index))
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(query))


def newest_committed(session: Session, collection_id: int) -> ArtifactVersion | None:
    query = (
        select(ArtifactVersion)
        .where(ArtifactVersion.collection_id == collection_id, ArtifactVersion.state == COMMITTED)
        .order_by(col(ArtifactVersion.index).desc())
    )
    return session.exec(query).first()
