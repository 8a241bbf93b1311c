"""Bad input is refused with a 4xx naming the problem, and changes nothing.

One service of this module's own holds some good data; every test sends something
malformed, checks the answer, then checks that the store still holds exactly the good
data (plus any well-formed blob the test uploaded on purpose, such as a manifest), that
no upload is left half-written under tmp/, and that no version appeared.
"""

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from sdk.digest import hash_bytes
from sdk.framing import frame_header
from tests.api.helpers import (
    assert_refused,
    collection_url,
    commit,
    frames,
    manifest_of,
    missing,
    published,
    put_blob,
    raw_manifest,
    tmp_files,
    versions,
)
from tests.conftest import Server, start_server, stop_server

PROJECT = "bad-input"
GOOD = "good"
V0 = {"a.txt": b"alpha", "sub/b.bin": bytes(range(256))}
V1 = {"a.txt": b"alpha", "c.txt": b"gamma"}


@dataclass
class Registry:
    server: Server
    api: httpx.Client
    baseline: dict[str, bytes]
    good_versions: list[dict[str, Any]]
    allowed: dict[str, bytes] = field(default_factory=dict)

    def upload(self, data: bytes) -> str:
        """Upload a well-formed blob on purpose (it may stay in the store)."""
        response = put_blob(self.api, data)
        assert response.status_code == 201, response.text
        self.allowed[hash_bytes(data)] = data
        return hash_bytes(data)

    def commit_raw(self, collection: str, manifest: bytes, **fields: Any) -> httpx.Response:
        body = {"type": "dataset", "manifest_digest": self.upload(manifest), **fields}
        return self.api.post(f"{collection_url(PROJECT, collection)}/versions", json=body)

    def assert_intact(self, *absent_collections: str) -> None:
        assert published(self.server) == {**self.baseline, **self.allowed}
        assert tmp_files(self.server) == []
        assert versions(self.api, PROJECT, GOOD) == self.good_versions
        for name in absent_collections:
            response = self.api.get(f"/projects/{PROJECT}/collections/{name}")
            assert response.status_code == 404, response.text
            assert self.api.get(f"{collection_url(PROJECT, name)}/versions").status_code == 404


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    srv = start_server(tmp_path_factory.mktemp("bad-input") / "home")
    try:
        with srv.api() as api:
            commit(api, PROJECT, GOOD, V0, aliases=["best"], tags=["first"])
            commit(api, PROJECT, GOOD, V1)
            baseline = published(srv)
            # The good data: 3 file blobs and 2 manifests, all published as files.
            assert {hash_bytes(d) for d in [*V0.values(), *V1.values()]} < set(baseline)
            assert len(baseline) == 5
            yield Registry(srv, api, baseline, versions(api, PROJECT, GOOD))
    finally:
        stop_server(srv)


@pytest.fixture
def reg(registry: Registry) -> Registry:
    registry.assert_intact()
    return registry


def quote_segment(value: str) -> str:
    return quote(value, safe="")


# ---- path safety at the server --------------------------------------------------------

CAFE_NFC = unicodedata.normalize("NFC", "café.txt")
CAFE_NFD = unicodedata.normalize("NFD", "café.txt")

UNSAFE_MANIFESTS = {
    "parent": ([("../x", b"x")], ["../x", ".."]),
    "parent-inside": ([("a/../../x", b"x")], ["a/../../x", ".."]),
    "absolute": ([("/abs", b"x")], ["/abs", "absolute"]),
    "empty-segment": ([("a//b", b"x")], ["a//b", "empty segment"]),
    "trailing-slash": ([("a/", b"x")], ["a/", "empty segment"]),
    "dot-segment": ([("a/./b", b"x")], ["a/./b", "'.'"]),
    "empty-path": ([("", b"x")], ["path"]),
    "backslash": ([("a\\b", b"x")], ["backslash"]),
    "nul": ([("a\x00b", b"x")], ["NUL"]),
    "exact-duplicate": ([("a.txt", b"x"), ("a.txt", b"y")], ["a.txt", "twice"]),
    "nfc-nfd-duplicate": ([(CAFE_NFC, b"x"), (CAFE_NFD, b"y")], ["caf", "twice"]),
}


@pytest.mark.parametrize("case", list(UNSAFE_MANIFESTS))
def test_unsafe_manifest_paths_are_refused(reg, case):
    entries, mentions = UNSAFE_MANIFESTS[case]
    for data in {data for _, data in entries}:
        reg.upload(data)
    manifest = raw_manifest(entries)
    if case == "nfc-nfd-duplicate":
        assert CAFE_NFC != CAFE_NFD
        assert CAFE_NFC.encode() in manifest and CAFE_NFD.encode() in manifest
    if case == "exact-duplicate":
        assert manifest.count(b'"a.txt"') == 2

    # Into a new collection: refused, and the collection is not created either.
    assert_refused(reg.commit_raw(f"new-{case}", manifest), *mentions, status=422)
    # Into the existing collection: refused, no version.
    assert_refused(reg.commit_raw(GOOD, manifest), *mentions, status=422)
    reg.assert_intact(f"new-{case}")


def test_nfc_and_nfd_name_the_same_file(reg):
    """Committed under NFD, the file is listed (and found) under its NFC form."""
    reg.upload(b"x")
    response = reg.commit_raw("normalized", raw_manifest([(CAFE_NFD, b"x")]))
    assert response.status_code == 201, response.text
    files = reg.api.get(f"{collection_url(PROJECT, 'normalized')}/versions/v0/files").json()
    assert [f["path"] for f in files["files"]] == [CAFE_NFC]


# ---- uploads --------------------------------------------------------------------------


def test_wrong_digest_upload(reg):
    claimed = hash_bytes(b"what the client says")
    assert_refused(put_blob(reg.api, b"what it sends", digest=claimed), claimed, status=422)
    assert missing(reg.api, [claimed, hash_bytes(b"what it sends")]) == [
        claimed,
        hash_bytes(b"what it sends"),
    ]
    reg.assert_intact()


def test_wrong_digest_of_an_existing_blob_does_not_touch_it(reg):
    target = hash_bytes(V0["a.txt"])
    assert_refused(put_blob(reg.api, b"impostor", digest=target), target, status=422)
    assert reg.api.get(f"/blobs/{target}").content == V0["a.txt"]
    reg.assert_intact()


def test_batch_whose_only_frame_is_bad(reg):
    claimed = hash_bytes(b"claimed")
    response = reg.api.post("/blobs/batch", content=frames((claimed, b"sent")))
    assert_refused(response, claimed)
    assert missing(reg.api, [claimed]) == [claimed]
    reg.assert_intact()


def test_truncated_batch(reg):
    data = b"0123456789" * 10
    body = frame_header(hash_bytes(data), len(data)) + data[:37]
    assert_refused(reg.api.post("/blobs/batch", content=body))
    assert missing(reg.api, [hash_bytes(data)]) == [hash_bytes(data)]
    reg.assert_intact()


@pytest.mark.parametrize("bad", ["nope", "0" * 31, "Z" * 32])
def test_non_digest_in_missing(reg, bad):
    assert_refused(reg.api.post("/blobs/missing", json={"digests": [bad]}), bad)
    reg.assert_intact()


# ---- commits --------------------------------------------------------------------------


def test_commit_naming_a_missing_blob(reg):
    absent = b"never uploaded " + bytes(8)
    manifest = manifest_of({"a.txt": V0["a.txt"], "gone.bin": absent}).to_bytes()
    assert_refused(reg.commit_raw("names-missing", manifest), hash_bytes(absent), status=422)
    assert_refused(reg.commit_raw(GOOD, manifest), hash_bytes(absent), status=422)
    reg.assert_intact("names-missing")


def test_commit_of_a_manifest_never_uploaded(reg):
    digest = hash_bytes(b"no such manifest")
    body = {"type": "dataset", "manifest_digest": digest}
    response = reg.api.post(f"{collection_url(PROJECT, 'no-manifest')}/versions", json=body)
    assert_refused(response, digest)
    reg.assert_intact("no-manifest")


def test_commit_with_a_manifest_digest_that_is_not_a_digest(reg):
    body = {"type": "dataset", "manifest_digest": "../../etc/passwd"}
    response = reg.api.post(f"{collection_url(PROJECT, 'odd-digest')}/versions", json=body)
    assert_refused(response, "../../etc/passwd")
    reg.assert_intact("odd-digest")


MALFORMED_MANIFESTS = {
    "not-json": (b"this is not JSON {", ["JSON"]),
    "not-utf8": (b'{"entries": {"\xff": 1}}', ["JSON"]),
    "array": (b"[]", ["object"]),
    "other-hash": (b'{"entries":{},"hash":"sha256","version":1}', ["hash"]),
    "other-version": (b'{"entries":{},"hash":"xxh3-128","version":7}', ["version"]),
    "entries-list": (b'{"entries":[],"hash":"xxh3-128","version":1}', ["entries"]),
    "no-size": (
        b'{"entries":{"a":{"digest":"%s"}},"hash":"xxh3-128","version":1}'
        % hash_bytes(b"alpha").encode(),
        ["size"],
    ),
    "negative-size": (
        b'{"entries":{"a":{"digest":"%s","size":-1}},"hash":"xxh3-128","version":1}'
        % hash_bytes(b"alpha").encode(),
        ["size"],
    ),
    "bad-digest": (
        b'{"entries":{"a":{"digest":"xyz","size":1}},"hash":"xxh3-128","version":1}',
        ["digest"],
    ),
    "bad-reference": (
        b'{"entries":{"a":{"digest":"d","ref":"ftp://x/y","size":1}},'
        b'"hash":"xxh3-128","version":1}',
        ["ftp://x/y"],
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED_MANIFESTS))
def test_malformed_manifest(reg, case):
    manifest, mentions = MALFORMED_MANIFESTS[case]
    response = reg.commit_raw(f"malformed-{case}", manifest)
    assert_refused(response, hash_bytes(manifest), *mentions, status=422)
    reg.assert_intact(f"malformed-{case}")


def test_collection_type_mismatch_is_a_conflict(reg):
    manifest = manifest_of({"new.txt": V0["a.txt"]}).to_bytes()
    response = reg.commit_raw(GOOD, manifest, type="model")
    assert_refused(response, "dataset", "model", status=409)
    reg.assert_intact()


def test_too_much_metadata(reg):
    metadata = {f"k{i}": i for i in range(101)}
    manifest = manifest_of({"meta.txt": V0["a.txt"]}).to_bytes()
    response = reg.commit_raw("too-much-metadata", manifest, metadata=metadata)
    assert_refused(response, "metadata", "100")
    url = f"{collection_url(PROJECT, GOOD)}/versions/v0"
    patch = reg.api.patch(url, json={"metadata": metadata})
    assert_refused(patch, "metadata", "100")
    reg.assert_intact("too-much-metadata")


def test_exactly_100_metadata_keys_is_fine(reg):
    metadata = {f"k{i}": i for i in range(100)}
    manifest = manifest_of({"meta.txt": V0["a.txt"]}).to_bytes()
    response = reg.commit_raw("max-metadata", manifest, metadata=metadata)
    assert response.status_code == 201, response.text
    assert response.json()["version"]["metadata"] == metadata


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/blobs/missing"),
        ("POST", "/blobs/fetch"),
        ("POST", f"{collection_url(PROJECT, GOOD)}/versions"),
        ("PATCH", f"{collection_url(PROJECT, GOOD)}/versions/v0"),
        ("PUT", f"{collection_url(PROJECT, GOOD)}/aliases/prod"),
    ],
)
def test_malformed_json_body(reg, method, path):
    response = reg.api.request(
        method, path, content=b'{"digests": [', headers={"content-type": "application/json"}
    )
    assert_refused(response, "JSON")
    reg.assert_intact()


def test_wrong_body_shape(reg):
    response = reg.api.post(f"{collection_url(PROJECT, GOOD)}/versions", json={"type": "dataset"})
    assert_refused(response, "manifest_digest")
    response = reg.api.post("/blobs/missing", json={"digests": "abc"})
    assert_refused(response, "digests")
    reg.assert_intact()


# ---- names ----------------------------------------------------------------------------

BAD_NAMES = ["bad name!", "-x", "x" * 200, ".hidden", "a/b", "ünï"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_invalid_project_or_collection_name_on_commit(reg, bad):
    manifest = manifest_of({"a.txt": V0["a.txt"]}).to_bytes()
    reg.upload(manifest)
    body = {"type": "dataset", "manifest_digest": hash_bytes(manifest)}
    for project, collection in [(bad, GOOD), (PROJECT, bad)]:
        url = f"/projects/{quote_segment(project)}/collections/{quote_segment(collection)}/versions"
        response = reg.api.post(url, json=body)
        assert 400 <= response.status_code < 500, response.text
        if response.status_code != 404:  # a '/' in a name may route nowhere
            assert_refused(response, bad[:50])
    reg.assert_intact()
    projects = [p["name"] for p in reg.api.get("/projects").json()]
    assert bad not in projects


@pytest.mark.parametrize("bad", ["bad name!", "-x", "x" * 200])
def test_invalid_names_on_lookup(reg, bad):
    quoted = quote_segment(bad)
    assert_refused(reg.api.get(f"/projects/{quoted}/collections/{GOOD}/versions"), bad[:50])
    assert_refused(reg.api.get(f"/projects/{PROJECT}/collections/{quoted}/versions"), bad[:50])
    reg.assert_intact()


def test_invalid_artifact_type(reg):
    manifest = manifest_of({"a.txt": V0["a.txt"]}).to_bytes()
    assert_refused(reg.commit_raw("bad-type", manifest, type="bad type!"), "bad type!")
    reg.assert_intact("bad-type")


@pytest.mark.parametrize("bad", ["v3", "bad name!", "-x", "x" * 200, hash_bytes(b"alias")])
def test_invalid_alias_names(reg, bad):
    url = f"{collection_url(PROJECT, GOOD)}/aliases/{quote_segment(bad)}"
    assert_refused(reg.api.put(url, json={"version": "v0"}), bad[:50])
    manifest = manifest_of({"alias.txt": V0["a.txt"]}).to_bytes()
    assert_refused(reg.commit_raw("bad-alias", manifest, aliases=[bad]), bad[:50])
    patch = reg.api.patch(f"{collection_url(PROJECT, GOOD)}/versions/v0", json={"aliases": [bad]})
    assert_refused(patch, bad[:50])
    reg.assert_intact("bad-alias")


def test_invalid_tag(reg):
    manifest = manifest_of({"tag.txt": V0["a.txt"]}).to_bytes()
    assert_refused(reg.commit_raw("bad-tag", manifest, tags=["no spaces"]), "no spaces")
    reg.assert_intact("bad-tag")


def test_latest_cannot_be_set_or_removed_by_hand(reg):
    aliases = f"{collection_url(PROJECT, GOOD)}/aliases"
    assert_refused(reg.api.put(f"{aliases}/latest", json={"version": "v0"}), "latest")
    assert_refused(reg.api.delete(f"{aliases}/latest"), "latest")
    reg.assert_intact()


# ---- unknown things -------------------------------------------------------------------


@pytest.mark.parametrize(
    "selector", ["v7", "v00x", "nonexistent-alias", hash_bytes(b"no such version")]
)
def test_unknown_version_or_alias(reg, selector):
    url = f"{collection_url(PROJECT, GOOD)}/versions/{selector}"
    for response in (
        reg.api.get(url),
        reg.api.get(f"{url}/files"),
        reg.api.patch(url, json={"description": "x"}),
        reg.api.delete(url),
        reg.api.put(f"{collection_url(PROJECT, GOOD)}/aliases/prod", json={"version": selector}),
    ):
        assert_refused(response, selector, status=404)
    reg.assert_intact()


def test_unknown_alias_removal(reg):
    url = f"{collection_url(PROJECT, GOOD)}/aliases/never-set"
    assert_refused(reg.api.delete(url), "never-set", status=404)
    reg.assert_intact()


def test_unknown_project_and_collection(reg):
    response = reg.api.get("/projects/no-such-project/collections")
    assert_refused(response, "no-such-project", status=404)
    url = collection_url(PROJECT, "no-such-collection")
    assert_refused(reg.api.get(f"{url}/versions/v0"), "no-such-collection", status=404)
    assert_refused(reg.api.get(f"{url}/versions"), "no-such-collection", status=404)
    assert_refused(reg.api.delete(f"{url}/aliases/x"), "no-such-collection", status=404)
    reg.assert_intact("no-such-collection")


def test_deleting_a_version_that_holds_an_alias_is_a_conflict(reg):
    response = reg.api.delete(f"{collection_url(PROJECT, GOOD)}/versions/v0")
    assert_refused(response, "best", status=409)
    reg.assert_intact()


@pytest.mark.parametrize("query", ["limit=0", "limit=10001", "offset=-1", "limit=abc"])
def test_bad_file_listing_parameters(reg, query):
    response = reg.api.get(f"{collection_url(PROJECT, GOOD)}/versions/v0/files?{query}")
    assert_refused(response, query.split("=")[0])
    reg.assert_intact()


def test_good_data_still_downloads(reg):
    """After everything above, the good versions read back byte for byte."""
    for selector, files in (("v0", V0), ("best", V0), ("v1", V1), ("latest", V1)):
        url = f"{collection_url(PROJECT, GOOD)}/versions/{selector}/files"
        listing = reg.api.get(url).json()["files"]
        assert {f["path"] for f in listing} == set(files)
        for entry in listing:
            blob = reg.api.get(f"/blobs/{entry['digest']}")
            assert blob.content == files[entry["path"]]
    reg.assert_intact()


# ---- integers beyond what the database stores (found by fuzzing) ----------------------

HUGE = 2**80


def test_huge_offsets_are_refused_not_overflowed(reg):
    for url in (
        f"{collection_url(PROJECT, GOOD)}/versions",
        f"/projects/{PROJECT}/runs",
        f"{collection_url(PROJECT, GOOD)}/versions/v0/files",
    ):
        response = reg.api.get(url, params={"offset": HUGE})
        assert response.status_code == 422, (url, response.text)
        assert "offset" in response.text
    reg.assert_intact()


def test_a_version_number_beyond_any_index_is_not_found(reg):
    response = reg.api.get(f"{collection_url(PROJECT, GOOD)}/versions/v{HUGE}")
    assert response.status_code == 404, response.text
    assert f"v{HUGE}" in response.json()["detail"]


def test_a_metric_step_beyond_64_bits_is_refused(reg):
    run = reg.api.post(f"/projects/{PROJECT}/runs", json={}).json()["run"]["id"]
    point = {"key": "loss", "step": HUGE, "value": 0.5, "timestamp": "2026-01-01T00:00:00Z"}
    response = reg.api.post(f"/projects/{PROJECT}/runs/{run}/metrics", json={"points": [point]})
    assert response.status_code == 422, response.text
    assert "step" in response.text
    assert reg.api.get(f"/projects/{PROJECT}/runs/{run}/metrics").json() == []


def test_a_metric_batch_is_checked_point_by_point(reg):
    run = reg.api.post(f"/projects/{PROJECT}/runs", json={}).json()["run"]["id"]
    path = f"/projects/{PROJECT}/runs/{run}/metrics"
    good = {"key": "loss", "step": 1, "value": 0.5, "timestamp": "2026-01-01T00:00:00Z"}
    bad_value = {**good, "step": 2, "value": "NaN"}
    response = reg.api.post(path, json={"points": [good, bad_value]})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "points", 1, "value"]
    broken = reg.api.post(path, content=b'{"points": [' + b"1" * 100_000)
    assert broken.status_code == 422 and "Invalid JSON" in broken.text
    assert len(broken.content) < 1000  # the body is not echoed back
    assert reg.api.get(path).json() == []  # nothing of a refused batch is stored


def test_a_metric_timestamp_without_offset_is_utc(reg):
    run = reg.api.post(f"/projects/{PROJECT}/runs", json={}).json()["run"]["id"]
    path = f"/projects/{PROJECT}/runs/{run}/metrics"
    point = {"key": "loss", "step": 0, "value": 0.5, "timestamp": "2026-01-01T12:00:00"}
    assert reg.api.post(path, json={"points": [point]}).status_code == 204
    assert reg.api.get(path).json()[0]["timestamp"] == "2026-01-01T12:00:00Z"


# ---- values a database cannot hold (found by schemathesis on PostgreSQL) --------------


def test_nul_characters_are_kept_or_refused_never_a_server_error(reg):
    """PostgreSQL refuses NUL in text and JSON; SQLite keeps it. Either way a client
    gets its value back or a 422, never a 500."""
    run = reg.api.post(f"/projects/{PROJECT}/runs", json={}).json()["run"]["id"]
    point = {"key": "lo\x00ss", "step": 0, "value": 0.5, "timestamp": "2026-01-01T00:00:00Z"}
    metrics = f"/projects/{PROJECT}/runs/{run}/metrics"
    response = reg.api.post(metrics, json={"points": [point]})
    assert response.status_code in (204, 422), response.text
    stored = reg.api.get(metrics).json()
    assert stored == ([] if response.status_code == 422 else [point])
    for body in ({"name": "a\x00b"}, {"config": {"k": "a\x00b"}}, {"summary": {"a\x00": 1}}):
        response = reg.api.patch(f"/projects/{PROJECT}/runs/{run}", json=body)
        assert response.status_code in (200, 422), response.text
        if response.status_code == 200:  # (the summary also holds the last metrics)
            for key, value in body.items():
                got = response.json()[key]
                assert got == value or got.items() >= value.items()
    url = f"{collection_url(PROJECT, GOOD)}/versions/v1"
    response = reg.api.patch(url, json={"description": "x\x00y"})
    assert response.status_code in (200, 422), response.text
    if response.status_code == 422:
        assert "NUL" in response.json()["detail"]
    reg.api.patch(url, json={"description": ""})
    reg.good_versions = versions(reg.api, PROJECT, GOOD)
    reg.assert_intact()


# ---- values of another JSON type (found by schemathesis) ------------------------------


def test_values_are_taken_as_their_declared_type_not_coerced(reg):
    """`0` is no boolean, `false` no number and a number no time."""
    runs = f"/projects/{PROJECT}/runs"
    assert_refused(reg.api.post(runs, json={"resume": 0}), "resume", status=422)
    run = reg.api.post(runs, json={}).json()["run"]["id"]
    point = {"key": "loss", "step": 1, "value": 0.5, "timestamp": "2026-01-01T00:00:00Z"}
    for wrong in ({"timestamp": 0}, {"value": False}, {"step": 1.0}, {"key": 7}):
        response = reg.api.post(f"{runs}/{run}/metrics", json={"points": [{**point, **wrong}]})
        assert_refused(response, *wrong, status=422)
    assert reg.api.get(f"{runs}/{run}/metrics").json() == []
    url = f"{collection_url(PROJECT, GOOD)}/versions/v0"
    assert_refused(reg.api.patch(url, json={"description": 5}), "description", status=422)
    assert_refused(reg.api.post("/query/versions", json={"limit": "10"}), "limit", status=422)
    reg.assert_intact()


def test_an_automation_takes_numbers_and_booleans_only_as_such(reg):
    event = {
        "scope": {"type": "project", "name": PROJECT},
        "event": "run.metric.threshold",
        "filter": {"kind": "metric_threshold", "name": "loss", "cmp": "<", "threshold": 0.5},
    }
    body = {"event": event, "action": {"action": "no_op"}, "name": "strict-numbers"}
    for wrong in ({"threshold": False}, {"threshold": "0.5"}, {"window": True}):
        bad = {**body, "event": {**event, "filter": {**event["filter"], **wrong}}}
        assert_refused(reg.api.post("/automations", json=bad), *wrong, status=422)
    assert_refused(reg.api.post("/automations", json={**body, "enabled": 1}), "enabled")
    assert reg.api.get("/automations/strict-numbers").status_code == 404
    created = reg.api.post("/automations", json=body)
    assert created.status_code == 201, created.text
    patch = reg.api.patch("/automations/strict-numbers", json={"enabled": 0})
    assert_refused(patch, "enabled", status=422)
    assert reg.api.get("/automations/strict-numbers").json()["enabled"] is True
    assert reg.api.delete("/automations/strict-numbers").status_code == 204
