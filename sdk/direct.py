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

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx

from sdk.cache import BlobCache
from sdk.client import Client
from sdk.errors import (
    IntegrityError,
    NotFoundError,
    ServerError,
    ServerUnavailableError,
    ValidationError,
)
from sdk.progress import Progress

WORKERS = 8
# The largest object one PUT may create on S3; larger blobs go through the service,
# which writes them in parts.
PUT_MAX_BYTES = 5 * 1024**3
# The service hands out at most this many slots or URLs per request.
SLOTS_PER_REQUEST = 1000
# Rounds of PUT + complete for a blob whose key someone else holds with wrong bytes.
PUT_ATTEMPTS = 3
# The bucket's answers to a create-if-absent PUT when the key is taken (S3 answers
# 409 while another conditional write of the key is in flight).
KEY_TAKEN = (409, 412)
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

    def put(
        self, url: str, body: bytes | Iterator[bytes], size: int, headers: dict[str, str]
    ) -> bool:
        """PUT create-if-absent; False if the key was taken (nothing written)."""
        try:
            response = self._http.put(
                url, content=body, headers={**headers, "Content-Length": str(size)}
            )
        except httpx.TransportError as exc:
            raise ServerUnavailableError(f"cannot reach the bucket: {exc}") from None
        if response.status_code in KEY_TAKEN:
            return False
        _raise_for_bucket(response, "upload")
        return True

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

    with BucketClient() as bucket, ThreadPoolExecutor(WORKERS) as pool:
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
