"""References: files tracked by URI and digest but not copied into the store.

`file://` entries carry the xxh3-128 of their bytes; `http(s)://` entries carry the
server's ETag when it sends one (else the xxh3-128 of the body); `s3://` and `gs://`
entries carry the bucket's checksums and version (`sdk.bucket_refs`). All are checked
again whenever the reference is downloaded or verified.
"""

import os
import uuid
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx

from sdk import bucket_refs
from sdk.digest import Hasher, hash_file
from sdk.errors import IntegrityError, NotFoundError, ValidationError
from sdk.manifest import Entry, check_reference

HTTP_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
CHUNK = 1024 * 1024


def resolve(uri: str, name: str | None, max_objects: int | None) -> list[tuple[str, Entry]]:
    """Entries for `uri`: one per file (a `file://` directory expands to its files)."""
    try:
        check_reference(uri)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    scheme = urlparse(uri).scheme
    if scheme == "file":
        return _resolve_file(uri, name, max_objects)
    if scheme in ("http", "https"):
        return [(name or _basename(uri), _resolve_http(uri))]
    return bucket_refs.resolve(uri, name, max_objects)


def _resolve_file(uri: str, name: str | None, max_objects: int | None) -> list[tuple[str, Entry]]:
    root = Path(unquote(urlparse(uri).path))
    if root.is_file():
        digest, size = hash_file(root)
        return [(name or root.name, Entry(digest=digest, size=size, ref=root.as_uri()))]
    if not root.is_dir():
        raise NotFoundError(f"reference {uri} names no file or directory")
    entries = []
    for directory, _dirs, files in sorted(os.walk(root)):
        for file_name in sorted(files):
            path = Path(directory, file_name)
            relative = path.relative_to(root).as_posix()
            digest, size = hash_file(path)
            artifact_path = f"{name}/{relative}" if name else relative
            entries.append((artifact_path, Entry(digest=digest, size=size, ref=path.as_uri())))
            if max_objects is not None and len(entries) > max_objects:
                raise ValidationError(f"reference {uri} holds more than {max_objects} files")
    return entries


def _resolve_http(uri: str) -> Entry:
    with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=True) as http:
        head = http.head(uri)
        _raise_for_reference(uri, head)
        etag = head.headers.get("ETag")
        if etag:
            size = int(head.headers.get("Content-Length", 0))
            return Entry(digest=etag.strip('"'), size=size, ref=uri, extra={"etag": etag})
        hasher, size = Hasher(), 0
        with http.stream("GET", uri) as response:
            _raise_for_reference(uri, response)
            for chunk in response.iter_bytes(CHUNK):
                hasher.update(chunk)
                size += len(chunk)
        return Entry(digest=hasher.hexdigest(), size=size, ref=uri)


def fetch(path: str, entry: Entry, target: Path) -> None:
    """Write the referenced bytes to `target`, refusing them if they changed."""
    assert entry.ref is not None
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        scheme = urlparse(entry.ref).scheme
        if scheme in bucket_refs.SCHEMES:
            bucket_refs.fetch(path, entry, tmp)
        else:
            if scheme == "file":
                with open(_local_source(entry), "rb") as stream:
                    actual = _copy_hashing(iter(lambda: stream.read(CHUNK), b""), tmp)
            else:
                actual = _fetch_http(entry, tmp)
            if actual != entry.digest:
                raise IntegrityError(f"reference {path} ({entry.ref}) changed since it was logged")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def changed(path: str, entry: Entry) -> str | None:
    """Why the referenced source no longer holds what was logged, or None if it does."""
    assert entry.ref is not None
    scheme = urlparse(entry.ref).scheme
    if scheme in bucket_refs.SCHEMES:
        return bucket_refs.changed(path, entry)
    try:
        if scheme == "file":
            digest, _size = hash_file(_local_source(entry))
        else:
            digest = _resolve_http(entry.ref).digest
    except (NotFoundError, ValidationError) as exc:
        return exc.message
    return None if digest == entry.digest else f"reference {path} ({entry.ref}) changed"


def _local_source(entry: Entry) -> Path:
    assert entry.ref is not None
    source = Path(unquote(urlparse(entry.ref).path))
    if not source.is_file():
        raise NotFoundError(f"referenced file {entry.ref} no longer exists")
    return source


def _fetch_http(entry: Entry, tmp: Path) -> str:
    assert entry.ref is not None
    with httpx.Client(timeout=HTTP_TIMEOUT, follow_redirects=True) as http:
        with http.stream("GET", entry.ref) as response:
            _raise_for_reference(entry.ref, response)
            content_hash = _copy_hashing(response.iter_bytes(CHUNK), tmp)
            etag = response.headers.get("ETag")
    return etag.strip('"') if "etag" in entry.extra and etag else content_hash


def _copy_hashing(chunks: object, tmp: Path) -> str:
    hasher = Hasher()
    with open(tmp, "wb") as out:
        for chunk in chunks:  # type: ignore[attr-defined]
            hasher.update(chunk)
            out.write(chunk)
    return hasher.hexdigest()


def _raise_for_reference(uri: str, response: httpx.Response) -> None:
    if response.status_code == 404:
        raise NotFoundError(f"reference {uri} does not exist (HTTP 404)")
    if response.status_code >= 400:
        raise ValidationError(f"reference {uri} answered HTTP {response.status_code}")


def _basename(uri: str) -> str:
    name = unquote(urlparse(uri).path.rstrip("/").rsplit("/", 1)[-1])
    if not name:
        raise ValidationError(f"cannot derive a file name from {uri}; pass name=")
    return name
