"""Reading manifests back from the blob store.

Manifests are content-addressed, hence immutable: a parsed one is kept in a small
per-process cache, so paging through a 100,000-file listing parses it once.
"""

from functools import lru_cache

from sqlmodel import Session

from registry.errors import InvalidInput, TooLarge
from registry.limits import Limits
from registry.models import Blob
from registry.services.blobs import hold_blobs, index_manifest, is_indexed, missing_digests
from registry.storage.blob_store import BlobStore
from sdk.manifest import Manifest, ManifestError

PARSED_CACHE_SIZE = 16


def load_manifest(
    session: Session, store: BlobStore, manifest_digest: str, limits: Limits
) -> Manifest:
    """Parse and validate a manifest blob for a commit; every stored entry's blob must
    exist, and stays until the transaction ends (so the commit never references a blob
    garbage collection deletes). Records which blobs the manifest names."""
    hold_blobs(session)
    blob = session.get(Blob, manifest_digest)
    if blob is None:
        raise InvalidInput(f"manifest blob {manifest_digest} has not been uploaded")
    if blob.size > limits.manifest_bytes:
        raise TooLarge(
            f"manifest {manifest_digest} is {blob.size} bytes; at most "
            f"{limits.manifest_bytes} (STRATA_MAX_MANIFEST_BYTES)"
        )
    manifest = _parse(store, manifest_digest)
    if len(manifest) > limits.manifest_entries:
        raise TooLarge(
            f"manifest {manifest_digest} has {len(manifest)} entries; at most "
            f"{limits.manifest_entries} (STRATA_MAX_MANIFEST_ENTRIES)"
        )
    missing = missing_digests(session, manifest.stored_digests())
    if missing:
        shown = ", ".join(missing[:5])
        raise InvalidInput(
            f"manifest names {len(missing)} blob(s) that have not been uploaded: {shown}"
        )
    if not is_indexed(session, manifest_digest):
        index_manifest(session, manifest_digest, manifest.stored_digests())
    return manifest


def committed_manifest(store: BlobStore, manifest_digest: str) -> Manifest:
    """The manifest of a committed version (validated when it was committed)."""
    return _parse(store, manifest_digest)


@lru_cache(maxsize=PARSED_CACHE_SIZE)
def _parse(store: BlobStore, manifest_digest: str) -> Manifest:
    try:
        return Manifest.from_bytes(store.read(manifest_digest))
    except ManifestError as exc:
        raise InvalidInput(f"manifest {manifest_digest}: {exc}") from None
