"""Blob transfer: missing, single and framed uploads, downloads, and refused uploads.

Tests that count what the store holds use a service of their own (`store`), so the
blob folder holds only what this module put there.
"""

import os
import socket
import time
from collections.abc import Iterator

import pytest

from sdk.digest import hash_bytes
from sdk.framing import HEADER, FrameReader, frame_header
from tests.api.helpers import (
    assert_refused,
    blob_path,
    frames,
    missing,
    published,
    put_blob,
    tmp_files,
)
from tests.conftest import Server, start_server, stop_server


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("blobs") / "home")
    yield srv
    stop_server(srv)


def unique(label: str) -> bytes:
    return f"{label} {time.time_ns()} {os.urandom(8).hex()}".encode()


# ---- the happy path -------------------------------------------------------------------


def test_put_then_get_and_missing(store):
    data = unique("one blob")
    digest = hash_bytes(data)
    with store.api() as api:
        assert missing(api, [digest]) == [digest]
        response = put_blob(api, data)
        assert response.status_code == 201, response.text
        assert response.json() == {"digest": digest, "size": len(data)}
        assert missing(api, [digest]) == []
        got = api.get(f"/blobs/{digest}")
        assert got.status_code == 200
        assert got.content == data
    assert blob_path(store, digest).read_bytes() == data
    assert tmp_files(store) == []


def test_missing_keeps_order_and_drops_duplicates(store):
    held, absent_a, absent_b = unique("held"), unique("absent a"), unique("absent b")
    with store.api() as api:
        put_blob(api, held)
        digests = [hash_bytes(absent_b), hash_bytes(held), hash_bytes(absent_a)]
        assert missing(api, [*digests, digests[0]]) == [digests[0], digests[2]]


def test_batch_upload_and_framed_fetch(store):
    blobs = [unique(f"batch {i}") for i in range(5)] + [b""]
    digests = [hash_bytes(b) for b in blobs]
    with store.api() as api:
        response = api.post("/blobs/batch", content=frames(*blobs))
        assert response.status_code == 201, response.text
        assert response.json() == {"count": len(blobs)}
        assert missing(api, digests) == []
        wanted = [digests[3], digests[0], digests[5], digests[3]]
        fetched = api.post("/blobs/fetch", json={"digests": wanted})
        assert fetched.status_code == 200, fetched.text
    reader = FrameReader(1 << 20)
    got = list(reader.feed(fetched.content))
    reader.close()
    assert got == [(d, blobs[digests.index(d)]) for d in wanted]
    for digest, data in zip(digests, blobs, strict=True):
        assert blob_path(store, digest).read_bytes() == data


def test_reupload_is_accepted_and_does_not_rewrite_the_blob(store):
    data = unique("stored once")
    digest = hash_bytes(data)
    with store.api() as api:
        assert put_blob(api, data).status_code == 201
        path = blob_path(store, digest)
        before = path.stat()
        time.sleep(0.05)
        again = put_blob(api, data)
        assert again.status_code == 201, again.text
        assert again.json() == {"digest": digest, "size": len(data)}
        batched = api.post("/blobs/batch", content=frames(data))
        assert batched.status_code == 201, batched.text
    after = path.stat()
    assert (after.st_mtime_ns, after.st_ino) == (before.st_mtime_ns, before.st_ino)
    assert published(store)[digest] == data
    assert tmp_files(store) == []


def test_unknown_blob_is_404_naming_it(store):
    digest = hash_bytes(unique("never uploaded"))
    with store.api() as api:
        assert_refused(api.get(f"/blobs/{digest}"), digest, status=404)
        assert_refused(api.post("/blobs/fetch", json={"digests": [digest]}), digest, status=404)


# ---- refused uploads leave nothing behind ---------------------------------------------


def test_put_with_wrong_digest_is_refused_and_leaves_nothing(store):
    data, other = unique("real bytes"), unique("claimed bytes")
    claimed = hash_bytes(other)
    before = published(store)
    with store.api() as api:
        response = put_blob(api, data, digest=claimed)
        assert_refused(response, claimed, status=422)
        assert missing(api, [claimed, hash_bytes(data)]) == [claimed, hash_bytes(data)]
    assert published(store) == before
    assert tmp_files(store) == []


def test_batch_with_a_bad_frame_stores_none_of_the_bad_one(store):
    good_before, bad, good_after = unique("good 1"), unique("bad"), unique("good 2")
    claimed = hash_bytes(unique("what the bad frame claims"))
    body = frames(good_before, (claimed, bad), good_after)
    before = published(store)
    with store.api() as api:
        assert_refused(api.post("/blobs/batch", content=body), claimed)
        still_missing = set(missing(api, [hash_bytes(good_before), claimed, hash_bytes(bad)]))
    after = published(store)
    assert claimed in still_missing and hash_bytes(bad) in still_missing
    assert claimed not in after and hash_bytes(bad) not in after
    assert tmp_files(store) == []
    # A frame before the bad one may be kept, but then it must be whole and known as held:
    # a file the blob table does not list would be re-uploaded and never collected.
    new = {d: data for d, data in after.items() if d not in before}
    assert set(new) <= {hash_bytes(good_before), hash_bytes(good_after)}
    for digest, data in new.items():
        assert hash_bytes(data) == digest
    good = hash_bytes(good_before)
    file_present, reported_missing = good in new, good in still_missing
    assert file_present != reported_missing, (
        f"blob {good} before the bad frame: file published={file_present}, "
        f"but /blobs/missing reports it missing={reported_missing}"
    )


def test_truncated_batch_is_refused_and_the_cut_blob_is_not_stored(store):
    whole, cut = unique("whole frame"), unique("cut frame") * 4
    body = frames(whole) + frame_header(hash_bytes(cut), len(cut)) + cut[:10]
    before = published(store)
    with store.api() as api:
        response = api.post("/blobs/batch", content=body)
        # The route promises that "the error names the bad one".
        assert_refused(response, hash_bytes(cut))
        assert missing(api, [hash_bytes(cut)]) == [hash_bytes(cut)]
    after = published(store)
    assert hash_bytes(cut) not in after
    assert set(after) - set(before) <= {hash_bytes(whole)}
    assert tmp_files(store) == []


def test_batch_cut_inside_a_header_is_refused(store):
    body = frames(unique("header cut"))[: HEADER.size - 3]
    before = published(store)
    with store.api() as api:
        assert_refused(api.post("/blobs/batch", content=body), "framed body")
    assert published(store) == before
    assert tmp_files(store) == []


def test_oversized_frame_is_refused_naming_it(store):
    digest = hash_bytes(b"pretend")
    body = frame_header(digest, 1 << 40) + b"x" * 100
    before = published(store)
    with store.api() as api:
        assert_refused(api.post("/blobs/batch", content=body), digest)
    assert published(store) == before
    assert tmp_files(store) == []


@pytest.mark.parametrize(
    "bad",
    ["not-a-digest", "ABCDEF0123456789ABCDEF0123456789", "0" * 31, "0" * 33, "g" * 32],
)
def test_non_digests_are_refused(store, bad):
    with store.api() as api:
        assert_refused(api.post("/blobs/missing", json={"digests": [bad]}), bad)
        assert_refused(api.post("/blobs/fetch", json={"digests": [bad]}), bad)
        assert_refused(api.get(f"/blobs/{bad}"), bad)
        assert_refused(api.put(f"/blobs/{bad}", content=b"x"), bad)
    assert tmp_files(store) == []


def test_upload_cut_off_by_the_client_leaves_nothing(store):
    """The client sends part of the body it announced, then hangs up."""
    data = unique("cut off") * 1000
    digest = hash_bytes(data)
    host, port = store.url.removeprefix("http://").split(":")
    before = published(store)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = (
            f"PUT /api/v1/blobs/{digest} HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Length: {len(data)}\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        sock.sendall(head.encode() + data[: len(data) // 3])
        deadline = time.monotonic() + 10
        while not tmp_files(store) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert tmp_files(store), "the upload never started"
    deadline = time.monotonic() + 10
    while tmp_files(store) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert tmp_files(store) == []
    assert published(store) == before
    with store.api() as api:
        assert missing(api, [digest]) == [digest]


def test_completing_a_direct_upload_on_a_proxying_store_is_refused(store):
    """A file:// store hands out no upload URLs, so there is nothing to complete: a
    named 422, not a crash in the presigning code."""
    digest = hash_bytes(unique("never put"))
    with store.api() as api:
        response = api.post("/blobs/uploads/complete", json={"digests": [digest]})
        assert response.status_code == 422, response.text
        assert "no direct upload to complete" in response.json()["detail"]
        assert missing(api, [digest]) == [digest]
