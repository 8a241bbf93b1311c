"""References to s3:// and gs:// objects (moto, fake-gcs-server): checksums and
versions recorded, max_objects enforced, downloads of the logged version, verify()
checking the sources."""

from collections.abc import Iterator
from pathlib import Path

import pytest

import sdk
from sdk.errors import IntegrityError, ValidationError
from tests.cloud import Bucket, fake_gcs, moto, new_bucket  # noqa: F401 (fixtures)


@pytest.fixture(params=["s3", "gcs"])
def bucket(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bucket]:
    service = request.getfixturevalue("moto" if request.param == "s3" else "fake_gcs")
    made = new_bucket(request.param, service)
    for key, value in made.env.items():
        monkeypatch.setenv(key, value)
    # gcsfs's default credential chain: no Google credentials here, and no metadata
    # server probe, so it ends with anonymous access to the emulator.
    monkeypatch.setenv("NO_GCE_CHECK", "true")
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:9")
    yield made


def scheme_root(bucket: Bucket) -> str:
    """`s3://bucket` or `gs://bucket`: references name objects outside Strata's prefix."""
    return bucket.url.rsplit("/", 1)[0]


def test_prefix_reference_records_checksums_and_downloads(
    bucket: Bucket, project: str, tmp_path: Path
) -> None:
    fs = bucket.filesystem()
    root = scheme_root(bucket)
    objects = {"shards/a.bin": b"a" * 1000, "shards/sub/b.bin": b"bee" * 10}
    for key, data in objects.items():
        fs.pipe_file(f"{root.split('://')[1]}/{key}", data)

    art = sdk.Artifact("refs", type="dataset")
    entries = art.add_reference(f"{root}/shards/", name="data")
    assert sorted(e.path for e in entries) == ["data/a.bin", "data/sub/b.bin"]
    for entry in entries:
        assert entry.ref.startswith(f"{root}/shards/")
        assert entry.size == len(objects[entry.ref.split("/", 3)[3]])
        assert entry.extra.get("etag") or entry.extra.get("md5")
    art.save()

    got = sdk.Api().artifact(art.qualified_name)
    target = got.download(tmp_path / "out")
    assert Path(target, "data/a.bin").read_bytes() == objects["shards/a.bin"]
    assert Path(target, "data/sub/b.bin").read_bytes() == objects["shards/sub/b.bin"]
    got.verify(target)


def test_max_objects_is_never_silently_exceeded(bucket: Bucket) -> None:
    fs = bucket.filesystem()
    root = scheme_root(bucket)
    for i in range(5):
        fs.pipe_file(f"{root.split('://')[1]}/many/{i}.txt", b"x")
    with pytest.raises(ValidationError, match="holds 5 objects, more than max_objects=4"):
        sdk.Artifact("too-many", type="dataset").add_reference(f"{root}/many/", max_objects=4)
    art = sdk.Artifact("enough", type="dataset")
    assert len(art.add_reference(f"{root}/many/", max_objects=5)) == 5


def test_changed_unversioned_reference_is_detected(
    bucket: Bucket, project: str, tmp_path: Path
) -> None:
    fs = bucket.filesystem()
    key = f"{scheme_root(bucket).split('://')[1]}/model.bin"
    fs.pipe_file(key, b"the logged weights")
    art = sdk.Artifact("unversioned", type="model")
    [entry] = art.add_reference(f"{scheme_root(bucket)}/model.bin")
    assert "versionId" not in entry.extra and "generation" not in entry.extra
    art.save()
    got = sdk.Api().artifact(art.qualified_name)
    target = got.download(tmp_path / "out")
    got.verify(target)

    fs.pipe_file(key, b"weights written later")
    with pytest.raises(IntegrityError, match="changed since it was logged"):
        got.verify(target)
    with pytest.raises(IntegrityError, match="changed since it was logged"):
        got.download(tmp_path / "again")


def test_versioned_s3_reference_downloads_the_logged_version(
    moto,  # noqa: F811 (the fixture imported above)
    project: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = new_bucket("s3", moto)
    for key, value in made.env.items():
        monkeypatch.setenv(key, value)
    fs = made.filesystem()
    bucket_name = made.url.split("://")[1].split("/")[0]
    fs.call_s3(
        "put_bucket_versioning",
        Bucket=bucket_name,
        VersioningConfiguration={"Status": "Enabled"},
    )
    fs.pipe_file(f"{bucket_name}/weights.bin", b"version one")

    art = sdk.Artifact("versioned", type="model")
    [entry] = art.add_reference(f"s3://{bucket_name}/weights.bin")
    assert entry.extra["versionId"]
    art.save()

    fs.pipe_file(f"{bucket_name}/weights.bin", b"version two, overwritten")
    got = sdk.Api().artifact(art.qualified_name)
    target = got.download(tmp_path / "out")
    assert Path(target, "weights.bin").read_bytes() == b"version one"
    got.verify(target)
