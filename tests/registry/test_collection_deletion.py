"""Deleting a collection against the real service: a project collection vanishes at
once from listings, searches and resolution, its name is free again, and garbage
collection frees the bytes only it held once the grace period has passed (blobs a live
version of another collection shares stay); a version linked into a registry blocks the
deletion; deleting a portfolio removes its links, never the project versions."""

import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session, select

import sdk
from registry.db import make_engine
from registry.models import AliasMove, ArtifactCollection, ArtifactVersion
from registry.services.artifact_versions import delete_version
from registry.services.collection_deletion import delete_project_collection
from registry.services.collections import CollectionRef
from registry.services.versions import resolve_version
from sdk.digest import hash_bytes
from sdk.errors import ConflictError, NotFoundError
from tests.api.helpers import assert_refused, commit, published
from tests.conftest import Server
from tests.registry.test_gc import (  # noqa: F401 (fixtures)
    HOUR,
    client_env,
    collect,
    gc_server,
    manifest_size,
    usage,
)


def names(api: httpx.Client, url: str, body: dict[str, Any] | None = None) -> list[str]:
    response = api.post(url, json=body) if body is not None else api.get(url)
    assert response.status_code == 200, response.text
    rows = response.json()
    items = rows["items"] if isinstance(rows, dict) else rows
    return [item.get("name") or item["qualified_name"] for item in items]


def test_a_deleted_collection_vanishes_at_once_and_its_bytes_after_the_grace_period(
    gc_server: Server,  # noqa: F811 (the fixture imported above)
) -> None:
    project = f"p-{uuid.uuid4().hex[:8]}"
    shared, only_a, only_b = b"shared" * 300, b"only in v0" * 40, b"only in v1" * 60
    v0_files, v1_files = {"w.bin": shared, "a.bin": only_a}, {"w.bin": shared, "b.bin": only_b}
    kept_files = {"w.bin": shared}
    with gc_server.api() as api:
        commit(api, project, "doomed", v0_files, aliases=["best"])
        commit(api, project, "doomed", v1_files)
        commit(api, project, "kept", kept_files, type="model")
        assert api.delete(f"/projects/{project}/collections/doomed").status_code == 204

        # Gone at once: reading, listing, types, searching, resolving.
        assert_refused(api.get(f"/projects/{project}/collections/doomed"), "doomed", status=404)
        assert names(api, f"/projects/{project}/collections") == ["kept"]
        assert api.get(f"/projects/{project}/types").json() == ["model"]
        assert names(api, "/query/collections", {"project": project}) == ["kept"]
        assert "doomed" not in names(api, "/query/collections", {"filter": {"name": "doomed"}})
        assert names(api, "/query/versions", {"project": project}) == [f"{project}/kept:v0"]
        for selector in ("v0", "v1", "best", "latest"):
            resolved = api.get("/resolve", params={"path": f"{project}/doomed:{selector}"})
            assert resolved.status_code == 404, resolved.text
        with pytest.raises(NotFoundError):
            sdk.Api().artifact(f"{project}/doomed:v1")
        assert [c.name for c in sdk.Api().artifact_collections(project)] == ["kept"]

    # The alias went the way a deleted version's does: recorded in the alias history.
    engine = make_engine(gc_server.database_url)
    with Session(engine) as session:
        moves = session.exec(select(AliasMove).where(AliasMove.collection == f"{project}/doomed"))
        assert [(m.alias, m.from_version, m.to_version) for m in moves] == [
            ("best", None, "v0"),
            ("best", "v0", None),
        ]

    doomed_bytes = len(only_a) + len(only_b) + manifest_size(v0_files) + manifest_size(v1_files)
    after_delete = usage(gc_server, project)
    assert after_delete["versions"] == 1 and after_delete["reclaimable_bytes"] == doomed_bytes

    # The name is free again at once, for any type.
    fresh = {"new.bin": b"a new collection under the old name"}
    with gc_server.api() as api:
        reborn = commit(api, project, "doomed", fresh, type="model")["version"]
    assert reborn["version"] == "v0"
    art = sdk.Api().artifact(f"{project}/doomed:latest")
    assert (art.version, art.type, art.digest) == ("v0", "model", reborn["digest"])

    # Within the grace period nothing goes.
    report = collect(gc_server)
    assert (report.purged_versions, report.purged_collections, report.deleted_blobs) == (0, 0, 0)
    assert hash_bytes(only_a) in published(gc_server)

    report = collect(gc_server, later=HOUR + timedelta(seconds=1))
    assert (report.purged_versions, report.purged_collections) == (2, 1)
    assert report.deleted_blobs == 4 and report.freed_bytes == doomed_bytes
    stored = published(gc_server)
    assert hash_bytes(only_a) not in stored and hash_bytes(only_b) not in stored
    assert hash_bytes(shared) in stored
    assert usage(gc_server, project) == {
        "project": project,
        "versions": 2,
        "blobs": 4,
        "bytes": len(shared)
        + manifest_size(kept_files)
        + len(*fresh.values())
        + manifest_size(fresh),
        "reclaimable_bytes": 0,
    }
    with Session(engine) as session:
        rows = session.exec(select(ArtifactCollection.name)).all()
        assert sorted(rows) == ["doomed", "kept"]
        assert len(session.exec(select(ArtifactVersion)).all()) == 2
    engine.dispose()
    kept = sdk.Api().artifact(f"{project}/kept:v0")
    kept.verify(kept.download(gc_server.home.parent / "kept"))


def test_a_linked_version_blocks_deletion_and_a_portfolio_goes_without_its_sources(
    gc_server: Server,  # noqa: F811 (the fixture imported above)
) -> None:
    project, registry = f"p-{uuid.uuid4().hex[:8]}", f"r-{uuid.uuid4().hex[:8]}"
    with gc_server.api() as api:
        version = commit(api, project, "model", {"m.pt": b"weights"}, type="model")["version"]
        assert api.post("/registries", json={"name": registry}).status_code == 201
        body = {"project": project, "collection": "model", "version": "v0", "aliases": ["staging"]}
        linked = api.post(f"/registries/{registry}/collections/resnet/links", json=body)
        assert linked.status_code == 201, linked.text

        refused = api.delete(f"/projects/{project}/collections/model")
        assert_refused(refused, f"@{registry}/resnet", "unlink", status=409)
        assert api.get(f"/projects/{project}/collections/model").status_code == 200
        with pytest.raises(ConflictError, match=f"@{registry}/resnet"):
            sdk.Api().artifact_collection("model", f"{project}/model").delete()

        # Deleting the portfolio removes its links; the project version stays.
        assert api.delete(f"/registries/{registry}/collections/resnet").status_code == 204
        gone = api.get(f"/registries/{registry}/collections/resnet")
        assert_refused(gone, "resnet", status=404)
        assert api.get(f"/registries/{registry}/collections").json() == []
        resolved = api.get("/resolve", params={"path": f"@{registry}/resnet:staging"})
        assert resolved.status_code == 404
        source = api.get("/resolve", params={"path": f"{project}/model:v0"})
        assert source.status_code == 200 and source.json()["digest"] == version["digest"]
        history = api.get(f"/projects/{project}/collections/model/versions/v0").json()
        assert history["state"] == "COMMITTED"

        # Unlinked, the project collection may go (through the SDK).
        sdk.Api().artifact_collection("model", f"{project}/model").delete()
        assert api.get(f"/projects/{project}/collections/model").status_code == 404

        # Missing collections are 404, and deleting twice is too.
        for url in (
            f"/projects/{project}/collections/model",
            f"/projects/{project}/collections/never-was",
            f"/registries/{registry}/collections/resnet",
        ):
            assert_refused(api.delete(url), status=404)
    with pytest.raises(NotFoundError):
        sdk.Api().artifact_collection("model", f"{project}/model")


def test_a_collection_taking_a_purged_ones_id_starts_with_no_alias_history(
    gc_server: Server,  # noqa: F811 (the fixture imported above)
) -> None:
    """SQLite hands the highest id out again once its row is gone: the trail of the
    purged collection (kept, it outlives what it describes) is not the new one's."""
    project = f"p-{uuid.uuid4().hex[:8]}"
    with gc_server.api() as api:
        commit(api, project, "first", {"a.bin": b"first"}, aliases=["best"])
        old_id = collection_id(gc_server, "first")
        assert api.delete(f"/projects/{project}/collections/first").status_code == 204
        collect(gc_server, later=2 * HOUR)
        commit(api, project, "second", {"b.bin": b"second"})
        history = api.get(f"/projects/{project}/collections/second/alias-history")
        assert history.status_code == 200, history.text
        assert history.json() == []
    if gc_server.database_url.startswith("sqlite"):
        assert collection_id(gc_server, "second") == old_id, "the id was reused"


def collection_id(srv: Server, name: str) -> int:
    engine = make_engine(srv.database_url)
    try:
        with Session(engine) as session:
            rows = session.exec(select(ArtifactCollection).where(ArtifactCollection.name == name))
            [row] = list(rows)
            assert row.id is not None
            return row.id
    finally:
        engine.dispose()


@pytest.mark.parametrize("deleted", ["version", "collection"])
def test_a_link_racing_a_deletion_waits_for_it_and_is_refused(server: Server, deleted: str) -> None:
    """A deletion holds its collection's row from the moment it starts; a link of one of
    its versions that arrives meanwhile waits, then finds the version gone (404), rather
    than landing on a version deleted a moment before its own commit."""
    project, registry = f"p-{uuid.uuid4().hex[:8]}", f"r-{uuid.uuid4().hex[:8]}"
    with server.api() as api:
        commit(api, project, "model", {"m.pt": b"weights " + project.encode()}, type="model")
        assert api.post("/registries", json={"name": registry}).status_code == 201

        engine = make_engine(server.database_url)
        ref = CollectionRef(name="model", project=project)
        link_url = f"/registries/{registry}/collections/resnet/links"
        body = {"project": project, "collection": "model", "version": "v0"}
        answers: list[httpx.Response] = []
        with Session(engine) as session:  # the deletion, begun and not yet committed
            collection, version = resolve_version(session, ref, "v0", for_update=True)
            if deleted == "version":
                delete_version(session, collection, version)
            else:
                delete_project_collection(session, collection)
            session.flush()
            linking = threading.Thread(target=lambda: answers.append(api.post(link_url, json=body)))
            linking.start()
            wait_until_blocked(server, linking)
            session.commit()
        linking.join(30)
        engine.dispose()

        [answer] = answers
        assert_refused(answer, "model", "does not exist", status=404)
        resolved = api.get("/resolve", params={"path": f"@{registry}/resnet:latest"})
        assert resolved.status_code == 404, resolved.text


def wait_until_blocked(srv: Server, thread: threading.Thread) -> None:
    """Until the request `thread` makes waits on a row lock (PostgreSQL tells; on SQLite,
    where writers queue on the database, a second still running is the sign)."""
    if not srv.database_url.startswith("postgresql"):
        time.sleep(1)
        assert thread.is_alive(), "the link did not wait for the deletion"
        return
    engine = make_engine(srv.database_url)
    waiting = text(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )
    deadline = time.monotonic() + 10
    try:
        with engine.connect() as connection:
            while not connection.execute(waiting).scalar():
                assert thread.is_alive(), "the link did not wait for the deletion"
                assert time.monotonic() < deadline, "the link never waited for the deletion"
                time.sleep(0.05)
    finally:
        engine.dispose()
