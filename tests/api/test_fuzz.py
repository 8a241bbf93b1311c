"""Fuzzing of the manifest and path parsers (hypothesis): no input escapes the store
root or the download folder, and none crashes them with anything but their typed error.

The parsers (`sdk.manifest`, `sdk.paths`, `registry.services.paths`, the blob layout)
are fuzzed in process with thousands of inputs; then hostile manifests go through the
real service into a `file://` store, and what it accepted is downloaded by the SDK:
nothing may be written or read outside the store root or the download folder.
"""

import json
import os
import posixpath
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import hypothesis
import pytest
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st

from registry.errors import InvalidInput, RegistryError
from registry.services.paths import parse_path
from registry.storage.blob_store import BlobStore
from registry.storage.layout import TMP_DIR, is_upload_token
from sdk import Api
from sdk.digest import hash_bytes, is_digest
from sdk.download import safe_target
from sdk.errors import IntegrityError, NotFoundError, ValidationError
from sdk.manifest import REFERENCE_SCHEMES, Manifest, ManifestError, normalize_path
from sdk.paths import ArtifactPath, parse_artifact_path
from tests.api.helpers import collection_url, put_blob
from tests.conftest import Server, start_server, stop_server

FUZZ = hypothesis.settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Pieces a path traversal is made of, mixed with arbitrary text.
HOSTILE = [
    "..", ".", "", "/", "//", "\\", "\x00", "\n", "\r", "~", "%2e%2e", "..%2f", "\u2025",
    "\uff0e\uff0e", "e\u0301", "\u00e9", "C:", "\\\\?\\", "con", "a", "b.txt", "\u202e",
]  # fmt: skip
segments = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=8))
paths = st.one_of(
    st.lists(segments, max_size=6).map("/".join),
    st.lists(segments, max_size=6).map("\\".join),
    st.text(max_size=40),
)
digests = st.one_of(
    st.text(alphabet="0123456789abcdef", min_size=32, max_size=32),
    st.sampled_from(["../" * 8 + "etc/passwd", "/etc/passwd", "..", "", "0" * 31, "0" * 32 + "\n"]),
    st.text(alphabet="0123456789abcdefABCDEF./\\\n", min_size=28, max_size=36),
    st.text(max_size=40),
)


def is_inside(root: str, path: str) -> bool:
    joined = posixpath.normpath(posixpath.join(root, path))
    return joined.startswith(root + "/")


def assert_safe_path(path: str) -> None:
    """What a manifest may hold: a relative path that stays under any root."""
    assert isinstance(path, str) and path
    assert "\\" not in path and "\x00" not in path and "\n" not in path
    assert not path.startswith("/")
    assert all(segment not in ("", ".", "..") for segment in path.split("/"))
    assert is_inside("/root", path)
    assert normalize_path(path) == path


# ---- the parsers, in process ----------------------------------------------------------


@hypothesis.settings(FUZZ, max_examples=3000)
@hypothesis.given(path=paths)
def test_an_artifact_path_is_refused_or_stays_inside_the_root(path: str, tmp_path: Path) -> None:
    try:
        normal = normalize_path(path)
    except ManifestError:
        normal = None
    if normal is not None:
        assert_safe_path(normal)
    # The SDK's last guard when writing a download: inside the folder, or refused.
    root = (tmp_path / "root").resolve()
    root.mkdir(exist_ok=True)
    try:
        target = safe_target(root, path)
    except (ValidationError, ValueError):
        return
    assert root in target.parents


def manifest_documents() -> st.SearchStrategy[Any]:
    stored = st.fixed_dictionaries({"digest": digests, "size": st.integers(-2, 2**70)})
    reference = st.fixed_dictionaries(
        {
            "digest": st.text(max_size=300),
            "ref": st.one_of(
                st.sampled_from(REFERENCE_SCHEMES).map(lambda scheme: scheme + "x/y"),
                st.text(max_size=20),
            ),
            "size": st.integers(0, 10),
        },
        optional={
            "extra": st.one_of(st.dictionaries(st.text(max_size=5), st.integers()), st.text())
        },
    )
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=10,
    )
    entry = st.one_of(stored, reference, json_values)
    return st.fixed_dictionaries(
        {"entries": st.one_of(st.dictionaries(paths, entry, max_size=6), json_values)},
        optional={
            "hash": st.sampled_from(["xxh3-128", "sha256", ""]),
            "version": st.sampled_from([1, 2, "1", None]),
        },
    )


def check_parsed(manifest: Manifest) -> None:
    for path, entry in manifest.items():
        assert_safe_path(path)
        assert isinstance(entry.size, int) and entry.size >= 0
        if entry.ref is None:
            assert is_digest(entry.digest)
        else:
            assert entry.ref.startswith(REFERENCE_SCHEMES)
    again = Manifest.from_bytes(manifest.to_bytes())
    assert list(again.items()) == list(manifest.items())
    assert again.digest() == manifest.digest()


@hypothesis.settings(FUZZ, max_examples=1500)
@hypothesis.given(document=manifest_documents(), complete=st.booleans())
def test_a_manifest_parses_into_safe_entries_or_raises_a_manifest_error(document, complete):
    if complete:
        document = {"hash": "xxh3-128", "version": 1, **document}
    try:
        manifest = Manifest.from_bytes(json.dumps(document).encode())
    except ManifestError:
        return
    check_parsed(manifest)


@hypothesis.settings(FUZZ, max_examples=1500)
@hypothesis.given(data=st.one_of(st.binary(max_size=200), paths.map(str.encode)))
def test_any_bytes_parse_into_a_manifest_or_raise_a_manifest_error(data: bytes) -> None:
    try:
        manifest = Manifest.from_bytes(data)
    except ManifestError:
        return
    check_parsed(manifest)


artifact_paths = st.one_of(
    st.text(alphabet="@/:ab.-_v0\\ \x00", max_size=20),
    st.text(max_size=20),
    st.tuples(st.text(max_size=6), st.text(max_size=6), st.text(max_size=6)).map(
        lambda parts: f"{parts[0]}/{parts[1]}:{parts[2]}"
    ),
)


@hypothesis.settings(FUZZ, max_examples=3000)
@hypothesis.given(path=artifact_paths, default=st.one_of(st.none(), st.just("proj")))
def test_a_name_path_parses_or_raises_a_validation_error(path: str, default: str | None) -> None:
    try:
        parsed = parse_artifact_path(path, default_project=default)
    except ValidationError:
        with pytest.raises(InvalidInput):
            parse_path(path)
        return
    assert isinstance(parsed, ArtifactPath)
    for part in (parsed.collection, parsed.selector, parsed.owner.lstrip("@")):
        assert part and ":" not in part
    assert "/" not in parsed.collection and "/" not in parsed.selector
    assert parse_artifact_path(str(parsed), default_project=None) == parsed
    try:
        parse_path(path)
    except InvalidInput:
        assert parsed.project == default and default is not None  # names no project


# ---- the blob store on a filesystem ---------------------------------------------------


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def assert_layout(root: Path) -> None:
    """Only published blobs at `ab/<digest>` and uploads at `tmp/<token>`."""
    for relative in files_under(root):
        folder, name = relative.split("/")
        if folder == TMP_DIR:
            assert is_upload_token(name), relative
        else:
            assert is_digest(name) and folder == name[:2], relative


@hypothesis.settings(FUZZ, max_examples=600)
@hypothesis.given(claimed=digests, data=st.binary(max_size=64), token=digests)
def test_store_keys_are_digests_and_stay_under_the_root(claimed, data, token, tmp_path):
    base = tmp_path / "base"
    root = base / "blobs"
    (base / "outside").mkdir(parents=True, exist_ok=True)
    (base / "outside" / "secret").write_bytes(b"secret")
    store = BlobStore.from_url(f"file://{root}")
    before = files_under(base / "outside")
    typed = (ValueError, RegistryError, FileNotFoundError)
    actions = [
        lambda: store.exists(claimed),
        lambda: store.put(claimed, data),
        lambda: store.read(claimed),
        lambda: store.open(claimed, len(data)).close(),
        lambda: store.read_many([claimed]),
        lambda: store.publish_pack(token, 1024),
        lambda: _write_and_publish(store, data, claimed),
        lambda: store.delete(claimed),
    ]
    for action in actions:
        try:
            result = action()
        except typed:
            continue
        if isinstance(result, bytes):  # read back only what is stored under its digest
            assert hash_bytes(result) == claimed
    assert files_under(base / "outside") == before
    assert set(os.listdir(base)) == {"blobs", "outside"}
    assert_layout(root)


def _write_and_publish(store: BlobStore, data: bytes, claimed: str) -> int:
    writer = store.writer()
    try:
        writer.write(data)
        return writer.publish(claimed)
    except BaseException:
        writer.abort()
        raise


# ---- through the service and the SDK --------------------------------------------------

PROJECT = "fuzz"
SQLITE_SIDE_FILES = {"registry.db-journal", "registry.db-wal", "registry.db-shm"}
CONTENT = [b"alpha", b"beta", b""]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("fuzz") / "home")
    try:
        with srv.api() as api:
            for data in CONTENT:
                assert put_blob(api, data).status_code == 201
        yield srv
    finally:
        stop_server(srv)


def service_manifests() -> st.SearchStrategy[bytes]:
    """Manifests of the uploaded content under hostile paths, sometimes malformed."""
    good_entry = st.sampled_from(CONTENT).map(lambda d: {"digest": hash_bytes(d), "size": len(d)})
    entry = st.one_of(
        good_entry,
        good_entry,
        st.fixed_dictionaries({"digest": digests, "size": st.integers(-1, 10)}),
        st.fixed_dictionaries(
            {
                "digest": st.text(max_size=10),
                "ref": st.sampled_from(["file:///etc/passwd", "../x"]),
                "size": st.just(1),
            }  # fmt: skip
        ),
    )
    document = st.dictionaries(paths, entry, min_size=1, max_size=5).map(
        lambda entries: {"entries": entries, "hash": "xxh3-128", "version": 1}
    )
    return document.map(lambda d: json.dumps(d, ensure_ascii=False).encode())


def home_files(srv: Server) -> set[str]:
    """Files of the service's home outside the blob store (the database, the key)."""
    return {
        str(p.relative_to(srv.home))
        for p in srv.home.rglob("*")
        if p.is_file() and srv.blob_dir not in p.parents
    }


@hypothesis.settings(FUZZ, max_examples=80, phases=[Phase.explicit, Phase.generate])
@hypothesis.given(manifest=service_manifests(), hostile_digest=digests)
def test_hostile_manifests_through_the_service_stay_inside(
    service: Server, tmp_path: Path, manifest: bytes, hostile_digest: str
) -> None:
    srv = service
    outside = srv.home.parent
    around_before = {p.name for p in outside.iterdir()}
    home_before = home_files(srv)
    with srv.api() as api:
        # Hostile digests where the API takes one: never a path, only a 4xx.
        for response in (
            api.get(f"/blobs/{quote(hostile_digest, safe='')}"),
            api.put(f"/blobs/{quote(hostile_digest, safe='')}", content=b"x"),
            api.post("/blobs/missing", json={"digests": [hostile_digest]}),
            api.post(
                f"{collection_url(PROJECT, 'c')}/versions",
                json={"type": "dataset", "manifest_digest": hostile_digest},
            ),
        ):
            assert response.status_code < 500, response.text
            if not is_digest(hostile_digest):
                assert 400 <= response.status_code < 500, response.text

        assert put_blob(api, manifest).status_code == 201
        body = {"type": "dataset", "manifest_digest": hash_bytes(manifest)}
        response = api.post(f"{collection_url(PROJECT, 'c')}/versions", json=body)
        assert response.status_code in (201, 422), response.text
        if response.status_code == 201:
            version = response.json()["version"]["version"]
            files = api.get(f"{collection_url(PROJECT, 'c')}/versions/{version}/files")
            for entry in files.json()["files"]:
                assert_safe_path(entry["path"])
            download = tmp_path / "download" / "here"
            download.mkdir(parents=True, exist_ok=True)
            artifact = Api(url=srv.url).artifact(f"{PROJECT}/c:{version}")
            try:
                artifact.download(root=str(download))
            except (ValidationError, IntegrityError, NotFoundError):
                pass  # refused (a reference that is not there, say), not written elsewhere
            assert sorted(os.listdir(tmp_path / "download")) == ["here"]
    assert_layout(srv.blob_dir)
    assert {p.name for p in outside.iterdir()} == around_before
    assert home_files(srv) - home_before <= SQLITE_SIDE_FILES
