"""Direct transfer: blob bytes go between this machine and the bucket through
presigned URLs the service hands out, never through the service itself.

Upload: ask for slots, PUT each large blob (or a framed pack of small ones) to its
slot's URL, then tell the service, which re-hashes what arrived before any commit may
name it. Download: ask for a signed URL per blob and GET it into the verified cache.
When the store cannot presign (`file://`), the service says so and these functions
return False: the caller then uses the proxying routes.
"""

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx

from sdk.cache import BlobCache
from sdk.client import Client
from sdk.errors import IntegrityError, NotFoundError, ServerError, ServerUnavailableError
from sdk.progress import Progress

WORKERS = 8
# The largest object one PUT may create on S3; larger blobs go through the service,
# which writes them in parts.
PUT_MAX_BYTES = 5 * 1024**3
# The service hands out at most this many slots or URLs per request.
SLOTS_PER_REQUEST = 1000
URLS_PER_REQUEST = 1000
TIMEOUT = httpx.Timeout(300.0, connect=10.0)


class BucketClient:
    """Plain HTTP to presigned URLs: no base URL, no Strata API key (the signature is
    the authorization), errors translated into `sdk.errors`."""

    def __init__(self) -> None:
        self._http = httpx.Client(
            timeout=TIMEOUT,
            limits=httpx.Limits(max_connections=WORKERS * 2, max_keepalive_connections=WORKERS * 2),
        )

    def __enter__(self) -> "BucketClient":
        return self

    def __exit__(self, *_exc: object) -> None:
        self._http.close()

    def put(self, url: str, body: bytes | Iterator[bytes], size: int) -> None:
        try:
            response = self._http.put(url, content=body, headers={"Content-Length": str(size)})
        except httpx.TransportError as exc:
            raise ServerUnavailableError(f"cannot reach the bucket: {exc}") from None
        _raise_for_bucket(response, "upload")

    def get_into(self, url: str, digest: str, cache: BlobCache, progress: Progress) -> None:
        try:
            with self._http.stream("GET", url) as response:
                if response.status_code >= 400:
                    response.read()
                    _raise_for_bucket(response, f"download of blob {digest}")
                cache.write(digest, _counted(response.iter_bytes(), progress))
        except httpx.TransportError as exc:
            message = f"download of blob {digest} from the bucket failed: {exc}"
            raise IntegrityError(message) from None


def upload(
    client: Client,
    large: list[tuple[str, int, Callable[[], Iterator[bytes]]]],
    packs: list[Callable[[], bytes]],
) -> bool:
    """Put large blobs (digest, size, chunks) and packs (framed small blobs) in slots
    and have the service publish them; False (nothing sent) if it cannot presign."""
    count = len(large) + len(packs)
    if count == 0:
        return True
    slots = _slots(client, count)
    if slots is None:
        return False

    def send_blob(job: tuple[tuple[str, int, Callable[[], Iterator[bytes]]], dict]) -> None:
        (digest, size, chunks), slot = job
        bucket.put(slot["url"], chunks(), size)
        done = {"blobs": [{"token": slot["token"], "digest": digest}]}
        client.post("/blobs/uploads/complete", json=done)

    def send_pack(job: tuple[Callable[[], bytes], dict]) -> None:
        pack, slot = job
        body = pack()
        bucket.put(slot["url"], body, len(body))
        client.post("/blobs/uploads/complete", json={"packs": [slot["token"]]})

    with BucketClient() as bucket, ThreadPoolExecutor(WORKERS) as pool:
        pack_slots, blob_slots = slots[: len(packs)], slots[len(packs) :]
        jobs = [pool.submit(send_pack, job) for job in zip(packs, pack_slots, strict=True)]
        jobs += [pool.submit(send_blob, job) for job in zip(large, blob_slots, strict=True)]
        for job in jobs:
            job.result()
    return True


def _slots(client: Client, count: int) -> list[dict] | None:
    slots: list[dict] = []
    while len(slots) < count:
        wanted = min(SLOTS_PER_REQUEST, count - len(slots))
        answer = client.post("/blobs/uploads", json={"count": wanted}, idempotent=True)
        if not answer["direct"]:
            return None
        slots += answer["slots"]
    return slots


def download(client: Client, cache: BlobCache, digests: list[str], progress: Progress) -> bool:
    """Fetch blobs from the bucket into the cache (verified there); False (nothing
    fetched) if the service cannot presign."""
    if not digests:
        return True
    urls: dict[str, str] = {}
    for start in range(0, len(digests), URLS_PER_REQUEST):
        chunk = digests[start : start + URLS_PER_REQUEST]
        answer = client.post("/blobs/downloads", json={"digests": chunk}, idempotent=True)
        if not answer["direct"]:
            return False
        urls.update(answer["urls"])

    def fetch(digest: str) -> None:
        bucket.get_into(urls[digest], digest, cache, progress)
        progress.advance(0, 1)

    with BucketClient() as bucket, ThreadPoolExecutor(WORKERS) as pool:
        for _ in pool.map(fetch, digests):
            pass
    return True


def _counted(chunks: Iterator[bytes], progress: Progress) -> Iterator[bytes]:
    for chunk in chunks:
        progress.advance(len(chunk), 0)
        yield chunk


def _raise_for_bucket(response: httpx.Response, what: str) -> None:
    if response.status_code < 400:
        return
    detail = f"{what}: the bucket answered HTTP {response.status_code}: {response.text[:300]}"
    if response.status_code == 404:
        raise NotFoundError(detail, status_code=404)
    if response.status_code in (401, 403):
        raise ServerError(f"{detail} (has the signed URL expired?)", status_code=403)
    raise ServerError(detail, status_code=response.status_code)
