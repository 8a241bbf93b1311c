"""The content-addressed blob store: the one module that talks to fsspec.

Every write streams to a temporary key while hashing, compares the result with the
digest the client claimed, and only then publishes under the digest's key. A
mismatch deletes the temporary object, so a refused upload leaves nothing behind.
A blob that already exists is never rewritten.
"""

from collections.abc import Iterator
from typing import Any, BinaryIO

import fsspec
from fsspec import AbstractFileSystem

from registry.errors import DigestMismatch
from registry.storage.layout import TMP_DIR, blob_key, digest_from_key, temp_key
from sdk.digest import Hasher

READ_BLOCK = 1024 * 1024


class BlobWriter:
    """One upload in progress: `write()` chunks, then `publish()` or `abort()`."""

    def __init__(self, store: "BlobStore") -> None:
        self._store = store
        self._tmp = temp_key(store.root)
        self._file = store.fs.open(self._tmp, "wb")
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
        actual = self._hasher.hexdigest()
        if actual != claimed_digest:
            self.abort()
            raise DigestMismatch(
                f"uploaded bytes hash to {actual}, not to the claimed digest {claimed_digest}"
            )
        key = blob_key(self._store.root, claimed_digest)
        if self._store.fs.exists(key):
            self._store.fs.rm(self._tmp)
        else:
            self._store.ensure_folder(key.rsplit("/", 1)[0])
            self._store.fs.mv(self._tmp, key)
        return self.size

    def abort(self) -> None:
        if not self._file.closed:
            self._file.close()
        if self._store.fs.exists(self._tmp):
            self._store.fs.rm(self._tmp)


class BlobStore:
    def __init__(self, fs: AbstractFileSystem, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        self._folders: set[str] = set()
        self.ensure_folder(f"{self.root}/{TMP_DIR}")

    def ensure_folder(self, folder: str) -> None:
        """Create a folder once per process (object stores ignore folders anyway)."""
        if folder not in self._folders:
            self.fs.makedirs(folder, exist_ok=True)
            self._folders.add(folder)

    @classmethod
    def from_url(cls, url: str, options: dict[str, Any] | None = None) -> "BlobStore":
        fs, root = fsspec.core.url_to_fs(url, **(options or {}))
        return cls(fs, root)

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(blob_key(self.root, digest)))

    def writer(self) -> BlobWriter:
        return BlobWriter(self)

    def put(self, digest: str, data: bytes) -> int:
        writer = self.writer()
        try:
            writer.write(data)
        except BaseException:
            writer.abort()
            raise
        return writer.publish(digest)

    def open(self, digest: str) -> BinaryIO:
        return self.fs.open(blob_key(self.root, digest), "rb", block_size=READ_BLOCK)

    def read(self, digest: str) -> bytes:
        return self.fs.cat_file(blob_key(self.root, digest))

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
