"""Garbage collection against the real service and its store: a deleted version's blobs
go once the grace period has passed, blobs a live version shares stay, abandoned
uploads go, storage usage follows, and commits racing a collection (grace 0) never end
pointing at a deleted blob."""

import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select

import sdk
from registry.db import make_engine
from registry.models import ArtifactVersion, Blob, utcnow
from registry.services.gc import Cutoffs, collect_garbage
from registry.services.versions import COMMITTED
from registry.storage.blob_store import BlobStore
from registry.storage.layout import blob_key
from sdk.digest import hash_bytes
from sdk.errors import ValidationError
from sdk.manifest import Manifest
from tests.api.helpers import blob_path, commit, manifest_of, published
from tests.conftest import Server, start_server, stop_server

HOUR = timedelta(hours=1)


@pytest.fixture
def gc_server(tmp_path: Path) -> Iterator[Server]:
    """The service's own periodic collection keeps out of the way (a 30-day grace)."""
    srv = start_server(tmp_path / "home", {"STRATA_GC_GRACE_SECONDS": str(30 * 86400)})
    yield srv
    stop_server(srv)


@pytest.fixture(autouse=True)
def client_env(gc_server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRATA_URL", gc_server.url)
    monkeypatch.setenv("STRATA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("sdk.connection._default", None)


def store_of(srv: Server) -> BlobStore:
    return BlobStore.from_url(f"file://{srv.blob_dir}")


def collect(srv: Server, *, later: timedelta = timedelta(0), grace: timedelta = HOUR):
    """Collect as if `later` had passed, with `grace`."""
    engine = make_engine(srv.database_url)
    try:
        cutoffs = Cutoffs.at(utcnow() + later, grace, timedelta(seconds=900))
        return collect_garbage(engine, store_of(srv), cutoffs)
    finally:
        engine.dispose()


def usage(srv: Server, project: str) -> dict[str, int]:
    with srv.api() as api:
        response = api.get(f"/projects/{project}/usage")
        assert response.status_code == 200, response.text
        return response.json()


def manifest_size(files: dict[str, bytes]) -> int:
    return len(manifest_of(files).to_bytes())


def test_a_deleted_versions_blobs_vanish_after_the_grace_period_shared_ones_stay(
    gc_server: Server,
) -> None:
    project = f"p-{uuid.uuid4().hex[:8]}"
    shared, gone, kept = b"shared weights" * 100, b"only in v0" * 50, b"only in v1" * 70
    old_files = {"w.bin": shared, "x.bin": gone}
    new_files = {"w.bin": shared, "y.bin": kept}
    with gc_server.api() as api:
        commit(api, project, "model", old_files)
        commit(api, project, "model", new_files)
        both = usage(gc_server, project)
        assert both["bytes"] == (
            len(shared)
            + len(gone)
            + len(kept)
            + manifest_size(old_files)
            + manifest_size(new_files)
        )
        assert api.delete(f"/projects/{project}/collections/model/versions/v0").status_code == 204

    reclaimable = len(gone) + manifest_size(old_files)
    after_delete = usage(gc_server, project)
    assert after_delete["versions"] == 1 and after_delete["reclaimable_bytes"] == reclaimable

    # Within the grace period nothing goes.
    report = collect(gc_server)
    assert (report.deleted_blobs, report.purged_versions) == (0, 0)
    assert hash_bytes(gone) in published(gc_server)

    # Once it has passed, the deleted version's own blobs go; the shared one stays.
    report = collect(gc_server, later=HOUR + timedelta(seconds=1))
    assert report.purged_versions == 1
    assert report.deleted_blobs == 2 and report.freed_bytes == reclaimable
    stored = published(gc_server)
    assert hash_bytes(gone) not in stored
    assert {hash_bytes(shared), hash_bytes(kept)} <= set(stored)
    final = usage(gc_server, project)
    assert final == {
        "project": project,
        "versions": 1,
        "blobs": 3,
        "bytes": len(shared) + len(kept) + manifest_size(new_files),
        "reclaimable_bytes": 0,
    }
    assert sdk.Api().storage_usage(project).bytes == final["bytes"]

    art = sdk.Api().artifact(f"{project}/model:latest")
    assert art.version == "v1"
    art.verify(art.download(Path(gc_server.home.parent, "out")))


def test_an_upload_never_committed_goes_only_after_the_grace_period(gc_server: Server) -> None:
    with gc_server.api() as api:
        data = b"uploaded, then the client was killed"
        assert api.put(f"/blobs/{hash_bytes(data)}", content=data).status_code == 201
    assert collect(gc_server).deleted_blobs == 0
    assert collect(gc_server, later=2 * HOUR).deleted_blobs == 1
    assert not blob_path(gc_server, hash_bytes(data)).exists()
    engine = make_engine(gc_server.database_url)
    with Session(engine) as session:
        assert session.get(Blob, hash_bytes(data)) is None
    engine.dispose()


def test_strata_gc_deletes_abandoned_and_unrecorded_objects_and_dry_run_deletes_nothing(
    gc_server: Server, tmp_path: Path
) -> None:
    two_hours_ago = time.time() - 7200
    tmp = gc_server.blob_dir / "tmp"
    abandoned, fresh_slot = tmp / uuid.uuid4().hex, tmp / uuid.uuid4().hex
    unrecorded_data, young_data = b"put by a client, never verified", b"arriving right now"
    unrecorded = Path(blob_key(str(gc_server.blob_dir), hash_bytes(unrecorded_data)))
    young = Path(blob_key(str(gc_server.blob_dir), hash_bytes(young_data)))
    for path, data in [
        (abandoned, b"half an upload"),
        (fresh_slot, b"in flight"),
        (unrecorded, unrecorded_data),
        (young, young_data),
    ]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for path in (abandoned, unrecorded):
        os.utime(path, (two_hours_ago, two_hours_ago))

    env = {
        **os.environ,
        "STRATA_HOME": str(gc_server.home),
        "STRATA_DATABASE_URL": gc_server.database_url,
        "STRATA_GC_GRACE_SECONDS": "0",
    }

    def strata_gc(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "registry", "gc", *args], env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    dry = strata_gc("--dry-run")
    assert "would delete" in dry and "1 unrecorded and 1 temporary" in dry
    assert abandoned.exists() and unrecorded.exists()

    assert "1 unrecorded and 1 temporary" in strata_gc()
    assert not abandoned.exists() and not unrecorded.exists()
    # Younger than the upload URL lifetime: possibly still arriving.
    assert fresh_slot.exists() and young.exists()


def test_commits_racing_collection_never_end_pointing_at_a_deleted_blob(
    gc_server: Server, tmp_path: Path
) -> None:
    """Every round commits a version naming blob X (already stored) and deletes it
    again, while a collector with grace 0 runs in a loop: X is garbage between rounds,
    so commits and deletions of X interleave. A commit either keeps X or fails cleanly,
    and the SDK uploads X again; every committed version downloads and verifies."""
    project = f"p-{uuid.uuid4().hex[:8]}"
    shared = os.urandom(64 * 1024)
    source = tmp_path / "shared.bin"
    source.write_bytes(shared)
    stop = threading.Event()
    collected: list[int] = []
    failures: list[BaseException] = []
    engine = make_engine(gc_server.database_url)
    store = store_of(gc_server)

    def collector() -> None:
        try:
            while not stop.is_set():
                # Grace 0; uploads in flight keep the shortest URL lifetime allowed.
                cutoffs = Cutoffs.at(utcnow(), timedelta(0), timedelta(seconds=60))
                collected.append(collect_garbage(engine, store, cutoffs).deleted_blobs)
                time.sleep(random.uniform(0, 0.02))
        except BaseException as exc:  # reported by the test
            failures.append(exc)

    thread = threading.Thread(target=collector)
    thread.start()
    rounds = refused = 0
    try:
        deadline = time.monotonic() + 40
        while rounds < 60 and time.monotonic() < deadline:
            art = sdk.Artifact("raced", type="model")
            art.add_file(str(source), name="shared.bin")
            with art.new_file("round.txt") as handle:
                handle.write(f"round {rounds}")
            try:
                art.save(project)
            except ValidationError as exc:
                # Clean failure: collected before the commit on every attempt.
                assert "not been uploaded" in exc.message
                refused += 1
                continue
            out = tmp_path / f"out-{rounds}"
            fetched = sdk.Api().artifact(f"{project}/raced:{art.version}")
            fetched.verify(fetched.download(out))
            fetched.delete()
            rounds += 1
    finally:
        stop.set()
        thread.join(60)
        engine.dispose()
    assert not failures, failures
    assert rounds >= 20 and refused <= rounds, (rounds, refused)
    # The race was real: the collector deleted X (and the round's blobs) many times.
    assert sum(collected) >= rounds

    # Whatever the interleaving, no committed version names a blob the store lost.
    engine = make_engine(gc_server.database_url)
    with Session(engine) as session:
        committed = session.exec(
            select(ArtifactVersion).where(ArtifactVersion.state == COMMITTED)
        ).all()
        for version in committed:
            manifest = Manifest.from_bytes(store.read(version.manifest_digest))
            for digest in manifest.stored_digests():
                assert store.exists(digest)
                assert session.get(Blob, digest) is not None
    engine.dispose()


def test_the_service_runs_garbage_collection_as_a_periodic_job(gc_server: Server) -> None:
    """`strata serve` registers the job: its first tick is claimed and run at start."""
    assert gc_server.wait_for_job_run("collect-garbage").last_error == ""
