"""The blob table: which digests the store holds, verified."""

from collections.abc import Iterable

from sqlmodel import Session, col, select

from registry.db import QUERY_CHUNK, insert_ignoring_conflicts
from registry.models import Blob, utcnow


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


def record_blobs(session: Session, blobs: list[tuple[str, int]]) -> None:
    """Insert rows for published blobs; rows that already exist are left as they are."""
    now = utcnow()
    rows = [{"digest": digest, "size": size, "created_at": now} for digest, size in blobs]
    insert_ignoring_conflicts(session, Blob, rows)
