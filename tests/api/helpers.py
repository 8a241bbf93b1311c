"""Small helpers for talking to the REST API directly with httpx."""

import json
from pathlib import Path
from typing import Any

import httpx

from registry.storage.layout import blob_key
from sdk.digest import hash_bytes
from sdk.framing import frame_header
from sdk.manifest import Entry, Manifest
from tests.conftest import Server


def put_blob(api: httpx.Client, data: bytes, digest: str | None = None) -> httpx.Response:
    """Upload one blob (claiming `digest`, by default its true digest)."""
    return api.put(f"/blobs/{digest or hash_bytes(data)}", content=data)


def frames(*blobs: bytes | tuple[str, bytes]) -> bytes:
    """A framed batch body; a `(digest, data)` pair claims a digest of its own."""
    body = b""
    for blob in blobs:
        digest, data = blob if isinstance(blob, tuple) else (hash_bytes(blob), blob)
        body += frame_header(digest, len(data)) + data
    return body


def missing(api: httpx.Client, digests: list[str]) -> list[str]:
    response = api.post("/blobs/missing", json={"digests": digests})
    assert response.status_code == 200, response.text
    return response.json()["digests"]


def collection_url(project: str, collection: str) -> str:
    return f"/projects/{project}/collections/{collection}"


def manifest_of(files: dict[str, bytes]) -> Manifest:
    return Manifest({path: Entry(hash_bytes(data), len(data)) for path, data in files.items()})


def upload_files(api: httpx.Client, files: dict[str, bytes]) -> None:
    for data in {hash_bytes(d): d for d in files.values()}.values():
        assert put_blob(api, data).status_code == 201


def raw_manifest(entries: dict[str, bytes] | list[tuple[str, bytes]]) -> bytes:
    """Hand-written manifest JSON (no validation, so malformed cases can be built).

    A list of pairs may repeat a path, giving a JSON object with a duplicate key.
    """
    pairs = entries.items() if isinstance(entries, dict) else entries
    body = ",".join(
        json.dumps(path, ensure_ascii=False)
        + f':{{"digest":"{hash_bytes(data)}","size":{len(data)}}}'
        for path, data in pairs
    )
    return f'{{"entries":{{{body}}},"hash":"xxh3-128","version":1}}'.encode()


def commit_manifest(
    api: httpx.Client,
    project: str,
    collection: str,
    manifest_bytes: bytes,
    *,
    type: str = "dataset",
    **fields: Any,
) -> httpx.Response:
    """Upload the manifest bytes as a blob, then ask for a version of them."""
    assert put_blob(api, manifest_bytes).status_code == 201
    body = {"type": type, "manifest_digest": hash_bytes(manifest_bytes), **fields}
    return api.post(f"{collection_url(project, collection)}/versions", json=body)


def commit(
    api: httpx.Client,
    project: str,
    collection: str,
    files: dict[str, bytes],
    *,
    expect: int = 201,
    **fields: Any,
) -> dict[str, Any]:
    """Upload `files` and commit them as a version; returns the response JSON."""
    upload_files(api, files)
    response = commit_manifest(api, project, collection, manifest_of(files).to_bytes(), **fields)
    assert response.status_code == expect, response.text
    return response.json()


def versions(api: httpx.Client, project: str, collection: str) -> list[dict[str, Any]]:
    response = api.get(f"{collection_url(project, collection)}/versions")
    assert response.status_code == 200, response.text
    return response.json()


def detail(response: httpx.Response) -> str:
    """The error detail as text (FastAPI validation errors are lists)."""
    body = response.json()
    assert "detail" in body, body
    return json.dumps(body["detail"]) if not isinstance(body["detail"], str) else body["detail"]


def assert_refused(response: httpx.Response, *mentions: str, status: int | None = None) -> str:
    """A 4xx (never 5xx) whose detail mentions each of `mentions` (case-insensitive)."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    if status is not None:
        assert response.status_code == status, (response.status_code, response.text)
    text = detail(response)
    for mention in mentions:
        assert mention.lower() in text.lower(), f"{mention!r} not in detail {text!r}"
    return text


def published(srv: Server) -> dict[str, bytes]:
    """Digest -> bytes of every published blob file (uploads in flight under tmp/ excluded).

    Not `Server.blob_files()`: that drops every path with a `tmp` part, and pytest's
    temporary folders live under /tmp, so it lists nothing there.
    """
    root = srv.blob_dir
    return {
        path.name: path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and path.relative_to(root).parts[0] != "tmp"
    }


def tmp_files(srv: Server) -> list[Path]:
    """Leftovers of uploads in flight."""
    tmp = srv.blob_dir / "tmp"
    return list(tmp.rglob("*")) if tmp.exists() else []


def blob_path(srv: Server, digest: str) -> Path:
    return Path(blob_key(str(srv.blob_dir), digest))
