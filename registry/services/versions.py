"""Looking up versions: by `v<N>`, by alias, or by artifact digest."""

from sqlmodel import Session, col, select

from registry.db import MAX_INT64
from registry.errors import NotFound
from registry.models import ArtifactCollection, ArtifactVersion
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
