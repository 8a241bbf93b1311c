"""Direct transfer: blob bytes go between this machine and the bucket through
presigned URLs the service hands out, never through the service itself.

Upload: ask for URLs, PUT each large blob to its own digest key (create-if-absent:
412 means another client put something there first) and framed packs of small ones to
slots, then tell the service, which re-hashes what is there before any commit may name
it. A key holding someone else's wrong bytes is emptied by that re-hash; the blob is
then PUT again, and after `PUT_ATTEMPTS` contested rounds it goes through the service,
which replaces such bytes. Download: ask for a signed URL per blob and GET it into the
verified cache. When the store cannot presign (`file://`), the service says so and
these functions say so too (None, False): the caller then uses the proxying routes.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import aiohttp
import yarl
from fsspec.asyn import get_loop, sync

from sdk.bucket import BucketClient, bucket_error
from sdk.cache import BlobCache
from sdk.client import Client
from sdk.errors import IntegrityError, ServerError, ValidationError
from sdk.progress import Progress

WORKERS = 8
# The largest object one PUT may create on S3; larger blobs go through the service,
# which writes them in parts.
PUT_MAX_BYTES = 5 * 1024**3
# The service hands out at most this many slots or URLs per request.
SLOTS_PER_REQUEST = 1000
# Rounds of PUT + complete for a blob whose key someone else holds with wrong bytes.
PUT_ATTEMPTS = 3
URLS_PER_REQUEST = 1000
FIRST_URLS = 100
# Downloads: blobs up to this size go on aiohttp, `DOWNLOADS_IN_FLIGHT` at a time;
# larger ones stream through `BucketClient` on `WORKERS` threads.
SMALL_BLOB_BYTES = 1024 * 1024
DOWNLOADS_IN_FLIGHT = 32
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=10.0, sock_read=300.0)


def upload(
    client: Client,
    large: list[tuple[str, int, Callable[[], Iterator[bytes]]]],
    packs: list[Callable[[], bytes]],
) -> set[str] | None:
    """Put large blobs (digest, size, chunks) under their keys and packs (framed small
    blobs) in slots, and have the service publish them. Returns None (nothing sent)
    if it cannot presign, else the digests still contested after `PUT_ATTEMPTS`
    rounds: the caller sends those through the service."""
    if not large and not packs:
        return set()
    offer = _offer(client, [digest for digest, _size, _chunks in large], len(packs))
    if offer is None:
        return None
    urls, slots, headers = offer

    def send_blob(blob: tuple[str, int, Callable[[], Iterator[bytes]]]) -> str | None:
        digest, size, chunks = blob
        if digest not in urls:
            return None  # published meanwhile by someone else
        for _ in range(PUT_ATTEMPTS):
            created = bucket.put(urls[digest], chunks(), size, headers)
            try:
                client.post("/blobs/uploads/complete", json={"digests": [digest]})
                return None
            except ValidationError:
                if created:
                    raise  # our own bytes: the file changed since it was hashed
                # Another client's bytes, wrong, now deleted (or gone): PUT again.
        return digest

    def send_pack(job: tuple[Callable[[], bytes], dict]) -> None:
        pack, slot = job
        body = pack()
        bucket.put(slot["url"], body, len(body), headers)
        client.post("/blobs/uploads/complete", json={"packs": [slot["token"]]})

    with BucketClient(WORKERS) as bucket, ThreadPoolExecutor(WORKERS) as pool:
        pack_jobs = [pool.submit(send_pack, job) for job in zip(packs, slots, strict=True)]
        blob_jobs = [pool.submit(send_blob, blob) for blob in large]
        for job in pack_jobs:
            job.result()
        outcomes = [job.result() for job in blob_jobs]
    return {digest for digest in outcomes if digest is not None}


def _offer(
    client: Client, digests: list[str], packs: int
) -> tuple[dict[str, str], list[dict], dict[str, str]] | None:
    """URLs for the digests not stored yet, `packs` slots, and the headers every PUT
    must carry; None if the service cannot presign."""
    urls: dict[str, str] = {}
    slots: list[dict] = []
    headers: dict[str, str] = {}
    start = 0
    while start < len(digests) or len(slots) < packs:
        request = {
            "digests": digests[start : start + SLOTS_PER_REQUEST],
            "count": min(SLOTS_PER_REQUEST, packs - len(slots)),
        }
        answer = client.post("/blobs/uploads", json=request, idempotent=True)
        if not answer["direct"]:
            return None
        urls.update(answer["blobs"])
        slots += answer["slots"]
        headers = answer["headers"]
        start += SLOTS_PER_REQUEST
    return urls, slots, headers


def download(client: Client, cache: BlobCache, blobs: dict[str, int], progress: Progress) -> bool:
    """Fetch blobs (digest: size) from the bucket into the cache (verified there);
    False (nothing fetched) if the service cannot presign.

    For thousands of small blobs the client-side cost of a request is what limits the
    rate: they go on aiohttp in fsspec's I/O thread (a third of the CPU per request of
    httpx on threads, measured against fake-gcs-server). For large ones the cost is
    copying bytes: they stream through `BucketClient` on threads, whose reads land in
    one buffer per chunk (aiohttp copies each chunk again; half the time for 64 MiB
    blobs). URLs are asked for in batches, largest blobs first, each batch signed by
    the service while the previous one downloads.
    """
    if not blobs:
        return True
    batches = _url_batches(sorted(blobs, key=blobs.__getitem__, reverse=True))
    first = _download_urls(client, batches[0])
    if first is None:
        return False
    with BucketClient(WORKERS) as bucket, ThreadPoolExecutor(WORKERS) as streams:

        async def get_into(digest: str, url: str, session: aiohttp.ClientSession) -> None:
            if blobs[digest] <= SMALL_BLOB_BYTES:
                await _get_small(session, digest, url, cache, progress)
            else:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(streams, bucket.get_into, url, digest, cache, progress)

        sync(get_loop(), _fetch_all, client, get_into, first, batches[1:], timeout=None)
    return True


def _url_batches(digests: list[str]) -> list[list[str]]:
    """Digests in batches for the service to sign: a small first one, so the GETs start
    after one quick round, each next one twice as large up to `URLS_PER_REQUEST`."""
    batches = []
    start, size = 0, FIRST_URLS
    while start < len(digests):
        batches.append(digests[start : start + size])
        start, size = start + size, min(2 * size, URLS_PER_REQUEST)
    return batches


def _download_urls(client: Client, digests: list[str]) -> dict[str, str] | None:
    answer = client.post("/blobs/downloads", json={"digests": digests}, idempotent=True)
    return answer["urls"] if answer["direct"] else None


def _later_urls(client: Client, digests: list[str]) -> dict[str, str]:
    if not digests:
        return {}
    urls = _download_urls(client, digests)
    if urls is None:
        raise ServerError("the service stopped handing out download URLs midway; try again")
    return urls


async def _fetch_all(
    client: Client,
    get_into: Callable[[str, str, aiohttp.ClientSession], Awaitable[None]],
    first: dict[str, str],
    batches: list[list[str]],
) -> None:
    """Run `get_into(digest, url, session)` for every URL, `DOWNLOADS_IN_FLIGHT` at a
    time, while the next batch of URLs is signed."""
    queue: asyncio.Queue[tuple[str, str] | None] = asyncio.Queue(maxsize=URLS_PER_REQUEST)

    async def produce(tasks: asyncio.TaskGroup) -> None:
        urls = first
        for batch in [*batches, []]:
            # The next batch is signed while the URLs at hand download.
            upcoming = tasks.create_task(asyncio.to_thread(_later_urls, client, batch))
            for digest, url in urls.items():
                await queue.put((digest, url))
            urls = await upcoming
        for _ in range(DOWNLOADS_IN_FLIGHT):
            await queue.put(None)

    async def consume(session: aiohttp.ClientSession) -> None:
        while (item := await queue.get()) is not None:
            await get_into(*item, session)

    async with aiohttp.ClientSession(
        timeout=DOWNLOAD_TIMEOUT, auto_decompress=False, trust_env=True
    ) as session:
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(produce(tasks))
                for _ in range(DOWNLOADS_IN_FLIGHT):
                    tasks.create_task(consume(session))
        except BaseExceptionGroup as group:
            raise group.exceptions[0] from None  # the first failure; the rest were cancelled


async def _get_small(
    session: aiohttp.ClientSession, digest: str, url: str, cache: BlobCache, progress: Progress
) -> None:
    what = f"download of blob {digest}"
    try:
        # encoded=True: the signature covers the query string exactly as signed.
        async with session.get(yarl.URL(url, encoded=True)) as response:
            if response.status >= 400:
                raise bucket_error(response.status, await response.read(), what)
            with cache.receiving(digest) as write:
                async for chunk in response.content.iter_any():
                    write(chunk)
                    progress.advance(len(chunk), 0)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise IntegrityError(f"{what} from the bucket failed: {exc!r}") from None
    progress.advance(0, 1)
