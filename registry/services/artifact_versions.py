"""Committing, updating and deleting artifact versions.

A commit is one transaction: the collection row is locked, the version gets the next
gap-free index, and `latest`, the requested aliases, tags and the producing run's
lineage edge are written with it. Content equal to a committed version of the
collection creates nothing: that version is returned with the aliases and tags added.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from registry.errors import Conflict, InvalidInput
from registry.limits import Limits, check_metadata
from registry.models import ArtifactCollection, ArtifactVersion, Run, VersionTag, utcnow
from registry.services import access, events
from registry.services.aliases import (
    aliases_by_version,
    remove_alias,
    remove_aliases_of,
    set_alias,
)
from registry.services.manifests import load_manifest
from registry.services.names import LATEST, check_alias, check_tags
from registry.services.projects import get_or_create_collection
from registry.services.versions import COMMITTED, DELETED, find_committed, newest_committed
from registry.storage.blob_store import BlobStore


@dataclass
class NewVersion:
    project: str
    collection: str
    type: str
    manifest_digest: str
    description: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    producer: Run | None = None
    ttl_seconds: int | None = None


def commit_version(
    session: Session, store: BlobStore, new: NewVersion, limits: Limits
) -> tuple[ArtifactVersion, bool]:
    """Returns the version and whether it was created (False: equal content existed)."""
    aliases = requested_aliases(new.aliases)
    tags = check_tags(new.tags)
    metadata = check_metadata(new.metadata, limits)
    collection = get_or_create_collection(session, new.project, new.collection, new.type)

    existing = find_committed(session, collection.id, manifest_digest=new.manifest_digest)  # type: ignore[arg-type]
    if existing is None:
        manifest = load_manifest(session, store, new.manifest_digest, limits)
        digest = manifest.digest()
        existing = find_committed(session, collection.id, digest=digest)  # type: ignore[arg-type]
    if existing is not None:
        add_aliases_and_tags(session, collection, existing, aliases, tags)
        return existing, False

    version = ArtifactVersion(
        collection_id=collection.id,  # type: ignore[arg-type]
        index=collection.next_index,
        digest=digest,
        manifest_digest=new.manifest_digest,
        size=manifest.size,
        file_count=len(manifest),
        description=new.description,
        metadata_=metadata,
        ttl_seconds=new.ttl_seconds,
        producer_run_id=new.producer.id if new.producer else None,
    )
    collection.next_index += 1
    collection.updated_at = utcnow()
    session.add_all([collection, version])
    session.flush()
    events.artifact_created(session, collection, version)
    add_aliases_and_tags(session, collection, version, [LATEST, *aliases], tags)
    return version, True


def update_version(
    session: Session,
    collection: ArtifactCollection,
    version: ArtifactVersion,
    limits: Limits,
    *,
    description: str | None = None,
    metadata: dict[str, Any] | None = None,
    aliases: list[str] | None = None,
    tags: list[str] | None = None,
) -> None:
    """Replace the given fields; `aliases` and `tags` are the complete new sets.

    Description and metadata belong to a project version: its links follow it, and
    a link refuses changes to them."""
    access.check_portfolio_change(session, collection)
    if description is not None or metadata is not None:
        description = version.description if description is None else description
        metadata = version.metadata_ if metadata is None else check_metadata(metadata, limits)
        if (description, metadata) != (version.description, version.metadata_):
            _update_contents(session, version, description, metadata)
    if aliases is not None:
        # Only what changes is written, so an alias the version keeps fires no event.
        wanted = requested_aliases(aliases)
        held = aliases_by_version(session, [version.id]).get(version.id, [])  # type: ignore[list-item,arg-type]
        for name in held:
            if name != LATEST and name not in wanted:
                remove_alias(session, collection, name)
        session.flush()
        for name in wanted:
            set_alias(session, collection, name, version)
    if tags is not None:
        for row in session.exec(select(VersionTag).where(VersionTag.version_id == version.id)):
            session.delete(row)
        session.flush()
        _add_tags(session, version, check_tags(tags))
    version.updated_at = utcnow()
    session.add(version)


def _update_contents(
    session: Session, version: ArtifactVersion, description: str, metadata: dict[str, Any]
) -> None:
    if version.source_version_id is not None:
        raise InvalidInput(
            "description and metadata of a linked version belong to the version it links "
            "to; change them there"
        )
    version.description = description
    version.metadata_ = metadata
    session.execute(
        update(ArtifactVersion)
        .where(col(ArtifactVersion.source_version_id) == version.id)
        .values(
            {
                col(ArtifactVersion.description): description,
                col(ArtifactVersion.metadata_): metadata,
                col(ArtifactVersion.updated_at): utcnow(),
            }
        )
    )


def delete_version(
    session: Session,
    collection: ArtifactCollection,
    version: ArtifactVersion,
    *,
    delete_aliases: bool = False,
) -> None:
    """Mark the version DELETED, and unlink it from every portfolio holding it; its
    blobs are reclaimed later by garbage collection."""
    members = _links_of(session, version)
    portfolios = [session.get(ArtifactCollection, member.collection_id) for member in members]
    for portfolio in [*portfolios, collection]:
        assert portfolio is not None
        access.check_portfolio_change(session, portfolio)
    by_version = aliases_by_version(session, [version.id, *(m.id for m in members)])  # type: ignore[list-item]
    held = [name for names in by_version.values() for name in names if name != LATEST]
    if held and not delete_aliases:
        raise Conflict(
            f"version v{version.index} still has aliases {held} (here or where it is linked); "
            "remove them first or pass delete_aliases"
        )
    for member, portfolio in zip(members, portfolios, strict=True):
        _mark_deleted(session, portfolio, member)  # type: ignore[arg-type]
    _mark_deleted(session, collection, version)


def _mark_deleted(
    session: Session, collection: ArtifactCollection, version: ArtifactVersion
) -> None:
    names = remove_aliases_of(session, collection, version)
    version.state = DELETED
    version.updated_at = collection.updated_at = utcnow()
    session.add_all([version, collection])
    session.flush()
    if LATEST in names:
        newest = newest_committed(session, collection.id)  # type: ignore[arg-type]
        if newest is not None:
            set_alias(session, collection, LATEST, newest)


def _links_of(session: Session, version: ArtifactVersion) -> list[ArtifactVersion]:
    query = select(ArtifactVersion).where(
        ArtifactVersion.source_version_id == version.id, ArtifactVersion.state == COMMITTED
    )
    return list(session.exec(query))


def requested_aliases(aliases: list[str]) -> list[str]:
    # `latest` is accepted for compatibility but always follows the newest version.
    return list(dict.fromkeys(check_alias(a) for a in aliases if a != LATEST))


def add_aliases_and_tags(
    session: Session,
    collection: ArtifactCollection,
    version: ArtifactVersion,
    aliases: list[str],
    tags: list[str],
) -> None:
    for name in aliases:
        set_alias(session, collection, name, version)
    current = set(session.exec(select(VersionTag.tag).where(VersionTag.version_id == version.id)))
    _add_tags(session, version, [tag for tag in tags if tag not in current])


def _add_tags(session: Session, version: ArtifactVersion, tags: list[str]) -> None:
    session.add_all(VersionTag(version_id=version.id, tag=tag) for tag in tags)  # type: ignore[arg-type]
