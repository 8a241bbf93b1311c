"""Direct transfer: clients move blob bytes to and from the bucket through presigned
URLs, so large transfers never pass through this process.

Upload: `POST /blobs/uploads` hands out, for each large blob not recorded yet, a URL
naming its own digest key and signed create-if-absent, and slots (temporary keys) for
framed packs of small blobs. The client PUTs, then `POST /blobs/uploads/complete`.
Only then does the service read the bytes back from the bucket and re-hash them
(xxh3-128 is not cryptographic, so a client's claim proves nothing); matching blobs
get their `blob` row, which is what publishes them (a commit can name a blob only
after that), other bytes are deleted. A client whose PUT found the key taken (412)
completes too: the service re-hashes what another client put there. No copy follows
the upload: S3 has no rename, and copying a large object costs as much as writing it.
Download: `POST /blobs/downloads` signs a GET URL per blob.

A store that cannot presign (`file://`, `memory://`) answers `direct: false`, and the
client uses the proxying routes of `blobs.py`.
"""

from fastapi import APIRouter, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from registry.api.deps import BlobStoreDep, ReadSessionDep
from registry.api.routes.blobs import check_digests, epoch_now, record, sizes_of_existing
from registry.errors import InvalidInput
from registry.schemas import (
    DigestList,
    DownloadUrls,
    UploadsDone,
    UploadSlot,
    UploadSlots,
    UploadSlotsRequest,
)
from registry.services.blobs import blob_sizes, missing_digests
from registry.storage.blob_store import BlobStore
from registry.storage.layout import is_upload_token

router = APIRouter(prefix="/blobs", tags=["blobs"])

# Largest pack of small blobs a client may put in one slot.
PACK_MAX_BYTES = 64 * 1024 * 1024
MAX_URLS = 10_000


@router.post("/uploads")
def upload_slots(
    body: UploadSlotsRequest, session: ReadSessionDep, store: BlobStoreDep
) -> UploadSlots:
    """Where to PUT blob bytes directly, if the store presigns: a URL per large blob
    the store does not hold yet, and `count` slots for packs of small ones."""
    check_digests(body.digests)
    if not store.presigns:
        return UploadSlots(direct=False, slots=[], pack_max_bytes=PACK_MAX_BYTES)
    slots = [UploadSlot(token=t, url=u) for t, u in store.presign_uploads(body.count)]
    missing = missing_digests(session, body.digests)
    blobs = dict(zip(missing, store.presign_blob_uploads(missing), strict=True))
    return UploadSlots(
        direct=True,
        slots=slots,
        blobs=blobs,
        headers=store.put_headers,
        pack_max_bytes=PACK_MAX_BYTES,
    )


@router.post("/uploads/complete", status_code=201)
async def complete_uploads(
    body: UploadsDone, request: Request, session: ReadSessionDep, store: BlobStoreDep
) -> dict[str, int]:
    """Verify what the client put under digest keys and in pack slots, and publish
    it. An object whose bytes do not hash to its key's digest is deleted and the
    request refused (422); blobs published before that stay, as they are valid."""
    if (body.digests or body.packs) and not store.presigns:
        raise InvalidInput(
            "this store takes blob bytes through the service (PUT /blobs/{digest}); "
            "there is no direct upload to complete"
        )
    check_digests(body.digests)
    bad = [token for token in body.packs if not is_upload_token(token)]
    if bad:
        raise InvalidInput(f"{bad[0]!r} is not an upload slot token")
    epoch = await run_in_threadpool(epoch_now, request)
    published: list[tuple[str, int]] = []
    try:
        await run_in_threadpool(_publish, session, store, body, published)
    finally:
        await run_in_threadpool(record, request, published, epoch)
    return {"count": len(published)}


def _publish(
    session: Session, store: BlobStore, body: UploadsDone, published: list[tuple[str, int]]
) -> None:
    recorded = blob_sizes(session, body.digests)  # published already: nothing to re-hash
    published.extend(recorded.items())
    for digest in dict.fromkeys(body.digests):
        if digest not in recorded:
            published.append((digest, store.publish_object(digest)))
    for token in body.packs:
        published.extend(store.publish_pack(token, PACK_MAX_BYTES))


@router.post("/downloads")
def download_urls(body: DigestList, session: ReadSessionDep, store: BlobStoreDep) -> DownloadUrls:
    """A signed GET URL per blob (all must exist), if the store presigns."""
    if len(body.digests) > MAX_URLS:
        raise InvalidInput(f"ask for at most {MAX_URLS} URLs at once")
    sizes_of_existing(session, body.digests)
    if not store.presigns:
        return DownloadUrls(direct=False, urls={})
    digests = list(dict.fromkeys(body.digests))
    urls = store.presign_downloads(digests)
    return DownloadUrls(direct=True, urls=dict(zip(digests, urls, strict=True)))
