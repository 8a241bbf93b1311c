"""The blob table: which digests the store holds, verified; which blobs a manifest
names; and the lock that keeps garbage collection from deleting a blob that a
transaction is about to reference (see registry/services/gc.py)."""

from collections.abc import Iterable

from sqlalchemy import text
from sqlmodel import Session, col, select

from registry.db import QUERY_CHUNK, insert_ignoring_conflicts
from registry.errors import TryAgain
from registry.models import Blob, GcState, ManifestBlob, utcnow
from registry.storage.blob_store import BlobStore

# PostgreSQL advisory lock held shared by transactions that make blobs referenced or
# recorded, and exclusively by garbage collection while it deletes blob rows.
BLOB_LOCK_KEY = 0x5354_5241_5441_4743  # "STRATAGC"


def hold_blobs(session: Session) -> None:
    """Until this transaction ends, no blob row is deleted. Call it before checking that
    the blobs a new reference needs exist. SQLite needs nothing: its writing
    transactions (BEGIN IMMEDIATE) already run one at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": BLOB_LOCK_KEY})


def exclude_blob_writers(session: Session) -> None:
    """Wait for every transaction holding `hold_blobs` to end and keep new ones waiting
    until this transaction ends (garbage collection's deleting transaction)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": BLOB_LOCK_KEY})


def is_indexed(session: Session, manifest_digest: str) -> bool:
    row = session.get(ManifestBlob, (manifest_digest, manifest_digest))
    return row is not None


def index_manifest(session: Session, manifest_digest: str, blob_digests: Iterable[str]) -> None:
    """Record the blobs a manifest names (and the manifest itself), once per manifest."""
    digests = dict.fromkeys([manifest_digest, *blob_digests])
    rows = [{"manifest_digest": manifest_digest, "blob_digest": digest} for digest in digests]
    insert_ignoring_conflicts(session, ManifestBlob, rows)


def blob_sizes(session: Session, digests: Iterable[str]) -> dict[str, int]:
    """Size of each given digest the store holds; absent digests are left out."""
    wanted = list(dict.fromkeys(digests))
    sizes: dict[str, int] = {}
    for start in range(0, len(wanted), QUERY_CHUNK):
        chunk = wanted[start : start + QUERY_CHUNK]
        query = select(Blob.digest, Blob.size).where(col(Blob.digest).in_(chunk))
        sizes.update(session.exec(query).all())
    return sizes


def missing_digests(session: Session, digests: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(digests))
    present = blob_sizes(session, wanted)
    return [digest for digest in wanted if digest not in present]


def collection_epoch(session: Session) -> int:
    """How many times garbage collection has deleted blobs so far; an upload reads it
    before it publishes anything and hands it to `record_blobs`."""
    epoch = session.exec(select(GcState.epoch).where(GcState.id == 1)).first()
    return epoch or 0


def record_blobs(
    session: Session, store: BlobStore, blobs: list[tuple[str, int]], since_epoch: int
) -> None:
    """Insert rows for blobs published since `since_epoch`; rows that already exist are
    left as they are.

    A collection that deleted blobs meanwhile may have deleted the object a blob was
    published to (found already there, or written just before the collection removed
    that key): then each object must still exist, and while a collection is deleting
    objects nothing can be trusted, so the upload is refused for a retry (503)."""
    hold_blobs(session)
    state = session.get(GcState, 1)
    if state is not None and state.epoch != since_epoch:
        if state.deleting_until is not None and state.deleting_until > utcnow():
            raise TryAgain("garbage collection is deleting blobs; upload again in a moment")
        gone = [digest for digest, _ in blobs if not store.exists(digest)]
        if gone:
            raise TryAgain(
                f"garbage collection deleted {len(gone)} blob(s) during this upload, "
                f"e.g. {gone[0]}; upload them again"
            )
    now = utcnow()
    rows = [{"digest": digest, "size": size, "created_at": now} for digest, size in blobs]
    insert_ignoring_conflicts(session, Blob, rows)
