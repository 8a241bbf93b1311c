"""Send the server only the blobs it lacks: small ones framed in batches, large ones
streamed one per request, several requests at a time. When the store presigns, the
same batches and blobs go straight to the bucket (`sdk.direct`) instead."""

import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sdk import direct
from sdk.client import Client
from sdk.errors import NotFoundError, ValidationError
from sdk.framing import frame_header
from sdk.progress import NoProgress, Progress

BATCH_FILE_MAX_BYTES = 1024 * 1024
BATCH_MAX_FILES = 1000
BATCH_MIN_FILES = 64
BATCH_MAX_BYTES = 16 * 1024 * 1024
WORKERS = 8
STREAM_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class BlobSource:
    """Where the bytes of one digest can be read: a local file or bytes in memory."""

    digest: str
    size: int
    path: str | None = None
    data: bytes | None = None

    def read(self) -> bytes:
        if self.data is not None:
            return self.data
        with open(self._local_path(), "rb") as stream:
            return stream.read()

    def chunks(self) -> Iterator[bytes]:
        if self.data is not None:
            yield self.data
            return
        with open(self._local_path(), "rb") as stream:
            while chunk := stream.read(STREAM_CHUNK):
                yield chunk

    def _local_path(self) -> str:
        if self.path is None:
            raise NotFoundError(
                f"blob {self.digest} is neither on the server nor in a local file to upload"
            )
        return self.path


def upload_missing(
    client: Client, sources: dict[str, BlobSource], progress: Progress | None = None
) -> int:
    """Upload what the server lacks of `sources`; returns the number of bytes sent.

    Progress counts files only: in-memory sources (the manifest) are sent unreported."""
    progress = progress or NoProgress()
    missing = client.post("/blobs/missing", json={"digests": list(sources)}, idempotent=True)[
        "digests"
    ]
    todo = [sources[digest] for digest in missing]
    files = [s for s in todo if s.data is None]
    progress.start(sum(s.size for s in files), len(files))
    small = [s for s in todo if s.size <= BATCH_FILE_MAX_BYTES]
    large = [s for s in todo if BATCH_FILE_MAX_BYTES < s.size <= direct.PUT_MAX_BYTES]
    huge = [s for s in todo if s.size > direct.PUT_MAX_BYTES]
    batches = list(_batches(small))
    with _changed_file_hint(todo):
        contested = direct.upload(
            client,
            [(s.digest, s.size, _counted_chunks(s, progress)) for s in large],
            [_framed(batch, progress) for batch in batches],
        )
    if contested is not None:
        batches, large = [], [s for s in large if s.digest in contested]
    with ThreadPoolExecutor(WORKERS) as pool:
        jobs = [pool.submit(_send_batch, client, batch, progress) for batch in batches]
        jobs += [pool.submit(_send_one, client, source, progress) for source in large + huge]
        for job in jobs:
            job.result()
    progress.finish()
    return sum(s.size for s in todo)


def _batches(sources: list[BlobSource]) -> Iterator[list[BlobSource]]:
    # Enough batches to keep every worker busy, none too large to retry cheaply.
    per_batch = max(BATCH_MIN_FILES, min(BATCH_MAX_FILES, math.ceil(len(sources) / WORKERS)))
    batch: list[BlobSource] = []
    batch_bytes = 0
    for source in sources:
        if batch and (len(batch) >= per_batch or batch_bytes + source.size > BATCH_MAX_BYTES):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(source)
        batch_bytes += source.size
    if batch:
        yield batch


def _frames(batch: list[BlobSource], progress: Progress) -> Iterator[bytes]:
    for source in batch:
        data = source.read()
        yield frame_header(source.digest, len(data)) + data
        if source.data is None:
            progress.advance(len(data), 1)


def _framed(batch: list[BlobSource], progress: Progress) -> Callable[[], bytes]:
    return lambda: b"".join(_frames(batch, progress))


def _counted_chunks(source: BlobSource, progress: Progress) -> Callable[[], Iterator[bytes]]:
    def chunks() -> Iterator[bytes]:
        for chunk in source.chunks():
            yield chunk
            progress.advance(len(chunk), 0)
        progress.advance(0, 1)

    return chunks


def _send_batch(client: Client, batch: list[BlobSource], progress: Progress) -> None:
    with _changed_file_hint(batch):
        client.post("/blobs/batch", content=lambda: _frames(batch, progress), idempotent=True)


def _send_one(client: Client, source: BlobSource, progress: Progress) -> None:
    with _changed_file_hint([source]):
        client.put(
            f"/blobs/{source.digest}",
            content=_counted_chunks(source, progress),
            headers={"Content-Length": str(source.size)},
        )


class _changed_file_hint:
    """Name the local file when the server says its bytes no longer match their digest."""

    def __init__(self, sources: list[BlobSource]) -> None:
        self._paths = {s.digest: s.path for s in sources}

    def __enter__(self) -> None:
        return None

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> None:
        if isinstance(exc, ValidationError):
            for digest, path in self._paths.items():
                if path is not None and digest in exc.message:
                    raise ValidationError(
                        f"{path} changed after it was added to the artifact ({exc.message})",
                        status_code=exc.status_code,
                    ) from None
