"""Content addressing: unchanged content uploads nothing, changed content uploads only
what changed, and identical files are stored once across collections."""

from pathlib import Path

import sdk
from tests.conftest import RecordingProgress, Server, make_tree


def stored_blobs(server: Server) -> list[Path]:
    """Published blobs, judged by their path *inside* the store.

    `Server.blob_files()` drops every path with a "tmp" part, and pytest's tmp_path is
    under /tmp, so it always returns [] here; count below blob_dir instead."""
    return sorted(
        p
        for p in server.blob_dir.rglob("*")
        if p.is_file() and "tmp" not in p.relative_to(server.blob_dir).parts
    )


def log_dir(
    directory: Path,
    name: str = "ds",
    project: str | None = None,
    aliases: list[str] | None = None,
    tags: list[str] | None = None,
) -> tuple[sdk.Artifact, RecordingProgress]:
    progress = RecordingProgress()
    with sdk.init(project=project) as run:
        art = sdk.Artifact(name, type="dataset")
        art.add_dir(directory)
        run.log_artifact(art, aliases=aliases, tags=tags, progress=progress)
    return art, progress


def test_relogging_unchanged_directory_uploads_nothing_and_returns_same_version(tmp_path, project):
    unique = project.encode()  # content new to the shared server, so the first log uploads it
    data = make_tree(tmp_path / "data", {"a.txt": unique, "sub/b.bin": unique * 500})
    first, first_progress = log_dir(data)
    assert first_progress.total_files >= 2
    assert first_progress.total_bytes >= 501 * len(unique)

    again, progress = log_dir(data)

    assert (progress.total_bytes, progress.total_files) == (0, 0)
    assert (progress.bytes, progress.files) == (0, 0)
    assert again.version == first.version == "v0"
    assert again.digest == first.digest
    assert len(sdk.Api().artifacts("dataset", f"{project}/ds")) == 1


def test_relog_adds_the_passed_aliases_and_tags_to_the_existing_version(tmp_path, project):
    data = make_tree(tmp_path / "data", {"a.txt": b"alpha"})
    log_dir(data, aliases=["first"], tags=["t1"])

    again, progress = log_dir(data, aliases=["best"], tags=["t2"])

    assert progress.total_files == 0
    assert again.version == "v0"
    assert {"best", "first", "latest"} <= set(again.aliases)
    fetched = sdk.Api().artifact(f"{project}/ds:best")
    assert fetched.version == "v0"
    assert {"best", "first", "latest"} <= set(fetched.aliases)
    assert set(fetched.tags) == {"t1", "t2"}
    assert len(sdk.Api().artifacts("dataset", f"{project}/ds")) == 1


def test_changing_one_of_1000_files_uploads_exactly_that_file(tmp_path, project):
    files = {
        f"part-{i // 100}/file-{i:04d}.txt": f"{project} row {i}\n".encode() for i in range(1000)
    }
    data = make_tree(tmp_path / "data", files)
    first, first_progress = log_dir(data)
    assert first.version == "v0"
    assert first_progress.total_files >= 1000

    changed = f"a new value for one file in {project}\n".encode()  # new to the server
    (data / "part-4/file-0421.txt").write_bytes(changed)
    second, progress = log_dir(data)

    assert second.version == "v1"
    assert sdk.Api().artifact(f"{project}/ds:latest").version == "v1"
    assert len(sdk.Api().artifacts("dataset", f"{project}/ds")) == 2
    assert progress.total_files == 1, "only the changed file should be uploaded"


def test_changing_one_of_1000_files_sends_only_its_bytes(tmp_path, project):
    files = {f"file-{i:04d}.txt": f"{project} row {i}\n".encode() for i in range(1000)}
    data = make_tree(tmp_path / "data", files)
    log_dir(data)

    changed = f"a new value for one file in {project}\n".encode()  # new to the server
    (data / "file-0421.txt").write_bytes(changed)
    second, progress = log_dir(data)

    # Progress reports the artifact's files; the new manifest travels with them unreported.
    assert progress.total_bytes == len(changed)
    assert progress.bytes == progress.total_bytes


def test_changing_one_of_1000_files_stores_one_new_data_blob(fresh_server, tmp_path, project):
    files = {f"file-{i:04d}.txt": f"row {i}\n".encode() for i in range(1000)}
    data = make_tree(tmp_path / "data", files)
    log_dir(data)
    before = len(stored_blobs(fresh_server))
    assert before == 1001  # the files and the manifest

    (data / "file-0007.txt").write_bytes(b"changed\n")
    second, _ = log_dir(data)

    assert second.version == "v1"
    assert len(stored_blobs(fresh_server)) == before + 2  # the changed file and the new manifest


def test_identical_files_in_two_collections_are_stored_once(fresh_server, tmp_path, project):
    files = {"a.txt": b"alpha", "b/c.bin": bytes(range(256)) * 8, "big": b"z" * (2 << 20)}
    data = make_tree(tmp_path / "data", files)
    log_dir(data, name="first")
    before = stored_blobs(fresh_server)

    second, progress = log_dir(data, name="second")

    assert second.version == "v0"
    assert (progress.total_bytes, progress.total_files) == (0, 0)
    assert stored_blobs(fresh_server) == before


def test_identical_files_in_two_projects_are_stored_once(fresh_server, tmp_path, project):
    data = make_tree(tmp_path / "data", {"a.txt": b"alpha", "b.txt": b"beta"})
    log_dir(data, project=project)
    before = stored_blobs(fresh_server)

    _, progress = log_dir(data, project=f"{project}-other")

    assert progress.total_files == 0
    assert stored_blobs(fresh_server) == before


def test_duplicate_files_within_one_artifact_are_uploaded_once(fresh_server, tmp_path, project):
    data = make_tree(tmp_path / "data", {"a.txt": b"same", "b.txt": b"same", "c/d.txt": b"same"})
    art, progress = log_dir(data)

    assert art.file_count == 3
    assert len(stored_blobs(fresh_server)) == 2  # one data blob and the manifest
