"""Storage usage of a project: the bytes its versions hold in the blob store."""

from dataclasses import dataclass

from sqlalchemy import Select, func
from sqlmodel import Session, col, select

from registry.models import ArtifactCollection, ArtifactVersion, Blob, ManifestBlob
from registry.services.projects import get_project
from registry.services.versions import COMMITTED


@dataclass(frozen=True)
class Usage:
    versions: int  # committed versions
    blobs: int  # distinct blobs stored for the project's versions (manifests included)
    bytes: int  # their size: a blob several versions share counts once
    # Of `bytes`, what only deleted versions hold: freed by the next garbage collection
    # once their deletion is older than the grace period.
    reclaimable_bytes: int


def project_usage(session: Session, project: str) -> Usage:
    project_id = get_project(session, project).id
    manifests = select(ArtifactVersion.manifest_digest).join(
        ArtifactCollection, col(ArtifactCollection.id) == ArtifactVersion.collection_id
    )
    manifests = manifests.where(ArtifactCollection.project_id == project_id)
    committed = manifests.where(ArtifactVersion.state == COMMITTED)
    versions = session.exec(select(func.count()).select_from(committed.subquery())).one()
    stored_blobs, stored_bytes = _blobs_of(session, manifests)
    _, committed_bytes = _blobs_of(session, committed)
    return Usage(int(versions), stored_blobs, stored_bytes, stored_bytes - committed_bytes)


def _blobs_of(session: Session, manifests: Select) -> tuple[int, int]:
    listed = (
        select(ManifestBlob.blob_digest)
        .where(col(ManifestBlob.manifest_digest).in_(manifests))
        .distinct()
        .subquery()
    )
    count, size = session.exec(
        select(func.count(), func.coalesce(func.sum(Blob.size), 0)).join(
            listed, listed.c.blob_digest == Blob.digest
        )
    ).one()
    return int(count), int(size)
