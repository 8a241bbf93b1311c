"""Direct transfer: clients move blob bytes to and from the bucket through presigned
URLs, so large transfers never pass through this process.

Upload: `POST /blobs/uploads` hands out slots (a temporary key and a URL to PUT to);
the client fills them, one large blob per slot or a framed pack of small ones, then
`POST /blobs/uploads/complete`. Only then does the service read the bytes back from
the bucket, re-hash them (xxh3-128 is not cryptographic, so a client's claim proves
nothing) and publish them under their digests; a commit can name a blob only after
that. Download: `POST /blobs/downloads` signs a GET URL per blob.

A store that cannot presign (`file://`, `memory://`) answers `direct: false`, and the
client uses the proxying routes of `blobs.py`.
"""

from fastapi import APIRouter, Request
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
from registry.storage.blob_store import BlobStore
from registry.storage.layout import is_upload_token

router = APIRouter(prefix="/blobs", tags=["blobs"])

# Largest pack of small blobs a client may put in one slot.
PACK_MAX_BYTES = 64 * 1024 * 1024
MAX_URLS = 10_000


@router.post("/uploads")
def upload_slots(body: UploadSlotsRequest, store: BlobStoreDep) -> UploadSlots:
    """Slots to PUT blob bytes to directly, if the store presigns."""
    if not store.presigns:
        return UploadSlots(direct=False, slots=[], pack_max_bytes=PACK_MAX_BYTES)
    slots = [UploadSlot(token=t, url=u) for t, u in store.presign_uploads(body.count)]
    return UploadSlots(direct=True, slots=slots, pack_max_bytes=PACK_MAX_BYTES)


@router.post("/uploads/complete", status_code=201)
async def complete_uploads(
    body: UploadsDone, request: Request, store: BlobStoreDep
) -> dict[str, int]:
    """Verify what the client put in its slots and publish it. A slot whose bytes do
    not hash to the digest claimed is deleted and the request refused (422); blobs
    published before that stay, as they are valid."""
    check_digests([blob.digest for blob in body.blobs])
    tokens = [blob.token for blob in body.blobs] + body.packs
    bad = [token for token in tokens if not is_upload_token(token)]
    if bad:
        raise InvalidInput(f"{bad[0]!r} is not an upload slot token")
    epoch = await run_in_threadpool(epoch_now, request)
    published: list[tuple[str, int]] = []
    try:
        await run_in_threadpool(_publish, store, body, published)
    finally:
        await run_in_threadpool(record, request, published, epoch)
    return {"count": len(published)}


def _publish(store: BlobStore, body: UploadsDone, published: list[tuple[str, int]]) -> None:
    for blob in body.blobs:
        published.append((blob.digest, store.publish_upload(blob.token, blob.digest)))
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
