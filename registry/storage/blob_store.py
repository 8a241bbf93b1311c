"""The content-addressed blob store: the one module that talks to fsspec.

No bytes are published unverified, and the database, not the store, says what is
published: an object under a digest's key without its `blob` row is *unrecorded* (an
upload in progress, or one abandoned, or bytes a client lied about), is never trusted
as it is, and may be deleted by garbage collection after a grace period.

- Bytes held in memory (small blobs) are hashed, then written straight to the
  digest's key, create-if-absent where the store supports it.
- Streams through the service (large blobs, proxy mode) go to a temporary key while
  being hashed and are moved under the digest's key only if they match.
- With direct transfer a client PUTs a large blob to its digest's key itself, through
  a URL signed create-if-absent (`preconditions`), and the service re-hashes it from
  the bucket before it is recorded; other bytes are deleted.
- Whoever meets an object already under a digest's key re-hashes it: the same bytes
  are kept as they are (a blob is written once), other bytes are replaced or deleted.
"""

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import fsspec
import httpx
from fsspec import AbstractFileSystem
from fsspec.implementations.local import LocalFileSystem

from registry.errors import DigestMismatch, InvalidInput, TooLarge
from registry.storage.layout import (
    TMP_DIR,
    blob_key,
    digest_from_key,
    is_upload_token,
    new_upload_token,
    temp_key,
)
from registry.storage.preconditions import delete_if_unchanged, version_of
from registry.storage.presign import Presigner, presigner_for
from sdk.digest import Hasher, hash_bytes
from sdk.framing import FrameReader, FramingError

# Ranged reads of object stores while a blob streams through the service.
READ_BLOCK = 8 * 1024 * 1024
# Read size when the service re-hashes an object a client put in the bucket.
VERIFY_BLOCK = 16 * 1024 * 1024
VERIFY_TIMEOUT = httpx.Timeout(300.0, connect=10.0)
# Part size of streamed writes: object stores upload larger blobs in several parts.
WRITE_BLOCK = 16 * 1024 * 1024
# Concurrent requests when many small blobs are written at once.
PUT_WORKERS = 16
OBJECT_STORES = {"s3", "s3a", "gs", "gcs"}


@dataclass(frozen=True)
class StoredObject:
    """An object under the store root, as garbage collection sees it: a blob under its
    digest's key (`digest`), or a temporary upload (`token`)."""

    key: str
    modified: datetime
    digest: str | None = None
    token: str | None = None


class BlobWriter:
    """One upload in progress: `write()` chunks, then `publish()` or `abort()`."""

    def __init__(self, store: "BlobStore") -> None:
        self._store = store
        self._tmp = temp_key(store.root)
        self._file = store.fs.open(self._tmp, "wb", block_size=store.write_block)
        self._hasher = Hasher()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self._hasher.update(chunk)
        self._file.write(chunk)
        self.size += len(chunk)

    def write_all(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self.write(chunk)

    def publish(self, claimed_digest: str) -> int:
        """Verify and publish; returns the size. Raises DigestMismatch and leaves nothing."""
        self._file.close()
        self._store._publish_temp(self._tmp, self._hasher.hexdigest(), claimed_digest)
        return self.size

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        if self._store.fs.exists(self._tmp):
            self._store.fs.rm(self._tmp)


class BlobStore:
    def __init__(
        self,
        fs: AbstractFileSystem,
        root: str,
        presigner: Presigner | None = None,
        write_block: int = WRITE_BLOCK,
    ) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self.write_block = write_block
        self._presigner = presigner
        self._folders: set[str] = set()
        # An object appears whole or not at all; a local file being written does not.
        self._whole_object_writes = not isinstance(fs, LocalFileSystem)
        self.ensure_folder(f"{self.root}/{TMP_DIR}")

    @classmethod
    def from_url(
        cls,
        url: str,
        options: dict[str, Any] | None = None,
        *,
        presign: bool = True,
        url_ttl_seconds: int = 900,
        signing_key: Path | None = None,
    ) -> "BlobStore":
        """The store at `url` (`file://`, `memory://`, `s3://bucket/prefix`,
        `gs://bucket/prefix`); `options` go to the fsspec filesystem. With `presign`,
        object stores hand out signed URLs valid for `url_ttl_seconds`."""
        options = dict(options or {})
        protocol = url.split("://", 1)[0] if "://" in url else "file"
        if protocol in OBJECT_STORES:
            # Listings must never stand in for the bucket: a cached listing would
            # report a deleted blob as present.
            options.setdefault("use_listings_cache", False)
        if protocol in ("s3", "s3a"):
            # Presigned URLs in SigV4, which every S3 region and S3-compatible store accepts.
            config = {"signature_version": "s3v4", **options.get("config_kwargs", {})}
            options["config_kwargs"] = config
        fs, root = fsspec.core.url_to_fs(url, **options)
        presigner = presigner_for(fs, url_ttl_seconds, signing_key) if presign else None
        return cls(fs, root, presigner)

    def ensure_folder(self, folder: str) -> None:
        """Create a folder once per process (object stores ignore folders anyway)."""
        if folder not in self._folders:
            self.fs.makedirs(folder, exist_ok=True)
            self._folders.add(folder)

    # ---- blobs ---------------------------------------------------------------------

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(blob_key(self.root, digest)))

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def put(self, digest: str, data: bytes) -> int:
        """Verify bytes held in memory and store them; returns the size."""
        _check(hash_bytes(data), digest)
        if not self._whole_object_writes:
            writer = self.writer()
            try:
                writer.write(data)
            except BaseException:
                writer.abort()
                raise
            return writer.publish(digest)
        key = blob_key(self.root, digest)
        try:
            self.fs.pipe_file(key, data, mode="create")
        except FileExistsError:
            if self._verified_size(key, digest) is None:
                self.fs.pipe_file(key, data)  # unrecorded other bytes: replace them
        return len(data)

    def put_many(self, blobs: list[tuple[str, bytes]]) -> list[tuple[str, int]]:
        """Verify every blob, then store them all, several at a time; a mismatch
        stores none of them. Returns (digest, size) for each."""
        for digest, data in blobs:
            _check(hash_bytes(data), digest)
        if len(blobs) <= 1:
            return [(digest, self.put(digest, data)) for digest, data in blobs]
        with ThreadPoolExecutor(min(PUT_WORKERS, len(blobs))) as pool:
            sizes = list(pool.map(lambda blob: self.put(*blob), blobs))
        return [(digest, size) for (digest, _), size in zip(blobs, sizes, strict=True)]

    def open(self, digest: str, size: int) -> BinaryIO:
        """Read the blob as a stream. Its recorded `size` spares object stores a metadata
        request (bytes changed in the store fail their digest at the client either way)."""
        key = blob_key(self.root, digest)
        return self.fs.open(key, "rb", block_size=READ_BLOCK, size=size)

    def read(self, digest: str) -> bytes:
        return self.fs.cat_file(blob_key(self.root, digest))

    def read_many(self, digests: list[str]) -> dict[str, bytes]:
        """Whole blobs by digest; object stores fetch them concurrently, one GET each."""
        keys = {digest: blob_key(self.root, digest) for digest in digests}
        contents = self.fs.cat(list(keys.values()))
        return {digest: contents[key] for digest, key in keys.items()}

    def iter_digests(self) -> Iterator[str]:
        uploads_in_flight = f"{self.root}/{TMP_DIR}/"
        for key in self.fs.find(self.root):
            if key.startswith(uploads_in_flight):
                continue
            digest = digest_from_key(key)
            if digest is not None:
                yield digest

    def delete(self, digest: str) -> None:
        self.fs.rm(blob_key(self.root, digest))

    def objects(self) -> Iterator[StoredObject]:
        """Every blob and temporary upload under the root, with its modification time."""
        uploads_in_flight = f"{self.root}/{TMP_DIR}/"
        for key, info in self._listing().items():
            modified = _modified(info)
            name = key.rstrip("/").rsplit("/", 1)[-1]
            if key.startswith(uploads_in_flight):
                if is_upload_token(name):
                    yield StoredObject(key, modified, token=name)
            elif (digest := digest_from_key(key)) is not None:
                yield StoredObject(key, modified, digest=digest)

    def _listing(self, attempts: int = 5) -> dict[str, dict[str, Any]]:
        # A local listing stats each file it found: one deleted or moved meanwhile (an
        # upload publishing) fails it, and listing again sees the store as it is now.
        for attempt in range(attempts):
            try:
                return dict(self.fs.find(self.root, detail=True))
            except FileNotFoundError:
                if attempt + 1 == attempts:
                    raise
        raise AssertionError("unreachable")

    def modified(self, key: str) -> datetime | None:
        """When the object at `key` was last written; None if it is gone."""
        try:
            return _modified(self.fs.info(key))
        except FileNotFoundError:
            return None

    def delete_keys(self, keys: list[str]) -> None:
        """Delete objects (several per request where the store allows); absent ones are fine."""
        if not keys:
            return
        try:
            self.fs.rm(keys)
        except FileNotFoundError:
            for key in keys:
                if self.fs.exists(key):
                    self.fs.rm(key)

    def _publish_temp(self, tmp: str, actual: str, claimed: str) -> None:
        """Move a temporary object whose bytes hash to `actual` under `claimed`'s key,
        or delete it if they differ (DigestMismatch)."""
        if actual != claimed:
            self.fs.rm(tmp)
        _check(actual, claimed)
        key = blob_key(self.root, claimed)
        if self.fs.exists(key) and self._verified_size(key, claimed) is not None:
            self.fs.rm(tmp)  # the same bytes are already there
        else:  # nothing there, or unrecorded other bytes to replace
            self.ensure_folder(key.rsplit("/", 1)[0])
            self.fs.mv(tmp, key)

    def _verified_size(self, key: str, digest: str) -> int | None:
        """Re-hash the object at `key`: its size if its bytes hash to `digest`, else None."""
        hasher, size = Hasher(), 0
        with self.fs.open(key, "rb", block_size=VERIFY_BLOCK) as stream:
            while chunk := stream.read(VERIFY_BLOCK):
                hasher.update(chunk)
                size += len(chunk)
        return size if hasher.hexdigest() == digest else None

    # ---- direct transfer (presigned URLs) ------------------------------------------

    @property
    def presigns(self) -> bool:
        """Whether clients move bytes to and from the bucket themselves."""
        return self._presigner is not None

    @property
    def put_headers(self) -> dict[str, str]:
        """Headers every PUT to a signed URL must carry (signed, create-if-absent)."""
        assert self._presigner is not None
        return self._presigner.put_headers

    def presign_uploads(self, count: int) -> list[tuple[str, str]]:
        """`count` fresh slots for packs of small blobs: (token, URL to PUT the pack
        to). The URL names a temporary key; `publish_pack` unpacks what arrived."""
        assert self._presigner is not None
        tokens = [new_upload_token() for _ in range(count)]
        urls = self._presigner.put_urls([temp_key(self.root, token) for token in tokens])
        return list(zip(tokens, urls, strict=True))

    def presign_blob_uploads(self, digests: list[str]) -> list[str]:
        """A URL per digest to PUT that blob's bytes to its own key, if the key is free;
        `publish_object` then verifies what arrived."""
        assert self._presigner is not None
        return self._presigner.put_urls([blob_key(self.root, digest) for digest in digests])

    def presign_downloads(self, digests: Iterable[str]) -> list[str]:
        assert self._presigner is not None
        return self._presigner.get_urls([blob_key(self.root, digest) for digest in digests])

    def publish_object(self, digest: str) -> int:
        """Re-hash the object under `digest`'s key (put there by a client, perhaps by
        another one than the caller) and return its size if it holds `digest`'s bytes.
        Other bytes are deleted (DigestMismatch); nothing there is InvalidInput.

        The bytes are read through a signed GET, in one streamed request: a file of
        fsspec reads in ranged requests, which some stores (moto) serve by reading the
        whole object for each range; and the response names the version it holds."""
        assert self._presigner is not None
        key = blob_key(self.root, digest)
        [url] = self._presigner.get_urls([key])
        hasher, size = Hasher(), 0
        with httpx.stream("GET", url, timeout=VERIFY_TIMEOUT) as response:
            if response.status_code == 404:
                raise InvalidInput(f"nothing was uploaded for {digest}")
            response.raise_for_status()
            version = version_of(self.fs, response.headers)
            for chunk in response.iter_bytes(VERIFY_BLOCK):
                hasher.update(chunk)
                size += len(chunk)
        if hasher.hexdigest() != digest:
            delete_if_unchanged(self.fs, key, version)
            raise DigestMismatch(
                f"the object uploaded for {digest} does not hash to it; it was deleted"
            )
        return size

    def publish_pack(self, token: str, max_bytes: int) -> list[tuple[str, int]]:
        """Unpack a framed pack of small blobs (see `sdk.framing`) a client put at the
        slot `token`: verify and store every blob, then delete the pack."""
        tmp = temp_key(self.root, token)
        try:
            size = self.fs.size(tmp)
            if size > max_bytes:
                raise TooLarge(f"pack {token} holds {size} bytes, more than {max_bytes}")
            reader = FrameReader(max_bytes)
            blobs = list(reader.feed(self.fs.cat_file(tmp)))
            reader.close()
            return self.put_many(blobs)
        except FileNotFoundError:
            raise InvalidInput(f"nothing was uploaded to slot {token}") from None
        except FramingError as exc:
            raise InvalidInput(f"pack {token}: {exc}") from None
        finally:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)


def _modified(info: dict[str, Any]) -> datetime:
    """The modification time in an fsspec listing entry, whichever backend wrote it:
    `mtime` (local), `LastModified` (S3), `updated` (GCS), `created` (memory)."""
    for field in ("mtime", "LastModified", "updated", "created"):
        value = info.get(field)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    raise ValueError(f"the store reports no modification time for {info.get('name')}")


def _check(actual: str, claimed: str) -> None:
    if actual != claimed:
        raise DigestMismatch(
            f"uploaded bytes hash to {actual}, not to the claimed digest {claimed}"
        )
