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
# A batch download holds at most this much of the store's bytes in memory at once.
WINDOW_FILES = 64
WINDOW_BYTES = 8 * 1024 * 1024


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
    return OctetStream(_frames(store, body.digests, sizes))


@router.get("/{digest}", response_class=OctetStream, responses=BINARY_RESPONSE)
def download_blob(digest: str, session: ReadSessionDep, store: BlobStoreDep) -> OctetStream:
    size = sizes_of_existing(session, [digest])[digest]
    return OctetStream(_chunks(store, digest, size), headers={"Content-Length": str(size)})


def sizes_of_existing(session: Session, digests: list[str]) -> dict[str, int]:
    check_digests(digests)
    sizes = blob_sizes(session, digests)
    missing = [digest for digest in digests if digest not in sizes]
    if missing:
        raise NotFound(f"{len(missing)} blob(s) do not exist, e.g. {missing[0]}")
    return sizes


def _frames(store: BlobStore, digests: list[str], sizes: dict[str, int]) -> Iterator[bytes]:
    """Each blob after its frame header. Small blobs are read a window at a time (on an
    object store one request each, all of a window's at once, rather than one after
    the other); a large one streams alone."""
    for window in _windows(digests, sizes):
        if len(window) == 1 and sizes[window[0]] > WINDOW_BYTES:
            yield frame_header(window[0], sizes[window[0]])
            yield from _chunks(store, window[0], sizes[window[0]])
            continue
        contents = store.read_many(window)
        for digest in window:
            yield frame_header(digest, sizes[digest])
            yield contents[digest]


def _windows(digests: list[str], sizes: dict[str, int]) -> Iterator[list[str]]:
    """Consecutive runs of at most WINDOW_FILES blobs and WINDOW_BYTES in all."""
    window: list[str] = []
    held = 0
    for digest in digests:
        size = sizes[digest]
        if window and (len(window) == WINDOW_FILES or held + size > WINDOW_BYTES):
            yield window
            window, held = [], 0
        window.append(digest)
        held += size
    if window:
        yield window


def _chunks(store: BlobStore, digest: str, size: int) -> Iterator[bytes]:
    with store.open(digest, size) as stream:
        while chunk := stream.read(READ_CHUNK):
            yield chunk
