"""Versions of a collection: numbering, latest, aliases, lookups, dedup and file listings."""

import time

import httpx

from sdk.digest import hash_bytes
from sdk.manifest import Entry, Manifest
from tests.api.helpers import (
    blob_path,
    collection_url,
    commit,
    commit_manifest,
    manifest_of,
    put_blob,
    versions,
)


def get_version(api, project, collection, selector):
    response = api.get(f"{collection_url(project, collection)}/versions/{selector}")
    assert response.status_code == 200, response.text
    return response.json()


def list_all_files(api, url, **params):
    """Every file of a listing, following next_offset; also returns the page sizes."""
    files, pages, offset = [], [], 0
    while offset is not None:
        response = api.get(url, params={**params, "offset": offset})
        assert response.status_code == 200, response.text
        page = response.json()
        files += page["files"]
        pages.append(len(page["files"]))
        assert page["next_offset"] in (None, offset + len(page["files"]))
        offset = page["next_offset"]
    return files, pages


def test_versions_are_numbered_and_latest_follows_the_newest(server, project):
    with server.api() as api:
        made = [commit(api, project, "ds", {"f.txt": f"content {i}".encode()}) for i in range(3)]
        assert [m["created"] for m in made] == [True, True, True]
        assert [m["version"]["version"] for m in made] == ["v0", "v1", "v2"]
        assert [m["version"]["index"] for m in made] == [0, 1, 2]
        assert made[0]["version"]["aliases"] == ["latest"]
        assert made[0]["version"]["qualified_name"] == f"{project}/ds:v0"

        listed = versions(api, project, "ds")
        assert [v["version"] for v in listed] == ["v0", "v1", "v2"]
        assert [("latest" in v["aliases"]) for v in listed] == [False, False, True]
        assert get_version(api, project, "ds", "latest")["version"] == "v2"
        assert get_version(api, project, "ds", "v1")["digest"] == made[1]["version"]["digest"]

        collection = api.get(f"/projects/{project}/collections/ds").json()
        assert (collection["type"], collection["version_count"]) == ("dataset", 3)
        assert [c["name"] for c in api.get(f"/projects/{project}/collections").json()] == ["ds"]


def test_version_record_describes_the_content(server, project):
    files = {"a.txt": b"alpha", "sub/b.bin": bytes(range(256)), "same.txt": b"alpha"}
    with server.api() as api:
        version = commit(
            api,
            project,
            "described",
            files,
            type="model",
            description="first model",
            metadata={"acc": 0.9, "nested": {"k": [1, 2]}},
            aliases=["best"],
            tags=["baseline", "b2"],
        )["version"]
    manifest = manifest_of(files)
    assert version["digest"] == manifest.digest()
    assert version["manifest_digest"] == hash_bytes(manifest.to_bytes())
    assert (version["size"], version["file_count"]) == (5 + 256 + 5, 3)
    assert version["type"] == "model"
    assert version["description"] == "first model"
    assert version["metadata"] == {"acc": 0.9, "nested": {"k": [1, 2]}}
    assert version["aliases"] == ["best", "latest"]
    assert version["tags"] == ["b2", "baseline"]
    assert version["state"] == "COMMITTED"


def test_lookup_by_version_alias_and_digest(server, project):
    with server.api() as api:
        v0 = commit(api, project, "ds", {"x": b"zero"}, aliases=["best"])["version"]
        v1 = commit(api, project, "ds", {"x": b"one"})["version"]
        for selector, expected in [("v0", v0), ("best", v0), (v0["digest"], v0), ("v1", v1)]:
            got = get_version(api, project, "ds", selector)
            assert (got["version"], got["digest"]) == (expected["version"], expected["digest"])
        # The manifest blob's digest is not a selector; the artifact digest is.
        response = api.get(f"{collection_url(project, 'ds')}/versions/{v0['manifest_digest']}")
        assert response.status_code == 404


def test_alias_moves_and_is_removed(server, project):
    aliases = f"{collection_url(project, 'ds')}/aliases"
    with server.api() as api:
        commit(api, project, "ds", {"x": b"zero"}, aliases=["best"])
        v1 = commit(api, project, "ds", {"x": b"one"})["version"]

        moved = api.put(f"{aliases}/best", json={"version": "v1"})
        assert moved.status_code == 200, moved.text
        assert moved.json()["version"] == "v1"
        assert moved.json()["aliases"] == ["best", "latest"]
        assert get_version(api, project, "ds", "best")["version"] == "v1"
        assert get_version(api, project, "ds", "v0")["aliases"] == []

        # Any selector names the target: another alias, or a digest.
        assert api.put(f"{aliases}/prod", json={"version": "best"}).json()["version"] == "v1"
        by_digest = api.put(f"{aliases}/staging", json={"version": v1["digest"]})
        assert by_digest.json()["version"] == "v1"
        back = api.put(f"{aliases}/best", json={"version": "v0"}).json()
        assert (back["version"], back["aliases"]) == ("v0", ["best"])

        assert api.delete(f"{aliases}/prod").status_code == 204
        assert api.get(f"{collection_url(project, 'ds')}/versions/prod").status_code == 404
        assert get_version(api, project, "ds", "v1")["aliases"] == ["latest", "staging"]
        assert api.delete(f"{aliases}/prod").status_code == 404


def test_patch_replaces_fields_and_keeps_latest(server, project):
    url = f"{collection_url(project, 'ds')}/versions/v0"
    with server.api() as api:
        commit(api, project, "ds", {"x": b"zero"}, aliases=["a1"], tags=["t1"], metadata={"k": 1})
        response = api.patch(
            url,
            json={"description": "d", "metadata": {"k": 2}, "aliases": ["a2"], "tags": ["t2"]},
        )
        assert response.status_code == 200, response.text
        patched = response.json()
    assert patched["description"] == "d"
    assert patched["metadata"] == {"k": 2}
    assert patched["aliases"] == ["a2", "latest"]
    assert patched["tags"] == ["t2"]


def test_identical_content_returns_the_existing_version(server, project):
    files = {"a.txt": b"alpha", "b.txt": b"beta"}
    with server.api() as api:
        first = commit(api, project, "ds", files, aliases=["best"], tags=["one"])
        assert first["created"] is True
        commit(api, project, "ds", {"other.txt": b"other"})

        again = commit(api, project, "ds", files, aliases=["prod"], tags=["two"], expect=201)
        assert again["created"] is False
        assert again["version"]["version"] == "v0"
        assert again["version"]["aliases"] == ["best", "prod"]
        assert again["version"]["tags"] == ["one", "two"]

        # Same entries, differently written manifest (other bytes, same artifact digest).
        rewritten = manifest_of(files).to_bytes().replace(b'"hash"', b' "hash"')
        response = commit_manifest(api, project, "ds", rewritten, aliases=["third"])
        assert response.status_code in (200, 201), response.text
        assert response.json()["created"] is False
        assert response.json()["version"]["version"] == "v0"
        assert "third" in response.json()["version"]["aliases"]

        assert [v["version"] for v in versions(api, project, "ds")] == ["v0", "v1"]
        assert get_version(api, project, "ds", "latest")["version"] == "v1"


def test_same_content_in_another_collection_is_a_new_version(server, project):
    files = {"a.txt": b"shared"}
    with server.api() as api:
        first = commit(api, project, "one", files)["version"]
        second = commit(api, project, "two", files)
    assert second["created"] is True
    assert second["version"]["version"] == "v0"
    assert second["version"]["digest"] == first["digest"]


def test_recommitting_does_not_rewrite_blobs(server, project):
    files = {"a.txt": f"once {time.time_ns()}".encode()}
    with server.api() as api:
        commit(api, project, "ds", files)
        path = blob_path(server, hash_bytes(files["a.txt"]))
        before = path.stat().st_mtime_ns
        time.sleep(0.05)
        assert put_blob(api, files["a.txt"]).status_code == 201
        assert commit(api, project, "ds", files)["created"] is False
    assert path.stat().st_mtime_ns == before


def test_delete_version_moves_latest_back_and_keeps_numbering(server, project):
    url = f"{collection_url(project, 'ds')}/versions"
    with server.api() as api:
        commit(api, project, "ds", {"x": b"zero"})
        commit(api, project, "ds", {"x": b"one"}, aliases=["best"])
        assert api.delete(f"{url}/v1").status_code == 409  # holds "best"
        assert api.delete(f"{url}/v1", params={"delete_aliases": "true"}).status_code == 204
        assert api.get(f"{url}/v1").status_code == 404
        assert api.get(f"{url}/best").status_code == 404
        assert get_version(api, project, "ds", "latest")["version"] == "v0"
        assert [v["version"] for v in versions(api, project, "ds")] == ["v0"]
        # Numbers are never reused: a reference to v1 must not come to mean other content.
        assert commit(api, project, "ds", {"x": b"two"})["version"]["version"] == "v2"


def test_file_listing_pages_and_prefix(server, project):
    blob = b"tiny"
    files = {f"a/{i:04}.txt": blob for i in range(1500)}
    files |= {f"b/{i:04}.txt": blob for i in range(1000)}
    url = f"{collection_url(project, 'ds')}/versions/v0/files"
    with server.api() as api:
        commit(api, project, "ds", files)

        first = api.get(url).json()
        assert len(first["files"]) == 1000 and first["next_offset"] == 1000
        assert first["files"][0] == {
            "path": "a/0000.txt",
            "digest": hash_bytes(blob),
            "size": 4,
            "ref": None,
            "extra": {},
        }

        listed, pages = list_all_files(api, url)
        assert pages == [1000, 1000, 500]
        assert [f["path"] for f in listed] == sorted(files)

        only_b, pages = list_all_files(api, url, prefix="b/")
        assert pages == [1000]
        assert [f["path"] for f in only_b] == sorted(p for p in files if p.startswith("b/"))

        small, pages = list_all_files(api, url, prefix="a/", limit=700)
        assert pages == [700, 700, 100]
        assert len({f["path"] for f in small}) == 1500

        assert api.get(url, params={"prefix": "c/"}).json() == {"files": [], "next_offset": None}
        beyond = api.get(url, params={"offset": 5000}).json()
        assert beyond == {"files": [], "next_offset": None}


def test_hundred_thousand_entries_commit_and_page(server, project):
    """Distinct paths, one small blob: a large manifest commits and pages.

    Pages are sampled (first, middle, last, a prefix) rather than all walked: every page
    of the listing costs the service a parse of the whole manifest.
    """
    blob = b"one small blob"
    digest = hash_bytes(blob)
    count = 100_000
    paths = [f"d{i // 1000:03}/f{i:06}.txt" for i in range(count)]
    manifest = Manifest({path: Entry(digest, len(blob)) for path in paths})
    url = f"{collection_url(project, 'big')}/versions/v0/files"
    with server.api() as api:
        api.timeout = httpx.Timeout(120)
        assert put_blob(api, blob).status_code == 201
        started = time.monotonic()
        response = commit_manifest(api, project, "big", manifest.to_bytes())
        commit_seconds = time.monotonic() - started
        assert response.status_code == 201, response.text
        version = response.json()["version"]
        assert (version["file_count"], version["size"]) == (count, count * len(blob))
        assert version["digest"] == manifest.digest()

        started = time.monotonic()
        first = api.get(url).json()
        page_seconds = time.monotonic() - started
        assert [f["path"] for f in first["files"]] == paths[:1000]
        assert first["next_offset"] == 1000

        middle = api.get(url, params={"offset": 50_000, "limit": 10_000}).json()
        assert [f["path"] for f in middle["files"]] == paths[50_000:60_000]
        assert middle["next_offset"] == 60_000

        last = api.get(url, params={"offset": count - 1}).json()
        assert [f["path"] for f in last["files"]] == [paths[-1]]
        assert last["next_offset"] is None

        one_dir, pages = list_all_files(api, url, prefix="d042/")
        assert pages == [1000]
        assert [f["path"] for f in one_dir] == paths[42_000:43_000]
    # Generous bounds: they catch pathological behaviour, not a slow machine.
    assert commit_seconds < 30, commit_seconds
    assert page_seconds < 10, page_seconds
