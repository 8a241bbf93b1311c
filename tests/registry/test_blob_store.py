"""One suite for every fsspec backend of the blob store (S3 and GCS join it later)."""

import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest

from registry.errors import DigestMismatch
from registry.storage.blob_store import BlobStore
from registry.storage.layout import blob_key
from sdk.digest import hash_bytes


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "memory":
        # The memory filesystem is process-global: give each test its own root.
        root = f"memory://strata-test-{uuid.uuid4().hex}"
        yield BlobStore.from_url(root)
        fsspec.filesystem("memory").rm(root.removeprefix("memory://"), recursive=True)
    else:
        yield BlobStore.from_url(f"file://{tmp_path / 'blobs'}")


def test_put_then_open_returns_the_bytes(store: BlobStore) -> None:
    data = b"hello blob" * 1000
    digest = hash_bytes(data)
    assert not store.exists(digest)
    assert store.put(digest, data) == len(data)
    assert store.exists(digest)
    with store.open(digest) as stream:
        assert stream.read() == data
    assert list(store.iter_digests()) == [digest]


def test_keys_fan_out_by_digest_prefix(store: BlobStore) -> None:
    data = b"fan out"
    digest = hash_bytes(data)
    store.put(digest, data)
    assert store.fs.exists(f"{store.root}/{digest[:2]}/{digest}")


def test_streamed_write_is_verified_before_publishing(store: BlobStore) -> None:
    chunks = [b"a" * 100_000, b"b" * 100_000, b"c"]
    digest = hash_bytes(b"".join(chunks))
    writer = store.writer()
    for chunk in chunks:
        writer.write(chunk)
    assert not store.exists(digest)  # nothing visible until publish
    writer.publish(digest)
    assert store.read(digest) == b"".join(chunks)


def test_wrong_digest_is_refused_and_leaves_nothing(store: BlobStore) -> None:
    claimed = hash_bytes(b"what the client said")
    with pytest.raises(DigestMismatch, match=claimed):
        store.put(claimed, b"what the client sent")
    assert not store.exists(claimed)
    assert list(store.iter_digests()) == []
    assert store.fs.find(f"{store.root}/tmp") == []


def test_existing_blob_is_never_rewritten(store: BlobStore) -> None:
    data = b"written once"
    digest = hash_bytes(data)
    store.put(digest, data)
    before = store.fs.info(blob_key(store.root, digest))
    store.put(digest, data)
    after = store.fs.info(blob_key(store.root, digest))
    assert before.get("created") == after.get("created")
    assert before.get("mtime") == after.get("mtime")
    assert list(store.iter_digests()) == [digest]


def test_delete_removes_the_blob(store: BlobStore) -> None:
    data = b"short lived"
    digest = hash_bytes(data)
    store.put(digest, data)
    store.delete(digest)
    assert not store.exists(digest)
