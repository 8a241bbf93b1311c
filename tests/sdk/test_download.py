"""Downloads: byte-exact, verified, cached, bounded, and never poisoned by corruption."""

import os
from pathlib import Path

import pytest

import sdk
from registry.storage.layout import blob_key
from sdk.errors import IntegrityError, ValidationError
from tests.conftest import RecordingProgress, Server, make_tree

MIB = 1024 * 1024

MIXED = {
    "empty.txt": b"",
    "small.txt": b"hello\n",
    "nested/deeper/leaf.json": b'{"k": [1, 2, 3]}',
    "nested/exactly-1mib.bin": os.urandom(MIB),
    "big/just-over-1mib.bin": os.urandom(MIB + 1),
    "big/three-mib.bin": os.urandom(3 * MIB + 17),
    "données/été.txt": "caf\u00e9 \u2615\n".encode(),
    "日本語/ファイル.bin": bytes(range(256)) * 3,
}


def log_files(files: dict[str, bytes], root: Path, name: str = "ds") -> sdk.Artifact:
    make_tree(root, files)
    with sdk.init() as run:
        art = sdk.Artifact(name, type="dataset")
        art.add_dir(root)
        run.log_artifact(art)
    return art


def tree_bytes(root: Path | str) -> dict[str, bytes]:
    root = Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def fresh_api(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: str = "cache2") -> sdk.Api:
    """An Api with an empty cache of its own, so every blob comes from the server."""
    monkeypatch.setenv("STRATA_CACHE_DIR", str(tmp_path / cache))
    return sdk.Api()


def cached_blob_bytes(cache_dir: Path) -> int:
    return sum(p.stat().st_size for p in (cache_dir / "blobs").rglob("*") if p.is_file())


# ---- round trip and verify ---------------------------------------------------------------


def test_download_reproduces_every_file_byte_for_byte(tmp_path, project):
    log_files(MIXED, tmp_path / "src")

    fetched = sdk.Api().artifact(f"{project}/ds:latest")
    root = fetched.download(tmp_path / "out")

    assert root == str(tmp_path / "out")
    assert tree_bytes(root) == MIXED
    fetched.verify(root)


def test_download_of_streamed_files_with_empty_cache(tmp_path, project, monkeypatch):
    big = {"a.bin": os.urandom(2 * MIB), "b.bin": os.urandom(MIB + 5)}
    log_files(big, tmp_path / "src")

    progress = RecordingProgress()
    root = (
        fresh_api(tmp_path, monkeypatch)
        .artifact(f"{project}/ds")
        .download(tmp_path / "out", progress=progress)
    )

    assert tree_bytes(root) == big
    assert (progress.total_files, progress.total_bytes) == (2, 3 * MIB + 5)
    assert (progress.files, progress.bytes) == (2, 3 * MIB + 5)


def test_verify_raises_on_modified_file(tmp_path, project):
    log_files(MIXED, tmp_path / "src")
    fetched = sdk.Api().artifact(f"{project}/ds")
    root = Path(fetched.download(tmp_path / "out"))

    target = root / "small.txt"
    target.unlink()  # break any hardlink to the cache before editing
    target.write_bytes(b"HELLO\n")

    with pytest.raises(IntegrityError, match="small.txt"):
        fetched.verify(root)


def test_verify_raises_on_missing_file(tmp_path, project):
    log_files(MIXED, tmp_path / "src")
    fetched = sdk.Api().artifact(f"{project}/ds")
    root = Path(fetched.download(tmp_path / "out"))

    (root / "nested/deeper/leaf.json").unlink()

    with pytest.raises(IntegrityError, match="leaf.json"):
        fetched.verify(root)


def test_verify_raises_on_extra_file(tmp_path, project):
    log_files(MIXED, tmp_path / "src")
    fetched = sdk.Api().artifact(f"{project}/ds")
    root = Path(fetched.download(tmp_path / "out"))

    (root / "nested/stray.txt").write_bytes(b"not part of the artifact")

    with pytest.raises(IntegrityError, match="stray.txt"):
        fetched.verify(root)


# ---- corruption in the store -------------------------------------------------------------


def blob_path(server: Server, digest: str) -> Path:
    path = Path(blob_key(str(server.blob_dir), digest))
    assert path.is_file(), f"blob {digest} is not where the store layout says"
    return path


def flip_bytes(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(bytes(b ^ 0xFF for b in data[:64]) + data[64:])


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("size", [4096, 2 * MIB + 3], ids=["batched", "streamed"])
@pytest.mark.parametrize("damage", [flip_bytes, truncate], ids=["overwritten", "truncated"])
def test_corrupt_blob_in_store_is_detected_and_not_written(
    fresh_server, tmp_path, project, monkeypatch, size, damage
):
    victim = os.urandom(size)
    art = log_files({"victim.bin": victim, "other.txt": b"fine"}, tmp_path / "src")
    damage(blob_path(fresh_server, art.get_entry("victim.bin").digest))

    fetched = fresh_api(tmp_path, monkeypatch).artifact(f"{project}/ds:v0")
    with pytest.raises(IntegrityError):
        fetched.download(tmp_path / "out")

    assert not (tmp_path / "out" / "victim.bin").exists()


# ---- the cache ---------------------------------------------------------------------------


def test_second_download_is_served_from_the_cache(tmp_path, project, monkeypatch):
    log_files(MIXED, tmp_path / "src")
    fetched = fresh_api(tmp_path, monkeypatch).artifact(f"{project}/ds")

    first = RecordingProgress()
    fetched.download(tmp_path / "one", progress=first)
    second = RecordingProgress()
    root = fetched.download(tmp_path / "two", progress=second)

    assert first.total_files == len(MIXED)
    assert (second.total_files, second.total_bytes) == (0, 0)
    assert tree_bytes(root) == MIXED


def test_editing_a_downloaded_file_in_place_does_not_poison_the_next_download(tmp_path, project):
    files = {"weights.bin": os.urandom(2 * MIB), "notes.txt": b"original notes\n"}
    log_files(files, tmp_path / "src")
    fetched = sdk.Api().artifact(f"{project}/ds")
    root = Path(fetched.download(tmp_path / "one"))

    for name in files:  # in place: same inode, which may be the cache's
        with open(root / name, "r+b") as handle:
            handle.write(b"EDITED")

    again = fetched.download(tmp_path / "two")
    assert tree_bytes(again) == files
    fetched.verify(again)


def test_cache_stays_within_its_bound_evicting_least_recently_used(tmp_path, project, monkeypatch):
    bound = 3 * MIB
    monkeypatch.setenv("STRATA_CACHE_MAX_BYTES", str(bound))
    cache_dir = tmp_path / "bounded-cache"
    monkeypatch.setenv("STRATA_CACHE_DIR", str(cache_dir))
    contents = {name: {f"{name}.bin": os.urandom(2 * MIB)} for name in ("a", "b", "c")}
    for name, files in contents.items():
        log_files(files, tmp_path / "src" / name, name=name)

    api = sdk.Api()
    for name, files in contents.items():
        root = api.artifact(f"{project}/{name}").download(tmp_path / "out" / name)
        assert tree_bytes(root) == files
        assert cached_blob_bytes(cache_dir) <= bound

    # The newest download survives eviction: fetching it again costs nothing.
    progress = RecordingProgress()
    api.artifact(f"{project}/c").download(tmp_path / "again", progress=progress)
    assert progress.total_files == 0
    # The oldest was evicted and is fetched again, intact.
    progress = RecordingProgress()
    root = api.artifact(f"{project}/a").download(tmp_path / "again-a", progress=progress)
    assert progress.total_files == 1
    assert tree_bytes(root) == contents["a"]


# ---- partial downloads and checkout ------------------------------------------------------


def test_path_prefix_downloads_only_files_under_it(tmp_path, project):
    log_files(MIXED, tmp_path / "src")

    root = sdk.Api().artifact(f"{project}/ds").download(tmp_path / "out", path_prefix="nested/")

    assert tree_bytes(root) == {k: v for k, v in MIXED.items() if k.startswith("nested/")}


def test_file_returns_the_single_files_path(tmp_path, project):
    source = tmp_path / "model.pt"
    source.write_bytes(b"weights")
    with sdk.init() as run:
        art = sdk.Artifact("model", type="model")
        art.add_file(source)
        run.log_artifact(art)

    path = sdk.Api().artifact(f"{project}/model").file(tmp_path / "out")

    assert path == str(tmp_path / "out" / "model.pt")
    assert Path(path).read_bytes() == b"weights"


def test_file_refuses_an_artifact_of_several_files(tmp_path, project):
    log_files({"a": b"1", "b": b"2"}, tmp_path / "src")

    with pytest.raises(ValidationError):
        sdk.Api().artifact(f"{project}/ds").file(tmp_path / "out")


def test_checkout_removes_extra_files_and_restores_the_rest(tmp_path, project):
    log_files(MIXED, tmp_path / "src")
    fetched = sdk.Api().artifact(f"{project}/ds")
    root = Path(fetched.download(tmp_path / "out"))
    (root / "extra.txt").write_bytes(b"extra")
    (root / "stray-dir").mkdir()
    (root / "stray-dir" / "x").write_bytes(b"x")
    (root / "small.txt").unlink()

    fetched.checkout(root)

    assert tree_bytes(root) == MIXED
    assert not (root / "stray-dir").exists()
    fetched.verify(root)


def test_download_refuses_to_write_through_a_symlinked_folder(tmp_path, project):
    log_files({"nested/a.txt": b"a"}, tmp_path / "src")
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "out"
    root.mkdir()
    (root / "nested").symlink_to(outside, target_is_directory=True)

    with pytest.raises(ValidationError):
        sdk.Api().artifact(f"{project}/ds").download(root)
    assert list(outside.iterdir()) == []


def test_empty_artifact_round_trips(tmp_path, project):
    with sdk.init() as run:
        art = run.log_artifact(sdk.Artifact("empty", type="dataset"))

    assert (art.version, art.file_count, art.size) == ("v0", 0, 0)
    fetched = sdk.Api().artifact(f"{project}/empty")
    root = fetched.download(tmp_path / "out")
    assert tree_bytes(root) == {}
    fetched.verify(root)


def test_downloaded_files_are_read_only_hardlinks_into_the_cache(tmp_path, project):
    art = log_files({"a.bin": b"shared bytes"}, tmp_path / "src")
    root = Path(art.download(tmp_path / "out"))
    placed = root / "a.bin"
    assert placed.stat().st_nlink >= 2, "the download should share the cached copy"
    assert placed.stat().st_mode & 0o222 == 0, "a protected hardlink must not be writable"
