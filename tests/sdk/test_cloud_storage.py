"""Artifacts on an s3:// and a gs:// store (moto, fake-gcs-server), end to end through
the real service: presigned transfer keeps blob bytes out of the API process, the
service re-hashes what clients put in the bucket, downloads verify byte for byte."""

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import sdk
from sdk.digest import hash_bytes
from tests.cloud import Bucket, fake_gcs, gcs_signing_key, moto, new_bucket  # noqa: F401
from tests.conftest import Server, make_tree, start_server, stop_server

MiB = 1024 * 1024


@pytest.fixture(scope="module", params=["s3", "gcs"])
def cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Bucket]]:
    """A service whose blob store is a fresh bucket (STRATA_STORAGE_URL)."""
    if request.param == "s3":
        bucket = new_bucket("s3", request.getfixturevalue("moto"))
    else:
        key = request.getfixturevalue("gcs_signing_key")
        bucket = new_bucket("gcs", request.getfixturevalue("fake_gcs"), key)
    env = {
        **bucket.env,
        "STRATA_STORAGE_URL": bucket.url,
        "STRATA_STORAGE_OPTIONS": json.dumps(bucket.options),
    }
    server = start_server(tmp_path_factory.mktemp(f"cloud-{request.param}") / "home", env)
    yield server, bucket
    stop_server(server)


@pytest.fixture
def service(cloud: tuple[Server, Bucket], monkeypatch: pytest.MonkeyPatch, project: str) -> Server:
    server, bucket = cloud
    monkeypatch.setenv("STRATA_URL", server.url)
    monkeypatch.setattr("sdk.connection._default", None)
    for key, value in bucket.env.items():  # to look into the bucket from the test
        monkeypatch.setenv(key, value)
    return server


def blob_bytes_received(server: Server) -> int:
    text = httpx.get(f"{server.url}/metrics").text
    match = re.search(r'strata_request_body_bytes_total\{resource="blobs"\} ([\d.e+]+)', text)
    return int(float(match.group(1))) if match else 0


def test_logged_artifact_downloads_byte_for_byte_without_bytes_through_the_service(
    service: Server, cloud: tuple[Server, Bucket], tmp_path: Path
) -> None:
    files = {f"small/{i:03d}.txt": f"small file {i}\n".encode() * 50 for i in range(40)}
    files["big/a.bin"] = os.urandom(6 * MiB)
    files["big/b.bin"] = os.urandom(3 * MiB)
    root = make_tree(tmp_path / "data", files)
    size = sum(len(data) for data in files.values())

    before = blob_bytes_received(service)
    art = sdk.Artifact("cloud-set", type="dataset")
    art.add_dir(root)
    art.save()
    received = blob_bytes_received(service) - before
    assert received < size / 100, f"the service received {received} of {size} bytes"

    _, bucket = cloud
    stored = bucket.filesystem().find(bucket.url.split("://", 1)[1])
    names = {key.rsplit("/", 1)[-1] for key in stored}
    assert {hash_bytes(data) for data in files.values()} <= names
    assert not [key for key in stored if "/tmp/" in key]

    fetched = sdk.Api().artifact(f"{art.qualified_name}")
    target = fetched.download(tmp_path / "out")
    for relative, data in files.items():
        assert Path(target, relative).read_bytes() == data
    fetched.verify(target)


def test_bytes_put_in_a_slot_must_match_the_claimed_digest(service: Server) -> None:
    claimed = hash_bytes(b"what the commit will name")
    with service.api() as api:
        [slot] = api.post("/blobs/uploads", json={"count": 1}).json()["slots"]
        httpx.put(slot["url"], content=b"something else entirely").raise_for_status()
        done = {"blobs": [{"token": slot["token"], "digest": claimed}]}
        refused = api.post("/blobs/uploads/complete", json=done)
        assert refused.status_code == 422
        assert claimed in refused.json()["detail"]
        assert api.post("/blobs/missing", json={"digests": [claimed]}).json() == {
            "digests": [claimed]
        }
        again = api.post("/blobs/uploads/complete", json=done)
        assert again.status_code == 422  # the slot's object was deleted
        assert "nothing was uploaded" in again.json()["detail"]


def test_bad_requests_are_typed_errors(service: Server) -> None:
    with service.api() as api:
        unknown = hash_bytes(b"never uploaded")
        assert api.post("/blobs/downloads", json={"digests": [unknown]}).status_code == 404
        assert api.post("/blobs/uploads", json={"count": 0}).status_code == 422
        bad_token = {"packs": ["../../ab/cd"]}
        response = api.post("/blobs/uploads/complete", json=bad_token)
        assert response.status_code == 422
        assert "not an upload slot token" in response.json()["detail"]
