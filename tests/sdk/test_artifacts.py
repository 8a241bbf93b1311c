"""The Artifact API: building drafts, references, path rules, and committed versions."""

import hashlib
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import sdk
from sdk.errors import ConflictError, IntegrityError, NotFoundError, ValidationError
from tests.conftest import make_tree


def write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def log(art: sdk.Artifact, **kwargs: object) -> sdk.Artifact:
    with sdk.init() as run:
        return run.log_artifact(art, **kwargs)  # type: ignore[arg-type]


def tree_bytes(root: Path | str) -> dict[str, bytes]:
    root = Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


# ---- building a draft --------------------------------------------------------------------


def test_add_file_add_dir_and_new_file_land_at_their_paths(tmp_path, project):
    model = write(tmp_path / "model.pt", b"weights")
    configs = make_tree(tmp_path / "configs", {"a.yaml": b"a: 1", "sub/b.yaml": b"b: 2"})
    art = sdk.Artifact("bundle", type="model")

    art.add_file(model)
    art.add_file(model, name="copies/renamed.pt")
    art.add_dir(configs, name="configs")
    with art.new_file("notes.txt", mode="xb") as handle:
        handle.write(b"some notes")

    expected = {
        "model.pt": b"weights",
        "copies/renamed.pt": b"weights",
        "configs/a.yaml": b"a: 1",
        "configs/sub/b.yaml": b"b: 2",
        "notes.txt": b"some notes",
    }
    assert sorted(entry.path for entry in art.files()) == sorted(expected)
    log(art)
    root = sdk.Api().artifact(f"{project}/bundle").download(tmp_path / "out")
    assert tree_bytes(root) == expected


def test_new_file_in_text_mode(tmp_path, project):
    art = sdk.Artifact("texts", type="dataset")
    with art.new_file("dir/hello.txt", mode="w", encoding="utf-8") as handle:
        handle.write("h\u00e9llo")
    log(art)

    root = sdk.Api().artifact(f"{project}/texts").download(tmp_path / "out")
    assert (Path(root) / "dir/hello.txt").read_text(encoding="utf-8") == "h\u00e9llo"


def test_remove_drops_a_file_from_the_draft(tmp_path, project):
    data = make_tree(tmp_path / "d", {"keep.txt": b"k", "drop.txt": b"d"})
    art = sdk.Artifact("ds", type="dataset")
    art.add_dir(data)

    art.remove("drop.txt")

    assert [entry.path for entry in art.files()] == ["keep.txt"]
    with pytest.raises(NotFoundError):
        art.remove("drop.txt")
    log(art)
    assert sdk.Api().artifact(f"{project}/ds").file_count == 1


def test_get_entry_returns_digest_and_size_and_refuses_unknown_paths(tmp_path):
    art = sdk.Artifact("ds", type="dataset")
    art.add_file(write(tmp_path / "a.txt", b"abc"))

    entry = art.get_entry("a.txt")

    assert (entry.path, entry.size, len(entry.digest), entry.ref) == ("a.txt", 3, 32, None)
    with pytest.raises(NotFoundError):
        art.get_entry("b.txt")


def test_files_filters_by_name(tmp_path):
    art = sdk.Artifact("ds", type="dataset")
    art.add_dir(make_tree(tmp_path / "d", {"a": b"1", "b": b"2", "c/d": b"3"}))

    assert [e.path for e in art.files()] == ["a", "b", "c/d"]
    assert [e.path for e in art.files(names=["c/d", "a"])] == ["a", "c/d"]


@pytest.mark.parametrize(
    "bad_path", ["../x", "a/../../x", "/abs", "a//b", "a\\b", "a\x00b", "./a", "a/"]
)
def test_unsafe_paths_are_refused(tmp_path, bad_path):
    source = write(tmp_path / "f.txt", b"x")
    art = sdk.Artifact("ds", type="dataset")

    with pytest.raises(ValidationError):
        art.add_file(source, name=bad_path)
    assert art.files() == []


def test_two_names_equal_after_unicode_normalization_are_one_path(tmp_path):
    art = sdk.Artifact("ds", type="dataset")
    art.add_file(write(tmp_path / "one", b"1"), name="caf\u00e9")  # NFC

    with pytest.raises(ValidationError):
        art.add_file(write(tmp_path / "two", b"2"), name="cafe\u0301")  # NFD
    assert len(art.files()) == 1


def test_add_dir_refuses_a_path_already_present(tmp_path):
    data = make_tree(tmp_path / "d", {"a.txt": b"1"})
    art = sdk.Artifact("ds", type="dataset")
    art.add_file(write(tmp_path / "a.txt", b"other"))

    with pytest.raises(ValidationError):
        art.add_dir(data)


@pytest.mark.parametrize("bad_name", ["", "has space", "a/b", "-lead", "x" * 129])
def test_invalid_artifact_names_are_refused(bad_name):
    with pytest.raises(ValidationError):
        sdk.Artifact(bad_name, type="dataset")


def test_metadata_with_more_than_100_keys_is_refused(tmp_path, project):
    art = sdk.Artifact("ds", type="dataset", metadata={f"k{i}": i for i in range(101)})
    art.add_file(write(tmp_path / "a.txt", b"a"))

    with pytest.raises(ValidationError):
        log(art)
    assert not sdk.Api().artifact_exists(f"{project}/ds")


def test_metadata_with_100_keys_is_accepted(tmp_path, project):
    metadata = {f"k{i}": i for i in range(100)}
    art = sdk.Artifact("ds", type="dataset", metadata=metadata)
    art.add_file(write(tmp_path / "a.txt", b"a"))
    log(art)

    assert sdk.Api().artifact(f"{project}/ds").metadata == metadata


# ---- references --------------------------------------------------------------------------


def test_file_reference_to_a_single_file_is_tracked_not_stored(tmp_path, project):
    target = write(tmp_path / "outside" / "shard.bin", b"shard bytes")
    art = sdk.Artifact("refs", type="dataset")

    [entry] = art.add_reference(target.as_uri())

    assert (entry.path, entry.ref, entry.size) == ("shard.bin", target.as_uri(), 11)
    log(art)
    fetched = sdk.Api().artifact(f"{project}/refs")
    assert fetched.get_entry("shard.bin").ref == target.as_uri()
    root = fetched.download(tmp_path / "out")
    assert tree_bytes(root) == {"shard.bin": b"shard bytes"}


def test_file_reference_to_a_directory_expands_to_its_files(tmp_path, project):
    shards = make_tree(tmp_path / "shards", {"0.bin": b"zero", "sub/1.bin": b"one"})
    art = sdk.Artifact("refs", type="dataset")

    entries = art.add_reference(shards.as_uri(), name="shards")

    assert sorted(e.path for e in entries) == ["shards/0.bin", "shards/sub/1.bin"]
    log(art)
    root = sdk.Api().artifact(f"{project}/refs").download(tmp_path / "out")
    assert tree_bytes(root) == {"shards/0.bin": b"zero", "shards/sub/1.bin": b"one"}


def test_file_reference_changed_after_logging_fails_download(tmp_path, project):
    target = write(tmp_path / "outside" / "data.csv", b"a,b\n1,2\n")
    art = sdk.Artifact("refs", type="dataset")
    art.add_reference(target.as_uri())
    log(art)

    target.write_bytes(b"a,b\n1,3\n")

    with pytest.raises(IntegrityError):
        sdk.Api().artifact(f"{project}/refs").download(tmp_path / "out")
    assert not (tmp_path / "out" / "data.csv").exists()


def test_reference_to_a_missing_file_is_refused(tmp_path):
    with pytest.raises(NotFoundError):
        sdk.Artifact("refs", type="dataset").add_reference((tmp_path / "nope").as_uri())


def test_reference_with_unsupported_scheme_is_refused():
    with pytest.raises(ValidationError):
        sdk.Artifact("refs", type="dataset").add_reference("ftp://host/file")


class ContentServer:
    """A real HTTP server on 127.0.0.1 whose files can change, with or without ETags."""

    def __init__(self, send_etag: bool) -> None:
        self.files: dict[str, bytes] = {}
        content = self

        class Handler(BaseHTTPRequestHandler):
            def do_HEAD(self) -> None:
                self._respond(body=False)

            def do_GET(self) -> None:
                self._respond(body=True)

            def _respond(self, body: bool) -> None:
                data = content.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                if send_etag:
                    self.send_header("ETag", f'"{hashlib.md5(data).hexdigest()}"')
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture(params=[True, False], ids=["etag", "no-etag"])
def http_content(request: pytest.FixtureRequest) -> Iterator[ContentServer]:
    served = ContentServer(send_etag=request.param)
    yield served
    served.close()


def test_http_reference_is_downloaded(tmp_path, project, http_content):
    http_content.files["/data/train.csv"] = b"x,y\n1,2\n" * 100
    art = sdk.Artifact("web", type="dataset")

    [entry] = art.add_reference(f"{http_content.url}/data/train.csv")

    assert entry.path == "train.csv"
    assert entry.size == 800
    log(art)
    root = sdk.Api().artifact(f"{project}/web").download(tmp_path / "out")
    assert tree_bytes(root) == {"train.csv": b"x,y\n1,2\n" * 100}


def test_http_reference_with_explicit_name(tmp_path, project, http_content):
    http_content.files["/blob"] = b"payload"
    art = sdk.Artifact("web", type="dataset")
    art.add_reference(f"{http_content.url}/blob", name="nested/payload.bin")
    log(art)

    root = sdk.Api().artifact(f"{project}/web").download(tmp_path / "out")
    assert tree_bytes(root) == {"nested/payload.bin": b"payload"}


def test_http_reference_changed_after_logging_fails_download(tmp_path, project, http_content):
    http_content.files["/model.bin"] = b"version one"
    art = sdk.Artifact("web", type="model")
    art.add_reference(f"{http_content.url}/model.bin")
    log(art)

    http_content.files["/model.bin"] = b"version two"

    with pytest.raises(IntegrityError):
        sdk.Api().artifact(f"{project}/web").download(tmp_path / "out")
    assert not (tmp_path / "out" / "model.bin").exists()


def test_http_reference_to_a_missing_url_is_refused(http_content):
    with pytest.raises(NotFoundError):
        sdk.Artifact("web", type="dataset").add_reference(f"{http_content.url}/absent")


# ---- committed versions ------------------------------------------------------------------


def test_committed_artifact_properties(tmp_path, project):
    art = sdk.Artifact("ds", type="dataset", description="d", metadata={"rows": 2})
    art.add_dir(make_tree(tmp_path / "d", {"a.txt": b"abc", "b/c.txt": b"de"}))
    draft_digest = art.digest
    assert (art.name, art.version, art.qualified_name, art.state) == ("ds", None, None, "PENDING")
    assert (art.size, art.file_count, art.type) == (5, 2, "dataset")

    log(art)

    assert art.name == "ds:v0"
    assert art.version == "v0"
    assert art.qualified_name == f"{project}/ds:v0"
    assert art.state == "COMMITTED"
    assert art.digest == draft_digest
    assert (art.size, art.file_count, art.type) == (5, 2, "dataset")
    assert isinstance(art.created_at, datetime)
    fetched = sdk.Api().artifact(f"{project}/ds:v0")
    assert (fetched.name, fetched.digest, fetched.size, fetched.file_count) == (
        "ds:v0",
        draft_digest,
        5,
        2,
    )
    assert (fetched.description, fetched.metadata) == ("d", {"rows": 2})
    assert fetched.created_at == art.created_at
    assert "latest" in fetched.aliases


def test_artifact_can_be_fetched_by_digest(tmp_path, project):
    art = sdk.Artifact("ds", type="dataset")
    art.add_file(write(tmp_path / "a.txt", b"abc"))
    log(art)

    assert sdk.Api().artifact(f"{project}/ds:{art.digest}").version == "v0"


def test_committed_artifact_is_immutable(tmp_path, project):
    source = write(tmp_path / "a.txt", b"a")
    art = sdk.Artifact("ds", type="dataset")
    art.add_file(source)
    log(art)
    fetched = sdk.Api().artifact(f"{project}/ds")

    for committed in (art, fetched):
        with pytest.raises(ValidationError):
            committed.add_file(source, name="more.txt")
        with pytest.raises(ValidationError):
            committed.remove("a.txt")
        with pytest.raises(ValidationError):
            with committed.new_file("x.txt") as handle:
                handle.write("x")


def test_new_draft_keeps_files_and_logs_as_next_version(tmp_path, project):
    art = sdk.Artifact("ds", type="dataset")
    art.add_dir(make_tree(tmp_path / "d", {"a.txt": b"a", "b.txt": b"b"}))
    log(art)

    draft = sdk.Api().artifact(f"{project}/ds").new_draft()
    assert draft.version is None
    draft.remove("b.txt")
    draft.add_file(write(tmp_path / "c.txt", b"c"))
    log(draft)

    assert draft.version == "v1"
    assert sdk.Api().artifact(f"{project}/ds:latest").version == "v1"
    root = sdk.Api().artifact(f"{project}/ds:v1").download(tmp_path / "out")
    assert tree_bytes(root) == {"a.txt": b"a", "c.txt": b"c"}


def test_save_pushes_description_metadata_aliases_and_tags(tmp_path, project):
    art = sdk.Artifact("ds", type="dataset")
    art.add_file(write(tmp_path / "a.txt", b"a"))
    log(art)

    fetched = sdk.Api().artifact(f"{project}/ds:v0")
    fetched.description = "cleaned"
    fetched.metadata = {"rows": 10, "source": "s3"}
    fetched.aliases = [*fetched.aliases, "prod"]
    fetched.tags = ["gold"]
    fetched.save()

    again = sdk.Api().artifact(f"{project}/ds:prod")
    assert again.version == "v0"
    assert again.description == "cleaned"
    assert again.metadata == {"rows": 10, "source": "s3"}
    assert set(again.aliases) == {"latest", "prod"}
    assert again.tags == ["gold"]


def test_save_commits_a_draft_without_a_run(tmp_path, project):
    art = sdk.Artifact("ds", type="dataset")
    art.add_file(write(tmp_path / "a.txt", b"a"))

    art.save()

    assert art.version == "v0"
    assert sdk.Api().artifact(f"{project}/ds").logged_by() is None


def test_delete_makes_version_not_found_and_moves_latest_back(tmp_path, project):
    for content in (b"one", b"two"):
        art = sdk.Artifact("ds", type="dataset")
        art.add_file(write(tmp_path / "a.txt", content))
        log(art)
    api = sdk.Api()
    assert api.artifact(f"{project}/ds:latest").version == "v1"

    api.artifact(f"{project}/ds:v1").delete()

    with pytest.raises(NotFoundError):
        sdk.Api().artifact(f"{project}/ds:v1")
    assert sdk.Api().artifact(f"{project}/ds:latest").version == "v0"
    assert [a.version for a in sdk.Api().artifacts("dataset", f"{project}/ds")] == ["v0"]


def test_deleting_a_version_with_a_user_alias_needs_delete_aliases(tmp_path, project):
    art = sdk.Artifact("ds", type="dataset")
    art.add_file(write(tmp_path / "a.txt", b"a"))
    log(art, aliases=["prod"])
    fetched = sdk.Api().artifact(f"{project}/ds:v0")

    with pytest.raises(ConflictError):
        fetched.delete()
    assert sdk.Api().artifact(f"{project}/ds:prod").version == "v0"

    fetched.delete(delete_aliases=True)
    with pytest.raises(NotFoundError):
        sdk.Api().artifact(f"{project}/ds:prod")
    with pytest.raises(NotFoundError):
        sdk.Api().artifact(f"{project}/ds:v0")


def test_new_version_after_delete_does_not_reuse_the_index(tmp_path, project):
    for content in (b"one", b"two"):
        art = sdk.Artifact("ds", type="dataset")
        art.add_file(write(tmp_path / "a.txt", content))
        log(art)
    sdk.Api().artifact(f"{project}/ds:v1").delete()

    art = sdk.Artifact("ds", type="dataset")
    art.add_file(write(tmp_path / "a.txt", b"three"))
    log(art)

    assert art.version == "v2"


def test_an_empty_name_for_add_file_is_refused(tmp_path):
    source = make_tree(tmp_path / "src", {"a.txt": b"a"}) / "a.txt"
    with pytest.raises(ValidationError):
        sdk.Artifact("ds", type="dataset").add_file(source, name="")


@pytest.mark.parametrize("bad", ["a:b:", "p/a:v1/x", "a:", "p/q/r:v0"])
def test_malformed_artifact_paths_are_validation_errors(bad):
    with pytest.raises(ValidationError):
        sdk.Api().artifact(bad)
