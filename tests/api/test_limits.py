"""Every limit on a request is enforced by the real service with 413 or 422 and a
message naming the limit, stores nothing of the refused request, and lets a request
just within it through.

The module's service runs with small `STRATA_MAX_*` settings, so the tests stay
fast and show that the settings, not constants, decide.
"""

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from registry.settings import Settings
from sdk.digest import hash_bytes
from tests.api.helpers import (
    assert_refused,
    collection_url,
    commit,
    commit_manifest,
    frames,
    missing,
    published,
    put_blob,
    raw_manifest,
    tmp_files,
)
from tests.conftest import Server, start_server, stop_server

KIB = 1024
LIMITS = {
    "STRATA_MAX_REQUEST_BYTES": 64 * KIB,
    "STRATA_MAX_BATCH_BYTES": 256 * KIB,
    "STRATA_MAX_BLOB_BYTES": 512 * KIB,
    "STRATA_MAX_MANIFEST_BYTES": 4 * KIB,
    "STRATA_MAX_MANIFEST_ENTRIES": 20,
    "STRATA_MAX_FILTER_BYTES": 1 * KIB,
    "STRATA_MAX_FILTER_DEPTH": 4,
    "STRATA_MAX_FILTER_CONDITIONS": 10,
    "STRATA_MAX_METADATA_VALUE_BYTES": 1 * KIB,
}
PROJECT = "limits"


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = {name: str(value) for name, value in LIMITS.items()}
    srv = start_server(tmp_path_factory.mktemp("limits") / "home", env)
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture
def api(limited: Server) -> Iterator[httpx.Client]:
    with limited.api() as client:
        yield client


def post_with_declared_length(srv: Server, path: str, length: int, sent: bytes = b"") -> bytes:
    """POST announcing `length` body bytes but sending only `sent`; the raw answer.

    An answer at all proves the service did not wait for (read) the body."""
    address = urlsplit(srv.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        head = (
            f"POST /api/v1{path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        )
        sock.sendall(head.encode() + sent)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def chunked(data: bytes, size: int = 8 * KIB) -> Iterator[bytes]:
    """A body without Content-Length (httpx sends a generator chunked)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def digests_body(count: int) -> bytes:
    return json.dumps({"digests": [hash_bytes(str(i).encode()) for i in range(count)]}).encode()


# ---- request bodies -------------------------------------------------------------------


def test_a_declared_oversized_body_is_refused_before_it_is_read(limited):
    answer = post_with_declared_length(limited, "/blobs/missing", 10**12, sent=b'{"digests": [')
    status_line, _, rest = answer.partition(b"\r\n")
    assert b" 413 " in status_line, answer[:500]
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert "STRATA_MAX_REQUEST_BYTES" in body["detail"]
    assert str(LIMITS["STRATA_MAX_REQUEST_BYTES"]) in body["detail"]


def test_a_chunked_oversized_body_is_refused_once_it_passes_the_limit(api):
    body = digests_body(4000)  # ~140 KiB of JSON
    assert len(body) > LIMITS["STRATA_MAX_REQUEST_BYTES"]
    response = api.post(
        "/blobs/missing", content=chunked(body), headers={"content-type": "application/json"}
    )
    assert_refused(response, "STRATA_MAX_REQUEST_BYTES", status=413)


def test_a_body_within_the_limit_is_taken(api):
    body = digests_body(1500)  # ~52 KiB
    assert len(body) < LIMITS["STRATA_MAX_REQUEST_BYTES"]
    for content in (body, chunked(body)):
        response = api.post(
            "/blobs/missing", content=content, headers={"content-type": "application/json"}
        )
        assert response.status_code == 200, response.text
        assert len(response.json()["digests"]) == 1500


def test_a_blob_upload_has_its_own_larger_limit(limited, api):
    within = bytes(range(256)) * (400 * KIB // 256)  # over the JSON limit, under the blob's
    assert LIMITS["STRATA_MAX_REQUEST_BYTES"] < len(within) < LIMITS["STRATA_MAX_BLOB_BYTES"]
    assert put_blob(api, within).status_code == 201
    assert api.get(f"/blobs/{hash_bytes(within)}").content == within

    over = b"x" * (LIMITS["STRATA_MAX_BLOB_BYTES"] + 1)
    before = published(limited)
    assert_refused(put_blob(api, over), "STRATA_MAX_BLOB_BYTES", status=413)
    response = api.put(f"/blobs/{hash_bytes(over)}", content=chunked(over, 64 * KIB))
    assert_refused(response, "STRATA_MAX_BLOB_BYTES", status=413)
    assert missing(api, [hash_bytes(over)]) == [hash_bytes(over)]
    assert published(limited) == before
    assert tmp_files(limited) == []


def test_a_batch_upload_has_its_own_limit(limited, api):
    small = [bytes([i]) * (30 * KIB) for i in range(7)]  # ~210 KiB framed
    assert put_blob_batch(api, frames(*small)).status_code == 201
    assert missing(api, [hash_bytes(b) for b in small]) == []

    many = [bytes([100 + i]) * (30 * KIB) for i in range(10)]  # ~300 KiB framed
    body = frames(*many)
    assert len(body) > LIMITS["STRATA_MAX_BATCH_BYTES"]
    before = published(limited)
    assert_refused(put_blob_batch(api, body), "STRATA_MAX_BATCH_BYTES", status=413)
    streamed = put_blob_batch(api, chunked(body, 16 * KIB))
    assert_refused(streamed, "STRATA_MAX_BATCH_BYTES", status=413)
    # Frames that arrived whole before the limit was passed are valid blobs and may
    # stay; nothing else does.
    kept = set(published(limited)) - set(before)
    assert kept <= {hash_bytes(b) for b in many}
    assert hash_bytes(many[-1]) not in kept
    assert tmp_files(limited) == []


def put_blob_batch(api: httpx.Client, content: bytes | Iterator[bytes]) -> httpx.Response:
    return api.post("/blobs/batch", content=content)


# ---- manifests ------------------------------------------------------------------------


def manifest_with(entries: int, path_length: int = 8) -> tuple[bytes, dict[str, bytes]]:
    files = {f"{i:0{path_length}d}": b"same bytes" for i in range(entries)}
    return raw_manifest(files), files


def test_a_manifest_over_the_byte_limit_is_refused(api):
    manifest, files = manifest_with(12, path_length=300)
    assert len(manifest) > LIMITS["STRATA_MAX_MANIFEST_BYTES"]
    assert put_blob(api, b"same bytes").status_code == 201
    response = commit_manifest(api, PROJECT, "big-manifest", manifest)
    assert_refused(response, "STRATA_MAX_MANIFEST_BYTES", str(len(manifest)), status=413)
    assert api.get(f"{collection_url(PROJECT, 'big-manifest')}/versions").status_code == 404


def test_a_manifest_over_the_entry_limit_is_refused(api):
    assert put_blob(api, b"same bytes").status_code == 201
    manifest, _ = manifest_with(LIMITS["STRATA_MAX_MANIFEST_ENTRIES"] + 1)
    assert len(manifest) < LIMITS["STRATA_MAX_MANIFEST_BYTES"]
    response = commit_manifest(api, PROJECT, "many-entries", manifest)
    assert_refused(response, "STRATA_MAX_MANIFEST_ENTRIES", "21 entries", status=413)
    assert api.get(f"{collection_url(PROJECT, 'many-entries')}/versions").status_code == 404

    at_limit, _ = manifest_with(LIMITS["STRATA_MAX_MANIFEST_ENTRIES"])
    response = commit_manifest(api, PROJECT, "many-entries", at_limit)
    assert response.status_code == 201, response.text
    assert response.json()["version"]["file_count"] == LIMITS["STRATA_MAX_MANIFEST_ENTRIES"]


# ---- filters --------------------------------------------------------------------------


def query(api: httpx.Client, filter: Any, **fields: Any) -> httpx.Response:
    return api.post("/query/versions", json={"filter": filter, **fields})


def nested(depth: int) -> dict[str, Any]:
    """A filter whose `$and`s nest `depth` levels deep."""
    node: dict[str, Any] = {"name": "x"}
    for _ in range(depth - 1):
        node = {"$and": [node]}
    return node


def test_filter_limits(api):
    big = {"description": "d" * (LIMITS["STRATA_MAX_FILTER_BYTES"] + 1)}
    assert_refused(query(api, big), "STRATA_MAX_FILTER_BYTES", status=422)
    assert_refused(
        api.post("/query/collections", json={"filter": {}, "collection_filter": big}),
        "STRATA_MAX_FILTER_BYTES",
    )
    depth = LIMITS["STRATA_MAX_FILTER_DEPTH"]
    assert_refused(query(api, nested(depth + 1)), "STRATA_MAX_FILTER_DEPTH", status=422)
    conditions = LIMITS["STRATA_MAX_FILTER_CONDITIONS"]
    many = {"$or": [{"name": f"n{i}"} for i in range(conditions + 1)]}
    assert_refused(query(api, many), "STRATA_MAX_FILTER_CONDITIONS", status=422)

    within = [
        {"description": "d" * (LIMITS["STRATA_MAX_FILTER_BYTES"] - 40)},
        nested(depth),
        {"$or": [{"name": f"n{i}"} for i in range(conditions)]},
    ]
    for good in within:
        response = query(api, good)
        assert response.status_code == 200, (good, response.text)


# ---- pages ----------------------------------------------------------------------------


def test_page_sizes_are_bounded(api):
    commit(api, PROJECT, "paged", {"a.txt": b"a"})
    pages = {
        f"{collection_url(PROJECT, 'paged')}/versions": 1000,
        f"{collection_url(PROJECT, 'paged')}/versions/v0/files": 10_000,
        f"/projects/{PROJECT}/runs": 1000,
        "/deliveries": 1000,
    }
    for path, largest in pages.items():
        assert api.get(path, params={"limit": largest}).status_code == 200, path
        refused = api.get(path, params={"limit": largest + 1})
        assert_refused(refused, "limit", str(largest), status=422)
    for kind in ("registries", "collections", "versions", "runs"):
        assert api.post(f"/query/{kind}", json={"limit": 1000}).status_code == 200
        refused = api.post(f"/query/{kind}", json={"limit": 1001})
        assert_refused(refused, "limit", "1000", status=422)


# ---- metadata -------------------------------------------------------------------------


def test_metadata_value_size(api):
    limit = LIMITS["STRATA_MAX_METADATA_VALUE_BYTES"]
    at_limit = "v" * (limit - 2)  # the JSON string's quotes count
    over = {"notes": "v" * (limit - 1), "ok": 1}
    response = api.post(
        f"{collection_url(PROJECT, 'meta')}/versions",
        json={"type": "dataset", "manifest_digest": upload_manifest(api), "metadata": over},
    )
    assert_refused(response, "'notes'", "STRATA_MAX_METADATA_VALUE_BYTES", status=422)
    assert api.get(f"{collection_url(PROJECT, 'meta')}/versions").status_code == 404

    version = commit(api, PROJECT, "meta", {"m.txt": b"m"}, metadata={"notes": at_limit})
    assert version["version"]["metadata"] == {"notes": at_limit}
    url = f"{collection_url(PROJECT, 'meta')}/versions/v0"
    nested_over = {"deep": {"list": ["é" * (limit // 2)]}}  # 2 bytes per character in UTF-8
    assert_refused(api.patch(url, json={"metadata": nested_over}), "'deep'", status=422)
    assert api.get(url).json()["metadata"] == {"notes": at_limit}


def test_metadata_keys(api):
    manifest_digest = upload_manifest(api)
    body = {"type": "dataset", "manifest_digest": manifest_digest}
    keys = {f"k{i}": i for i in range(101)}
    url = f"{collection_url(PROJECT, 'keys')}/versions"
    response = api.post(url, json={**body, "metadata": keys})
    assert_refused(response, "101 top-level keys", "at most 100", status=422)
    keys.pop("k100")
    assert api.post(url, json={**body, "metadata": keys}).status_code == 201


def upload_manifest(api: httpx.Client) -> str:
    assert put_blob(api, b"m").status_code == 201
    manifest = raw_manifest({"m.txt": b"m"})
    assert put_blob(api, manifest).status_code == 201
    return hash_bytes(manifest)


# ---- documentation --------------------------------------------------------------------


def test_every_limit_is_a_documented_setting():
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    names = [f"STRATA_{name.upper()}" for name in Settings.model_fields if name.startswith("max_")]
    assert sorted(names) == sorted(LIMITS)
    for name in names:
        assert f"`{name}`" in readme, name
