"""Blob transfer: ask what is missing, upload (one streamed or many framed), download."""

from collections.abc import Iterator

from fastapi import APIRouter, Request
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from registry.api.deps import BlobStoreDep, ReadSessionDep
from registry.api.responses import BINARY_BODY, BINARY_RESPONSE, OctetStream
from registry.db import session_scope
from registry.errors import InvalidInput, NotFound
from registry.schemas import DigestList
from registry.services.blobs import (
    blob_sizes,
    collection_epoch,
    missing_digests,
    record_blobs,
)
from registry.storage.blob_store import BlobStore
from sdk.digest import is_digest
from sdk.framing import FrameReader, FramingError, frame_header

router = APIRouter(prefix="/blobs", tags=["blobs"])

# Bytes handed to a worker thread at once: fewer thread hops for large uploads.
WRITE_BUFFER = 1024 * 1024
READ_CHUNK = 1024 * 1024


def check_digests(digests: list[str]) -> None:
    for digest in digests:
        if not is_digest(digest):
            raise InvalidInput(f"{digest!r} is not an xxh3-128 digest (32 lowercase hex digits)")


@router.post("/missing")
def find_missing(body: DigestList, session: ReadSessionDep) -> DigestList:
    """Of the given digests, those the store does not hold yet."""
    check_digests(body.digests)
    return DigestList(digests=missing_digests(session, body.digests))


@router.put("/{digest}", status_code=201, openapi_extra=BINARY_BODY)
async def upload_blob(digest: str, request: Request, store: BlobStoreDep) -> dict[str, int | str]:
    """Upload one blob as the raw request body, streamed and verified."""
    check_digests([digest])
    epoch = await run_in_threadpool(epoch_now, request)
    writer = await run_in_threadpool(store.writer)
    try:
        pending: list[bytes] = []
        pending_bytes = 0
        async for chunk in request.stream():
            pending.append(chunk)
            pending_bytes += len(chunk)
            if pending_bytes >= WRITE_BUFFER:
                await run_in_threadpool(writer.write_all, pending)
                pending, pending_bytes = [], 0
        await run_in_threadpool(writer.write_all, pending)
        size = await run_in_threadpool(writer.publish, digest)
    except BaseException:
        await run_in_threadpool(writer.abort)
        raise
    await run_in_threadpool(record, request, [(digest, size)], epoch)
    return {"digest": digest, "size": size}


@router.post("/batch", status_code=201, openapi_extra=BINARY_BODY)
async def upload_batch(request: Request, store: BlobStoreDep) -> dict[str, int]:
    """Upload many small blobs framed in one body (see `sdk.framing`).

    Blobs are verified and published as their frames arrive (those that arrive
    together, together); if one fails, those already published stay (they are valid)
    and the error names the bad one.
    """
    reader = FrameReader(request.app.state.settings.batch_blob_max_bytes)
    epoch = await run_in_threadpool(epoch_now, request)
    published: list[tuple[str, int]] = []
    try:
        async for chunk in request.stream():
            frames = list(reader.feed(chunk))
            if frames:
                await run_in_threadpool(_publish_all, store, frames, published)
        reader.close()
    except FramingError as exc:
        raise InvalidInput(str(exc)) from None
    finally:
        await run_in_threadpool(record, request, published, epoch)
    return {"count": len(published)}


def _publish_all(
    store: BlobStore, frames: list[tuple[str, bytes]], published: list[tuple[str, int]]
) -> None:
    published.extend(store.put_many(frames))


def epoch_now(request: Request) -> int:
    """Read before an upload publishes anything; `record` compares (see record_blobs)."""
    with session_scope(request.app.state.read_engine, read_only=True) as session:
        return collection_epoch(session)


def record(request: Request, blobs: list[tuple[str, int]], epoch: int) -> None:
    with session_scope(request.app.state.engine) as session:
        record_blobs(session, request.app.state.blob_store, blobs, epoch)


@router.post("/fetch", response_class=OctetStream, responses=BINARY_RESPONSE)
def fetch_batch(body: DigestList, session: ReadSessionDep, store: BlobStoreDep) -> OctetStream:
    """Download many blobs framed in one body, in the order asked."""
    sizes = sizes_of_existing(session, body.digests)
    frames = (
        chunk
        for digest in body.digests
        for chunk in (frame_header(digest, sizes[digest]), *_chunks(store, digest))
    )
    return OctetStream(frames)


@router.get("/{digest}", response_class=OctetStream, responses=BINARY_RESPONSE)
def download_blob(digest: str, session: ReadSessionDep, store: BlobStoreDep) -> OctetStream:
    size = sizes_of_existing(session, [digest])[digest]
    return OctetStream(_chunks(store, digest), headers={"Content-Length": str(size)})


def sizes_of_existing(session: Session, digests: list[str]) -> dict[str, int]:
    check_digests(digests)
    sizes = blob_sizes(session, digests)
    missing = [digest for digest in digests if digest not in sizes]
    if missing:
        raise NotFound(f"{len(missing)} blob(s) do not exist, e.g. {missing[0]}")
    return sizes


def _chunks(store: BlobStore, digest: str) -> Iterator[bytes]:
    with store.open(digest) as stream:
        while chunk := stream.read(READ_CHUNK):
            yield chunk
