"""Artifacts on an s3:// and a gs:// store (moto, fake-gcs-server), end to end through
the real service: presigned transfer keeps blob bytes out of the API process, the
service re-hashes what clients put in the bucket, downloads verify byte for byte."""

import json
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

import sdk
from sdk.digest import hash_bytes
from sdk.errors import IntegrityError, NotFoundError
from sdk.framing import FrameReader
from tests.cloud import Bucket, fake_gcs, gcs_signing_key, moto, new_bucket  # noqa: F401
from tests.conftest import Server, make_tree, start_server, stop_server

MiB = 1024 * 1024


def cloud_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, *, presign: bool
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
        "STRATA_STORAGE_PRESIGN": str(presign).lower(),
    }
    home = tmp_path_factory.mktemp(f"cloud-{request.param}-presign-{presign}") / "home"
    server = start_server(home, env)
    yield server, bucket
    stop_server(server)


@pytest.fixture(scope="module", params=["s3", "gcs"])
def cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Bucket]]:
    yield from cloud_server(request, tmp_path_factory, presign=True)


@pytest.fixture(scope="module", params=["s3", "gcs"])
def proxying_cloud(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Bucket]]:
    """STRATA_STORAGE_PRESIGN=false: blob bytes go through the service."""
    yield from cloud_server(request, tmp_path_factory, presign=False)


def use_service(
    cloud: tuple[Server, Bucket], monkeypatch: pytest.MonkeyPatch
) -> tuple[Server, Bucket]:
    server, bucket = cloud
    monkeypatch.setenv("STRATA_URL", server.url)
    monkeypatch.setattr("sdk.connection._default", None)
    for key, value in bucket.env.items():  # to look into the bucket from the test
        monkeypatch.setenv(key, value)
    return cloud


@pytest.fixture
def service(cloud: tuple[Server, Bucket], monkeypatch: pytest.MonkeyPatch, project: str) -> Server:
    return use_service(cloud, monkeypatch)[0]


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


def blob_url(api: httpx.Client, digest: str) -> tuple[str, dict[str, str]]:
    offer = api.post("/blobs/uploads", json={"digests": [digest]}).json()
    return offer["blobs"][digest], offer["headers"]


def missing(api: httpx.Client, digest: str) -> bool:
    return api.post("/blobs/missing", json={"digests": [digest]}).json()["digests"] == [digest]


def log_file(root: Path, name: str, data: bytes) -> sdk.Artifact:
    art = sdk.Artifact(name, type="dataset")
    art.add_file(str(make_tree(root, {"f.bin": data}) / "f.bin"))
    art.save()
    return art


def downloaded(art: sdk.Artifact, target: Path) -> bytes:
    return Path(sdk.Api().artifact(art.qualified_name).download(target), "f.bin").read_bytes()


@pytest.mark.parametrize("size", [4096, 3 * MiB], ids=["small", "streamed"])
def test_changed_or_missing_bucket_objects_fail_the_download_with_typed_errors(
    service: Server, cloud: tuple[Server, Bucket], tmp_path: Path, size: int
) -> None:
    """Both download paths (small blobs on aiohttp, large ones streamed on threads)
    verify what the bucket sends and write nothing for a blob that does not match."""
    data = os.urandom(size)
    art = log_file(tmp_path / "data", f"tampered-{size}", data)
    _, bucket = cloud
    fs = bucket.filesystem()
    [key] = [k for k in fs.find(bucket.url.split("://", 1)[1]) if k.endswith(hash_bytes(data))]
    fs.pipe(key, os.urandom(size))  # same size, other bytes

    with pytest.raises(IntegrityError, match=hash_bytes(data)):
        downloaded(art, tmp_path / "corrupt")
    assert not (tmp_path / "corrupt" / "f.bin").exists()

    fs.rm(key)
    with pytest.raises(NotFoundError, match="HTTP 404"):
        downloaded(art, tmp_path / "missing")
    assert not (tmp_path / "missing" / "f.bin").exists()


def test_wrong_bytes_put_under_a_digest_are_deleted_and_never_published(
    service: Server, tmp_path: Path
) -> None:
    data = os.urandom(2 * MiB)
    claimed = hash_bytes(data)
    with service.api() as api:
        url, headers = blob_url(api, claimed)
        httpx.put(url, content=b"not those bytes", headers=headers).raise_for_status()
        done = {"digests": [claimed]}
        refused = api.post("/blobs/uploads/complete", json=done)
        assert refused.status_code == 422
        assert claimed in refused.json()["detail"]
        assert missing(api, claimed)
        again = api.post("/blobs/uploads/complete", json=done)
        assert again.status_code == 422  # the object was deleted
        assert "nothing was uploaded" in again.json()["detail"]
    art = log_file(tmp_path / "data", "after-a-lie", data)
    assert downloaded(art, tmp_path / "out") == data


def test_an_object_without_its_blob_row_is_not_published_until_re_verified(
    service: Server,
) -> None:
    data = os.urandom(2 * MiB)
    digest = hash_bytes(data)
    with service.api() as api:
        url, headers = blob_url(api, digest)
        httpx.put(url, content=data, headers=headers).raise_for_status()
        assert missing(api, digest)  # in the bucket, but nobody had it verified
        url, headers = blob_url(api, digest)  # the next uploader of the same file
        httpx.put(url, content=data, headers=headers)  # 412 where the store enforces it
        assert api.post("/blobs/uploads/complete", json={"digests": [digest]}).status_code == 201
        assert not missing(api, digest)
        offer = api.post("/blobs/uploads", json={"digests": [digest]}).json()
        assert offer["blobs"] == {}  # a published blob gets no URL


def test_the_next_uploader_re_verifies_unrecorded_wrong_bytes(
    service: Server, tmp_path: Path
) -> None:
    """A client put other bytes under a digest and never completed: an honest upload
    of that digest meets them (412 on S3), has them re-hashed and deleted, and puts
    its own."""
    data = os.urandom(2 * MiB)
    digest = hash_bytes(data)
    with service.api() as api:
        url, headers = blob_url(api, digest)
        httpx.put(url, content=b"squatting", headers=headers).raise_for_status()
    art = log_file(tmp_path / "data", "squatted", data)
    assert downloaded(art, tmp_path / "out") == data


def test_a_blob_whose_key_stays_contested_goes_through_the_service(
    service: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After its last round against a key held by wrong bytes (a client re-putting
    them each time), the SDK sends the blob through the service, which re-hashes what
    it finds there and replaces it."""
    monkeypatch.setattr("sdk.direct.PUT_ATTEMPTS", 0)  # every round already lost
    data = os.urandom(2 * MiB)
    digest = hash_bytes(data)
    with service.api() as api:
        url, headers = blob_url(api, digest)
        httpx.put(url, content=b"squatting", headers=headers).raise_for_status()
    before = blob_bytes_received(service)
    art = log_file(tmp_path / "data", "contested", data)
    assert blob_bytes_received(service) - before >= len(data)  # it went through the service
    assert downloaded(art, tmp_path / "out") == data


def test_concurrent_uploads_of_the_same_blob_both_succeed(service: Server, tmp_path: Path) -> None:
    data = os.urandom(4 * MiB)
    with service.api() as api:  # both asked before either put: both get a URL
        offers = [blob_url(api, hash_bytes(data)) for _ in range(2)]
        with ThreadPoolExecutor(2) as pool:
            puts = list(pool.map(lambda o: httpx.put(o[0], content=data, headers=o[1]), offers))
        assert sorted(put.status_code for put in puts)[0] == 200
        done = {"digests": [hash_bytes(data)]}
        with ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(lambda _: api.post("/blobs/uploads/complete", json=done), range(2))
            )
        assert [answer.status_code for answer in answers] == [201, 201]

    other = os.urandom(4 * MiB)
    with ThreadPoolExecutor(2) as pool:
        arts = list(pool.map(lambda i: log_file(tmp_path / f"d{i}", f"same-{i}", other), range(2)))
    for i, art in enumerate(arts):
        assert downloaded(art, tmp_path / f"out{i}") == other


def test_bad_requests_are_typed_errors(service: Server) -> None:
    with service.api() as api:
        unknown = hash_bytes(b"never uploaded")
        assert api.post("/blobs/downloads", json={"digests": [unknown]}).status_code == 404
        assert api.post("/blobs/uploads", json={"count": 0}).status_code == 422
        assert api.post("/blobs/uploads", json={"digests": ["../x"]}).status_code == 422
        bad_token = {"packs": ["../../ab/cd"]}
        response = api.post("/blobs/uploads/complete", json=bad_token)
        assert response.status_code == 422
        assert "not an upload slot token" in response.json()["detail"]


def test_without_presigning_blobs_go_through_the_service_and_download_byte_for_byte(
    proxying_cloud: tuple[Server, Bucket],
    monkeypatch: pytest.MonkeyPatch,
    project: str,
    tmp_path: Path,
) -> None:
    """Batch downloads read small blobs from the bucket a window at a time and stream
    large ones; every file arrives in order and intact, a changed object is caught."""
    server, bucket = use_service(proxying_cloud, monkeypatch)
    files = {f"small/{i:03d}.bin": os.urandom(3000 + i) for i in range(150)}  # 3 windows
    files["big.bin"] = os.urandom(9 * MiB)
    size = sum(len(data) for data in files.values())
    before = blob_bytes_received(server)
    art = sdk.Artifact("proxied-set", type="dataset")
    art.add_dir(make_tree(tmp_path / "data", files))
    art.save()
    assert blob_bytes_received(server) - before >= size

    fetched = sdk.Api().artifact(art.qualified_name)
    target = fetched.download(tmp_path / "out")
    for relative, data in files.items():
        assert Path(target, relative).read_bytes() == data, relative
    fetched.verify(target)

    # One batch asked for by hand: small, large (over a window: streamed alone), small,
    # and a repeat; back in the order asked.
    asked = [files["small/000.bin"], files["big.bin"], files["small/001.bin"]]
    asked.append(asked[0])
    with server.api() as api:
        response = api.post("/blobs/fetch", json={"digests": [hash_bytes(d) for d in asked]})
    assert response.status_code == 200, response.text
    reader = FrameReader(16 * MiB)
    assert list(reader.feed(response.content)) == [(hash_bytes(d), d) for d in asked]
    reader.close()

    data = os.urandom(4096)
    changed = log_file(tmp_path / "one", "proxied-changed", data)
    fs = bucket.filesystem()
    [key] = [k for k in fs.find(bucket.url.split("://", 1)[1]) if k.endswith(hash_bytes(data))]
    fs.pipe(key, os.urandom(4096))
    with pytest.raises(IntegrityError, match=hash_bytes(data)):
        downloaded(changed, tmp_path / "corrupt")
    assert not (tmp_path / "corrupt" / "f.bin").exists()
