"""Garbage collection: delete the bytes nothing references any more, after a grace period.

What is kept
- every blob listed (`manifest_blob`) by the manifest of a version row that exists:
  a committed version, or a deleted one whose deletion is younger than the grace period;
- every blob recorded less than the grace period ago (an upload whose commit is still
  to come);
- every object under a digest key without a blob row ("unrecorded": a presigned upload
  the service has not verified yet) and every temporary upload (`<root>/tmp/`) younger
  than the grace period and the lifetime of an upload URL, the longest a client may
  take to put its bytes.
Everything else goes: deleted versions whose deletion is older than the grace period
are purged (rows, tags, lineage edges), then deleted collections left without versions
(services/collection_deletion.py), then the blobs no version lists, then their bytes.
TTL expiry only deletes versions (registry/services/expiry.py); their bytes follow here.

Why a commit racing collection never ends pointing at a deleted blob
A transaction that makes blobs referenced (a commit, a link) or records new blobs
first takes a shared lock (`hold_blobs`), then checks that the blob rows it needs
exist, then writes its rows. Collection deletes blob rows in transactions that hold
the same lock exclusively (`exclude_blob_writers`) and choose what to delete only once
they hold it. So either the collecting transaction commits first, and the commit then
finds the rows gone and fails cleanly (422, "not been uploaded": the SDK uploads
again and retries), or the commit's rows are in place when collection looks, and the
blobs are referenced. On PostgreSQL the lock is an advisory transaction lock; on
SQLite every writing transaction already runs alone (BEGIN IMMEDIATE).

Why an upload racing collection never records a blob whose bytes are gone
Bytes are deleted only after the rows naming them are gone (committed), so a crash in
between leaves unrecorded objects, which a later collection deletes; never a row
without its bytes. But an upload may publish to a key whose row was just deleted and
whose object is about to go (publishing finds the object there and keeps it, or
writes it just before the key is deleted). So the deleting transaction also bumps
`gc_state.epoch` and sets a lease, `deleting_until`, cleared once the objects are gone.
An upload reads the epoch before publishing; when it records its rows (under the
shared lock) and the epoch moved, it refuses while the lease runs (503: the client
uploads again) and otherwise checks that each of its objects still exists. Unrecorded
objects are deleted the same way, after checking under the lock that no row names them.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, exists, or_, update
from sqlmodel import Session, col, select

from registry.db import insert_ignoring_conflicts
from registry.models import (
    Alias,
    ArtifactCollection,
    ArtifactVersion,
    Blob,
    GcState,
    ManifestBlob,
    RunInput,
    VersionTag,
    utcnow,
)
from registry.services.blobs import exclude_blob_writers, index_manifest, is_indexed
from registry.services.manifests import committed_manifest
from registry.services.versions import COMMITTED, DELETED
from registry.storage.blob_store import BlobStore, StoredObject
from registry.storage.layout import blob_key

log = logging.getLogger("strata.gc")
EVERY = timedelta(minutes=10)
# Rows deleted per transaction: commits wait while collection holds the lock.
BATCH = 1000
# Longest an interrupted deletion keeps uploads refusing to record (see record_blobs).
DELETION_LEASE = timedelta(minutes=5)


@dataclass
class GcReport:
    """What a collection deleted (or, dry, would delete)."""

    dry_run: bool = False
    indexed_manifests: int = 0
    purged_versions: int = 0
    purged_collections: int = 0
    deleted_blobs: int = 0
    freed_bytes: int = 0
    unrecorded_objects: int = 0
    temporary_objects: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Cutoffs:
    """Deletions and records older than `settled` are final; objects older than
    `in_flight` can no longer belong to an upload in progress."""

    settled: datetime
    in_flight: datetime

    @classmethod
    def at(cls, now: datetime, grace: timedelta, upload_ttl: timedelta) -> "Cutoffs":
        return cls(settled=now - grace, in_flight=now - max(grace, upload_ttl))


def collect_garbage(
    engine: Engine, store: BlobStore, cutoffs: Cutoffs, *, dry_run: bool = False
) -> GcReport:
    report = GcReport(dry_run=dry_run)
    # Indexing writes facts about immutable manifests, so a dry run does it too:
    # without it, blobs of versions committed before indexing existed look unreferenced.
    report.indexed_manifests = index_manifests(engine, store)
    if dry_run:
        with Session(engine) as session:
            report.purged_versions = len(_purgeable(session, cutoffs.settled, None))
            report.purged_collections = len(
                _purgeable_collections(session, cutoffs.settled, None, after_purge=True)
            )
            garbage = _garbage_blobs(session, cutoffs.settled, None, after_purge=True)
            report.deleted_blobs = len(garbage)
            report.freed_bytes = sum(size for _, size in garbage)
        objects = list(store.objects())
        report.unrecorded_objects = len(_unrecorded(engine, objects, cutoffs.in_flight))
        report.temporary_objects = len(_stale_temporaries(objects, cutoffs.in_flight))
        return report
    report.purged_versions = _in_batches(engine, lambda s: _purge_versions(s, cutoffs.settled))
    report.purged_collections = _in_batches(
        engine, lambda s: _purge_collections(s, cutoffs.settled)
    )
    while True:
        with Session(engine) as session:
            exclude_blob_writers(session)
            garbage = _garbage_blobs(session, cutoffs.settled, BATCH, after_purge=False)
            digests = [digest for digest, _ in garbage]
            epoch = _begin_deleting(session) if digests else None
            session.execute(
                delete(ManifestBlob).where(col(ManifestBlob.manifest_digest).in_(digests))
            )
            session.execute(delete(Blob).where(col(Blob.digest).in_(digests)))
            session.commit()
        if epoch is not None:
            store.delete_keys([blob_key(store.root, digest) for digest in digests])
            _end_deleting(engine, epoch)
        report.deleted_blobs += len(digests)
        report.freed_bytes += sum(size for _, size in garbage)
        if len(garbage) < BATCH:
            break
    objects = list(store.objects())
    report.unrecorded_objects = _delete_unrecorded(engine, store, objects, cutoffs.in_flight)
    stale = _stale_temporaries(objects, cutoffs.in_flight)
    store.delete_keys([obj.key for obj in stale])
    report.temporary_objects = len(stale)
    return report


def index_manifests(engine: Engine, store: BlobStore) -> int:
    """Index the manifests of versions committed before manifests were indexed at commit."""
    with Session(engine) as session:
        indexed = select(ManifestBlob.manifest_digest).where(
            col(ManifestBlob.manifest_digest) == col(ManifestBlob.blob_digest)
        )
        pending = session.exec(
            select(ArtifactVersion.manifest_digest)
            .where(col(ArtifactVersion.manifest_digest).not_in(indexed))
            .distinct()
        ).all()
    for manifest_digest in pending:
        manifest = committed_manifest(store, manifest_digest)
        with Session(engine) as session:
            if not is_indexed(session, manifest_digest):
                index_manifest(session, manifest_digest, manifest.stored_digests())
            session.commit()
    return len(pending)


def _in_batches(engine: Engine, step: Callable[[Session], int]) -> int:
    total = 0
    while True:
        with Session(engine) as session:
            exclude_blob_writers(session)
            done = step(session)
            session.commit()
        total += done
        if done < BATCH:
            return total


def _purgeable(session: Session, settled: datetime, limit: int | None) -> list[int]:
    """Deleted versions whose deletion is final and that no remaining row links to
    (a link goes with, or before, the version it points at)."""
    kept_links = select(ArtifactVersion.source_version_id).where(
        col(ArtifactVersion.source_version_id).is_not(None),
        or_(col(ArtifactVersion.state) != DELETED, col(ArtifactVersion.updated_at) >= settled),
    )
    query = (
        select(col(ArtifactVersion.id))
        .where(ArtifactVersion.state == DELETED, col(ArtifactVersion.updated_at) < settled)
        .where(col(ArtifactVersion.id).not_in(kept_links))
        .order_by(col(ArtifactVersion.id))
    )
    if limit is not None:
        query = query.limit(limit)
    return [version_id for version_id in session.exec(query) if version_id is not None]


def _purge_versions(session: Session, settled: datetime) -> int:
    ids = _purgeable(session, settled, BATCH)
    # A link whose source is in this batch goes too: links of a purgeable version are
    # purgeable, and one statement deletes both (foreign keys are checked after it).
    links = select(col(ArtifactVersion.id)).where(col(ArtifactVersion.source_version_id).in_(ids))
    ids = sorted({*ids, *session.exec(links)})
    session.execute(delete(VersionTag).where(col(VersionTag.version_id).in_(ids)))
    session.execute(delete(RunInput).where(col(RunInput.version_id).in_(ids)))
    session.execute(delete(Alias).where(col(Alias.version_id).in_(ids)))
    session.execute(delete(ArtifactVersion).where(col(ArtifactVersion.id).in_(ids)))
    return len(ids)


def _purgeable_collections(
    session: Session, settled: datetime, limit: int | None, *, after_purge: bool
) -> list[int]:
    """Deleted collections whose deletion is final and that hold no version rows (with
    `after_purge`, not counting the versions a collection would purge)."""
    versions = select(ArtifactVersion.collection_id)
    if after_purge:
        versions = versions.where(
            or_(col(ArtifactVersion.state) != DELETED, col(ArtifactVersion.updated_at) >= settled)
        )
    query = (
        select(col(ArtifactCollection.id))
        .where(col(ArtifactCollection.deleted_at) < settled)
        .where(col(ArtifactCollection.id).not_in(versions))
        .order_by(col(ArtifactCollection.id))
    )
    if limit is not None:
        query = query.limit(limit)
    return [collection_id for collection_id in session.exec(query) if collection_id is not None]


def _purge_collections(session: Session, settled: datetime) -> int:
    ids = _purgeable_collections(session, settled, BATCH, after_purge=False)
    session.execute(delete(ArtifactCollection).where(col(ArtifactCollection.id).in_(ids)))
    return len(ids)


def _garbage_blobs(
    session: Session, settled: datetime, limit: int | None, *, after_purge: bool
) -> list[tuple[str, int]]:
    """Blobs recorded before `settled` that no version's manifest lists (with
    `after_purge`, not counting the versions a collection would purge)."""
    versions = select(ArtifactVersion.manifest_digest)
    if after_purge:
        versions = versions.where(
            or_(col(ArtifactVersion.state) == COMMITTED, col(ArtifactVersion.updated_at) >= settled)
        )
    listed = exists().where(
        col(ManifestBlob.blob_digest) == col(Blob.digest),
        col(ManifestBlob.manifest_digest).in_(versions),
    )
    named = exists().where(
        col(ArtifactVersion.manifest_digest) == col(Blob.digest),
        col(ArtifactVersion.manifest_digest).in_(versions),
    )
    query = (
        select(Blob.digest, Blob.size)
        .where(col(Blob.created_at) < settled, ~listed, ~named)
        .order_by(col(Blob.digest))
    )
    if limit is not None:
        query = query.limit(limit)
    return [(digest, size) for digest, size in session.exec(query)]


def _unrecorded(
    engine: Engine, objects: list[StoredObject], in_flight: datetime
) -> list[StoredObject]:
    old = [obj for obj in objects if obj.digest is not None and obj.modified < in_flight]
    with Session(engine) as session:
        recorded = _recorded(session, [obj.digest for obj in old if obj.digest])
    return [obj for obj in old if obj.digest not in recorded]


def _recorded(session: Session, digests: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(digests), BATCH):
        chunk = digests[start : start + BATCH]
        found.update(session.exec(select(Blob.digest).where(col(Blob.digest).in_(chunk))))
    return found


def _delete_unrecorded(
    engine: Engine, store: BlobStore, objects: list[StoredObject], in_flight: datetime
) -> int:
    """Delete old objects no row names, checked again under the lock that recording a
    blob needs."""
    deleted = 0
    candidates = _unrecorded(engine, objects, in_flight)
    for start in range(0, len(candidates), BATCH):
        chunk = candidates[start : start + BATCH]
        with Session(engine) as session:
            exclude_blob_writers(session)
            recorded = _recorded(session, [obj.digest for obj in chunk if obj.digest])
            doomed = [obj for obj in chunk if obj.digest not in recorded]
            epoch = _begin_deleting(session)
            session.commit()
        # Rewritten since it was listed: an upload in flight again.
        keys = [obj.key for obj in doomed if (store.modified(obj.key) or in_flight) < in_flight]
        store.delete_keys(keys)
        _end_deleting(engine, epoch)
        deleted += len(keys)
    return deleted


def _begin_deleting(session: Session) -> int:
    """Announce (in the deleting transaction) that objects are about to go: uploads
    recording blobs from now on check that their objects survived (record_blobs)."""
    insert_ignoring_conflicts(session, GcState, [{"id": 1, "epoch": 0}])
    state = session.get(GcState, 1)
    assert state is not None
    state.epoch += 1
    state.deleting_until = utcnow() + DELETION_LEASE
    session.add(state)
    session.flush()
    return state.epoch


def _end_deleting(engine: Engine, epoch: int) -> None:
    with Session(engine) as session:
        session.execute(
            update(GcState)
            .where(col(GcState.id) == 1, col(GcState.epoch) == epoch)
            .values(deleting_until=None)
        )
        session.commit()


def _stale_temporaries(objects: list[StoredObject], in_flight: datetime) -> list[StoredObject]:
    return [obj for obj in objects if obj.token is not None and obj.modified < in_flight]


def run_collection(engine: Engine, store: BlobStore, cutoffs: Cutoffs) -> GcReport:
    """The periodic job's body: collect, and log what went."""
    report = collect_garbage(engine, store, cutoffs)
    log.info("garbage collection: %s", report)
    return report
