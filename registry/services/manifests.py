"""Reading committed manifests back from the blob store."""

from sqlmodel import Session

from registry.errors import InvalidInput, TooLarge
from registry.models import Blob
from registry.services.blobs import missing_digests
from registry.storage.blob_store import BlobStore
from sdk.manifest import Manifest, ManifestError

MAX_MANIFEST_BYTES = 512 * 1024 * 1024


def load_manifest(session: Session, store: BlobStore, manifest_digest: str) -> Manifest:
    """Parse and validate a manifest blob; every stored entry's blob must exist."""
    blob = session.get(Blob, manifest_digest)
    if blob is None:
        raise InvalidInput(f"manifest blob {manifest_digest} has not been uploaded")
    if blob.size > MAX_MANIFEST_BYTES:
        raise TooLarge(f"manifest of {blob.size} bytes exceeds {MAX_MANIFEST_BYTES} bytes")
    try:
        manifest = Manifest.from_bytes(store.read(manifest_digest))
    except ManifestError as exc:
        raise InvalidInput(f"manifest {manifest_digest}: {exc}") from None
    missing = missing_digests(session, manifest.stored_digests())
    if missing:
        shown = ", ".join(missing[:5])
        raise InvalidInput(
            f"manifest names {len(missing)} blob(s) that have not been uploaded: {shown}"
        )
    return manifest
