"""Short-lived signed URLs that let clients move blob bytes to and from the bucket
themselves, so large transfers never pass through the service.

Only object stores sign: `presigner_for()` returns None for `file://` and `memory://`
(and for a bucket whose credentials cannot sign), and the service then carries the
bytes itself. Every signed PUT creates its object only if the key is free (the
headers in `put_headers` are part of the signature, see `preconditions`), so a URL
can never overwrite a blob; the service re-hashes whatever arrives before anything
may name it.
"""

import threading
import time
from collections import OrderedDict
from datetime import timedelta
from pathlib import Path
from typing import Any, Protocol

from fsspec import AbstractFileSystem
from fsspec.asyn import sync

from registry.storage.preconditions import GCS_CREATE_ONLY, S3_CREATE_ONLY, protocols_of


class Presigner(Protocol):
    # Headers a PUT to one of the URLs must carry, exactly (they are signed).
    put_headers: dict[str, str]

    def put_urls(self, keys: list[str]) -> list[str]:
        """URLs a client may PUT one object's bytes to, one per key, if the key is free."""

    def get_urls(self, keys: list[str]) -> list[str]:
        """URLs a client may GET one object's bytes from, one per key."""


class S3Presigner:
    """SigV4 query-string URLs from the filesystem's own client and credentials."""

    put_headers = S3_CREATE_ONLY

    def __init__(self, fs: Any, ttl_seconds: int) -> None:
        self._fs = fs
        self._ttl = ttl_seconds

    def put_urls(self, keys: list[str]) -> list[str]:
        return self._sign("put_object", keys, {"IfNoneMatch": "*"})

    def get_urls(self, keys: list[str]) -> list[str]:
        return self._sign("get_object", keys, {})

    def _sign(self, operation: str, keys: list[str], params: dict[str, str]) -> list[str]:
        async def sign_all() -> list[str]:
            urls = []
            for key in keys:
                bucket, path, _version = self._fs.split_path(key)
                s3 = await self._fs.get_s3(bucket)
                urls.append(
                    await s3.generate_presigned_url(
                        operation,
                        Params={"Bucket": bucket, "Key": path, **params},
                        ExpiresIn=self._ttl,
                    )
                )
            return urls

        return sync(self._fs.loop, sign_all)


class GCSPresigner:
    """V4 signed URLs (XML API), signed locally with a service account's private key."""

    put_headers = GCS_CREATE_ONLY

    def __init__(self, fs: Any, credentials: Any, ttl_seconds: int) -> None:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        self._fs = fs
        self._credentials = credentials
        self._client = storage.Client(credentials=AnonymousCredentials(), project=fs.project)
        self._ttl = timedelta(seconds=ttl_seconds)

    def put_urls(self, keys: list[str]) -> list[str]:
        return [self._sign("PUT", key, self.put_headers) for key in keys]

    def get_urls(self, keys: list[str]) -> list[str]:
        return [self._sign("GET", key, {}) for key in keys]

    def _sign(self, method: str, key: str, headers: dict[str, str]) -> str:
        bucket, path, _generation = self._fs.split_path(key)
        return str(
            self._client.bucket(bucket)
            .blob(path)
            .generate_signed_url(
                version="v4",
                method=method,
                expiration=self._ttl,
                credentials=self._credentials,
                api_access_endpoint=self._fs._endpoint,
                headers=headers,
            )
        )


class ReusedDownloadUrls:
    """A presigner that hands a GET URL out again while at least half its lifetime is
    left, so a dataset that many jobs download is signed once per half-lifetime rather
    than once per job and blob (a GCS V4 signature is an RSA operation, ~0.3 ms; 5,000
    blobs cost the service 1.3 s of CPU). PUT URLs are always fresh."""

    def __init__(self, presigner: Presigner, ttl_seconds: int, max_urls: int = 200_000) -> None:
        self._presigner = presigner
        self.put_headers = presigner.put_headers
        self._reuse_seconds = ttl_seconds / 2
        self._max_urls = max_urls
        self._urls: OrderedDict[str, tuple[str, float]] = OrderedDict()  # key: (url, until)
        self._lock = threading.Lock()

    def put_urls(self, keys: list[str]) -> list[str]:
        return self._presigner.put_urls(keys)

    def get_urls(self, keys: list[str]) -> list[str]:
        now = time.monotonic()
        with self._lock:
            known = {key: self._reusable(key, now) for key in keys}
        missing = [key for key, url in known.items() if url is None]
        signed = dict(zip(missing, self._presigner.get_urls(missing), strict=True))
        with self._lock:
            for key, url in signed.items():
                self._urls[key] = (url, now + self._reuse_seconds)
                self._urls.move_to_end(key)
            while len(self._urls) > self._max_urls:
                self._urls.popitem(last=False)
        return [known[key] or signed[key] for key in keys]

    def _reusable(self, key: str, now: float) -> str | None:
        url, until = self._urls.get(key, ("", 0.0))
        if until <= now:
            return None
        self._urls.move_to_end(key)
        return url


def presigner_for(
    fs: AbstractFileSystem, ttl_seconds: int, signing_key: Path | None = None
) -> Presigner | None:
    """A presigner for `fs`, or None when it cannot sign (local and memory stores;
    GCS without a service-account key: pass `signing_key` when the filesystem's own
    credentials, e.g. workload identity or anonymous, hold none)."""
    protocols = protocols_of(fs)
    presigner: Presigner | None = None
    if protocols & {"s3", "s3a"}:
        presigner = S3Presigner(fs, ttl_seconds)
    elif protocols & {"gs", "gcs"}:
        credentials = _gcs_signing_credentials(fs, signing_key)
        presigner = GCSPresigner(fs, credentials, ttl_seconds) if credentials else None
    return ReusedDownloadUrls(presigner, ttl_seconds) if presigner else None


def _gcs_signing_credentials(fs: Any, signing_key: Path | None) -> Any:
    from google.auth.credentials import Signing
    from google.oauth2 import service_account

    if signing_key is not None:
        return service_account.Credentials.from_service_account_file(str(signing_key))
    own = getattr(fs.credentials, "credentials", None)
    return own if isinstance(own, Signing) else None
