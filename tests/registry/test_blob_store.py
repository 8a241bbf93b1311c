"""One suite for every fsspec backend of the blob store: memory, file, S3 (moto's
server) and GCS (fake-gcs-server), each on 127.0.0.1."""

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import httpx
import pytest

from registry.errors import DigestMismatch, InvalidInput
from registry.storage.blob_store import BlobStore
from registry.storage.layout import blob_key, temp_key
from registry.storage.preconditions import delete_if_unchanged
from registry.storage.presign import presigner_for
from sdk.digest import hash_bytes
from sdk.framing import frame_header
from tests.cloud import fake_gcs, gcs_signing_key, moto  # noqa: F401 (fixtures)

BACKENDS = ["memory", "file", "s3", "gcs"]
OBJECT_STORES = {"s3", "gcs"}
MiB = 1024 * 1024
# The smallest part S3 accepts, so a test blob of a few MiB is written in several parts.
SMALL_PART = 5 * MiB


@pytest.fixture(params=BACKENDS)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BlobStore]:
    yield from _store_on(request.param, request, tmp_path, monkeypatch)


@pytest.fixture(params=sorted(OBJECT_STORES))
def bucket(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BlobStore]:
    """A store on an object-store backend: only those presign."""
    yield from _store_on(request.param, request, tmp_path, monkeypatch)


def _store_on(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BlobStore]:
    # Every test gets a root of its own: the memory filesystem is process-global, and
    # the emulators live for the whole session.
    name = f"strata-test-{uuid.uuid4().hex[:12]}"
    if backend == "memory":
        yield BlobStore.from_url(f"memory://{name}")
        fsspec.filesystem("memory").rm(name, recursive=True)
    elif backend == "file":
        yield BlobStore.from_url(f"file://{tmp_path / 'blobs'}")
    elif backend == "s3":
        service = request.getfixturevalue("moto")
        for key, value in service.env.items():
            monkeypatch.setenv(key, value)
        yield _object_store(f"s3://{name}/blobs", {"skip_instance_cache": True})
    else:
        service = request.getfixturevalue("fake_gcs")
        for key, value in service.env.items():
            monkeypatch.setenv(key, value)
        key_file = request.getfixturevalue("gcs_signing_key")
        options = {"project": "test", "token": "anon", "skip_instance_cache": True}
        yield _object_store(f"gs://{name}/blobs", options, signing_key=key_file)


def _object_store(url: str, options: dict, signing_key: Path | None = None) -> BlobStore:
    fs, path = fsspec.core.url_to_fs(url, **options)
    fs.mkdir(path.split("/", 1)[0])  # the bucket, as an operator would have made it
    store = BlobStore.from_url(url, options, signing_key=signing_key)
    store.write_block = SMALL_PART
    return store


def backend_of(store: BlobStore) -> str:
    protocol = store.fs.protocol if isinstance(store.fs.protocol, str) else store.fs.protocol[0]
    return {"gcs": "gcs", "gs": "gcs", "s3": "s3", "s3a": "s3"}.get(protocol, protocol)


def temp_objects(store: BlobStore) -> list[str]:
    return store.fs.find(f"{store.root}/tmp")


# ---- every backend ---------------------------------------------------------------------


def test_put_then_open_returns_the_bytes(store: BlobStore) -> None:
    data = b"hello blob" * 1000
    digest = hash_bytes(data)
    assert not store.exists(digest)
    assert store.put(digest, data) == len(data)
    assert store.exists(digest)
    with store.open(digest, len(data)) as stream:
        assert stream.read() == data
    assert list(store.iter_digests()) == [digest]
    other = b"another blob"
    store.put(hash_bytes(other), other)
    asked = [hash_bytes(other), digest, hash_bytes(other)]
    assert store.read_many(asked) == {digest: data, hash_bytes(other): other}


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
    assert temp_objects(store) == []


def test_large_streamed_write_goes_up_in_parts(store: BlobStore) -> None:
    chunk = os.urandom(MiB)
    chunks = [chunk] * 12  # 12 MiB in 1 MiB writes, as the upload route hands them over
    digest = hash_bytes(b"".join(chunks))
    store.write_block = SMALL_PART
    writer = store.writer()
    for piece in chunks:
        writer.write(piece)
    if backend_of(store) == "s3":
        writer._file.close()  # finish the upload to look at the temporary object
        # A multipart object's ETag ends in -<number of parts>.
        assert store.fs.info(writer._tmp)["ETag"].strip('"').endswith("-3")
    writer.publish(digest)
    assert store.read(digest) == b"".join(chunks)


def test_wrong_digest_is_refused_and_leaves_nothing(store: BlobStore) -> None:
    claimed = hash_bytes(b"what the client said")
    with pytest.raises(DigestMismatch, match=claimed):
        store.put(claimed, b"what the client sent")
    writer = store.writer()
    writer.write(b"what the client streamed")
    with pytest.raises(DigestMismatch, match=claimed):
        writer.publish(claimed)
    assert not store.exists(claimed)
    assert list(store.iter_digests()) == []
    assert temp_objects(store) == []


def test_existing_blob_is_never_rewritten(store: BlobStore) -> None:
    data = b"written once"
    digest = hash_bytes(data)
    store.put(digest, data)
    before = store.fs.info(blob_key(store.root, digest))
    store.put(digest, data)
    writer = store.writer()
    writer.write(data)
    writer.publish(digest)
    after = store.fs.info(blob_key(store.root, digest))
    for stamp in ("created", "mtime", "LastModified", "generation", "updated"):
        assert before.get(stamp) == after.get(stamp)
    assert list(store.iter_digests()) == [digest]


def test_put_many_verifies_all_before_storing_any(store: BlobStore) -> None:
    blobs = [(hash_bytes(data), data) for data in (b"one", b"two", b"three")]
    assert store.put_many(blobs) == [(digest, len(data)) for digest, data in blobs]
    assert sorted(store.iter_digests()) == sorted(digest for digest, _ in blobs)
    good, bad = (hash_bytes(b"four"), b"four"), (hash_bytes(b"five"), b"not five")
    with pytest.raises(DigestMismatch):
        store.put_many([good, bad])
    assert not store.exists(good[0])


def test_delete_removes_the_blob(store: BlobStore) -> None:
    data = b"short lived"
    digest = hash_bytes(data)
    store.put(digest, data)
    store.delete(digest)
    assert not store.exists(digest)


def test_only_object_stores_presign(store: BlobStore) -> None:
    assert store.presigns == (backend_of(store) in OBJECT_STORES)


def test_unrecorded_other_bytes_under_a_digest_key_are_replaced(store: BlobStore) -> None:
    """An object under a digest's key without a blob row is not trusted: whoever
    stores that digest next re-hashes it, and wrong bytes give way to the right ones."""
    data = b"the real bytes" * 1000
    digest = hash_bytes(data)
    key = blob_key(store.root, digest)
    store.ensure_folder(key.rsplit("/", 1)[0])
    store.fs.pipe_file(key, b"a lie about the digest")
    store.put(digest, data)
    assert store.read(digest) == data

    store.fs.pipe_file(key, b"another lie")
    writer = store.writer()
    writer.write(data)
    writer.publish(digest)
    assert store.read(digest) == data
    assert temp_objects(store) == []


# ---- direct transfer (object stores) ---------------------------------------------------


def test_presigned_upload_to_the_digest_key_is_verified(bucket: BlobStore) -> None:
    data = os.urandom(3 * MiB)
    digest = hash_bytes(data)
    [url] = bucket.presign_blob_uploads([digest])
    assert httpx.URL(url).path.endswith(f"/{digest[:2]}/{digest}")
    assert httpx.put(url, content=data, headers=bucket.put_headers).status_code == 200
    assert bucket.publish_object(digest) == len(data)
    [download] = bucket.presign_downloads([digest])
    assert httpx.get(download).content == data
    assert temp_objects(bucket) == []  # no temporary copy, nothing left behind


def test_download_urls_are_handed_out_again_for_half_their_lifetime(
    bucket: BlobStore, request: pytest.FixtureRequest
) -> None:
    """Signing (an RSA operation on GCS) is paid once per blob and half-lifetime, not
    once per download; a URL with less than half its lifetime left is signed anew."""
    data = b"downloaded by many jobs"
    digest = hash_bytes(data)
    bucket.put(digest, data)
    key = blob_key(bucket.root, digest)
    gcs_key = request.getfixturevalue("gcs_signing_key") if backend_of(bucket) == "gcs" else None
    presigner = presigner_for(bucket.fs, ttl_seconds=6, signing_key=gcs_key)
    assert presigner is not None
    [first] = presigner.get_urls([key])
    time.sleep(1.2)  # a URL signed now would carry another timestamp
    assert presigner.get_urls([key]) == [first]
    time.sleep(2.0)  # more than half of the 6 s lifetime has passed
    [renewed] = presigner.get_urls([key])
    assert renewed != first
    assert httpx.get(renewed).content == data
    # The store's own presigner reuses its URLs too.
    assert bucket.presign_downloads([digest]) == bucket.presign_downloads([digest])


def test_signed_puts_carry_a_signed_create_if_absent_precondition(bucket: BlobStore) -> None:
    """A client cannot drop the precondition: it is part of the signature, so no URL
    can overwrite a blob published after the URL was signed."""
    digest = hash_bytes(b"any")
    [url] = bucket.presign_blob_uploads([digest])
    [(_token, slot)] = bucket.presign_uploads(1)
    for signed in (url, slot):
        params = httpx.URL(signed).params
        signed_headers = params.get("X-Amz-SignedHeaders") or params["X-Goog-SignedHeaders"]
        assert {name.lower() for name in bucket.put_headers} <= set(signed_headers.split(";"))


def test_wrong_bytes_put_to_a_digest_key_are_deleted(bucket: BlobStore) -> None:
    claimed = hash_bytes(b"the real file")
    [url] = bucket.presign_blob_uploads([claimed])
    httpx.put(url, content=b"something else", headers=bucket.put_headers).raise_for_status()
    with pytest.raises(DigestMismatch, match=claimed):
        bucket.publish_object(claimed)
    assert not bucket.exists(claimed)
    with pytest.raises(InvalidInput, match="nothing was uploaded"):
        bucket.publish_object(claimed)


def test_presigned_pack_of_small_blobs(bucket: BlobStore) -> None:
    blobs = [f"small {i}".encode() for i in range(50)] + [b""]
    pack = b"".join(frame_header(hash_bytes(b), len(b)) + b for b in blobs)
    [(token, url)] = bucket.presign_uploads(1)
    tmp_path = temp_key(bucket.root, token).split("/", 1)[1]
    assert httpx.URL(url).path.endswith(f"/{tmp_path}")
    httpx.put(url, content=pack, headers=bucket.put_headers).raise_for_status()
    published = bucket.publish_pack(token, max_bytes=MiB)
    assert published == [(hash_bytes(b), len(b)) for b in blobs]
    assert sorted(bucket.iter_digests()) == sorted({hash_bytes(b) for b in blobs})
    assert temp_objects(bucket) == []


# ---- S3 (moto enforces preconditions; fake-gcs-server ignores them) --------------------


@pytest.fixture
def s3_bucket(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[BlobStore]:
    yield from _store_on("s3", request, tmp_path, monkeypatch)


def test_a_signed_put_cannot_overwrite_an_object(s3_bucket: BlobStore) -> None:
    data = b"published"
    digest = hash_bytes(data)
    [url] = s3_bucket.presign_blob_uploads([digest])
    headers = s3_bucket.put_headers
    assert httpx.put(url, content=data, headers=headers).status_code == 200
    assert httpx.put(url, content=b"later lie", headers=headers).status_code == 412
    assert s3_bucket.read(digest) == data


def test_a_stale_delete_leaves_the_object_that_replaced_the_bad_one(
    s3_bucket: BlobStore,
) -> None:
    data = b"honest bytes"
    key = blob_key(s3_bucket.root, hash_bytes(data))
    s3_bucket.fs.pipe_file(key, b"bad bytes")
    bad = s3_bucket.fs.info(key)["ETag"]
    s3_bucket.fs.rm(key)  # someone else deleted them, then an honest client put its bytes
    s3_bucket.fs.pipe_file(key, data)
    delete_if_unchanged(s3_bucket.fs, key, bad)
    assert s3_bucket.fs.cat_file(key) == data
    delete_if_unchanged(s3_bucket.fs, key, s3_bucket.fs.info(key)["ETag"])
    assert not s3_bucket.fs.exists(key)
