"""References to objects in s3:// and gs:// buckets: tracked by the store's own
checksums and, in a versioned bucket, pinned to the version that was logged.

An entry's digest is the object's ETag (S3), or its MD5, else CRC32C (GCS); `extra`
keeps them with the VersionId (S3) or generation (GCS) when the bucket keeps versions.
A pinned reference downloads the logged version even after the object was
overwritten; an unpinned one is refused once the object changed. Credentials and
endpoints come from the environment, as for any s3fs or gcsfs client.
"""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import fsspec

from sdk.errors import IntegrityError, NotFoundError, ValidationError
from sdk.manifest import Entry

SCHEMES = ("s3", "gs")
# Objects one reference may expand to unless `max_objects` says otherwise; a prefix
# holding more is refused, never silently cut short.
DEFAULT_MAX_OBJECTS = 10_000
CHUNK = 1024 * 1024
INFO_WORKERS = 16


def resolve(uri: str, name: str | None, max_objects: int | None) -> list[tuple[str, Entry]]:
    """One entry per object: `uri` names an object, or a prefix (folder) of them."""
    scheme, path = uri.split("://", 1)
    fs = _filesystem(scheme)
    limit = DEFAULT_MAX_OBJECTS if max_objects is None else max_objects
    if not uri.endswith("/") and fs.isfile(path):
        listed = {path: fs.info(path)}
        prefix = path.rsplit("/", 1)[0]
        base = name or path.rsplit("/", 1)[-1]
    else:
        prefix = path.rstrip("/")
        listed = fs.find(prefix, detail=True)
        base = name or ""
        if not listed:
            raise NotFoundError(f"reference {uri} names no object and no prefix of objects")
    if len(listed) > limit:
        raise ValidationError(
            f"reference {uri} holds {len(listed)} objects, more than max_objects={limit}; "
            "pass a larger max_objects to track them all"
        )
    infos = _with_versions(scheme, fs, listed)
    entries = []
    for key, info in sorted(infos.items()):
        if len(listed) == 1 and key == path:
            artifact_path = base
        else:
            relative = key[len(prefix) :].lstrip("/")
            artifact_path = f"{base}/{relative}" if base else relative
        entries.append((artifact_path, _entry(scheme, f"{scheme}://{key}", info)))
    return entries


def fetch(path: str, entry: Entry, target: Path) -> None:
    """Write the logged version of the object to `target`; raise if it is gone or changed."""
    assert entry.ref is not None
    scheme, key = entry.ref.split("://", 1)
    fs = _filesystem(scheme)
    version = _version(scheme, entry)
    _check_unchanged(path, entry, _info(fs, key, version, entry.ref))
    size = 0
    with fs.open(key, "rb", **version) as source, open(target, "wb") as out:
        while chunk := source.read(CHUNK):
            out.write(chunk)
            size += len(chunk)
    if size != entry.size:
        raise IntegrityError(
            f"reference {path} ({entry.ref}) arrived with {size} bytes, not {entry.size}"
        )


def changed(path: str, entry: Entry) -> str | None:
    """Why the logged object can no longer be had as logged, or None if it can."""
    assert entry.ref is not None
    scheme, key = entry.ref.split("://", 1)
    try:
        info = _info(_filesystem(scheme), key, _version(scheme, entry), entry.ref)
        _check_unchanged(path, entry, info)
    except (NotFoundError, IntegrityError) as exc:
        return exc.message
    return None


def _filesystem(scheme: str) -> Any:
    # version_aware lets s3fs read an object's older versions by VersionId.
    options = {"version_aware": True} if scheme == "s3" else {}
    return fsspec.filesystem(scheme, **options)


def _with_versions(scheme: str, fs: Any, listed: dict[str, dict]) -> dict[str, dict]:
    """Listings carry no S3 VersionId: in a versioned bucket, ask each object for it.
    GCS listings carry generations; they pin only where the bucket keeps old ones."""
    if scheme == "gs":
        bucket = next(iter(listed)).split("/", 1)[0]
        if not _gcs_bucket_versioned(fs, bucket):
            return {key: {**info, "generation": None} for key, info in listed.items()}
        return listed
    first_key = next(iter(listed))
    if _s3_version_id(fs.info(first_key)) is None:
        return listed
    with ThreadPoolExecutor(INFO_WORKERS) as pool:
        return dict(zip(listed, pool.map(fs.info, listed), strict=True))


def _gcs_bucket_versioned(fs: Any, bucket: str) -> bool:
    try:
        metadata = fs.call("GET", "b/{}", bucket, json_out=True)
    except OSError:
        return False  # no permission to read the bucket's settings: nothing is pinned
    return bool(metadata.get("versioning", {}).get("enabled"))


def _s3_version_id(info: dict) -> str | None:
    version = info.get("VersionId")
    return version if version and version != "null" else None


def _entry(scheme: str, ref: str, info: dict) -> Entry:
    if scheme == "s3":
        etag = str(info["ETag"]).strip('"')
        extra: dict[str, Any] = {"etag": etag}
        version = _s3_version_id(info)
        if version is not None:
            extra["versionId"] = version
        return Entry(digest=etag, size=int(info["size"]), ref=ref, extra=extra)
    checksums = {k: info[k] for k in ("md5Hash", "crc32c") if info.get(k)}
    extra = {"md5" if k == "md5Hash" else k: v for k, v in checksums.items()}
    if info.get("generation"):
        extra["generation"] = str(info["generation"])
    digest = extra.get("md5") or extra.get("crc32c") or str(info.get("etag", ""))
    return Entry(digest=digest, size=int(info["size"]), ref=ref, extra=extra)


def _version(scheme: str, entry: Entry) -> dict[str, str]:
    if scheme == "s3" and "versionId" in entry.extra:
        return {"version_id": entry.extra["versionId"]}
    if scheme == "gs" and "generation" in entry.extra:
        return {"generation": entry.extra["generation"]}
    return {}


def _info(fs: Any, key: str, version: dict[str, str], ref: str) -> dict:
    try:
        return dict(fs.info(key, **version))
    except FileNotFoundError:
        pinned = f" (version {next(iter(version.values()))})" if version else ""
        raise NotFoundError(f"referenced object {ref}{pinned} no longer exists") from None


def _check_unchanged(path: str, entry: Entry, info: dict) -> None:
    scheme = entry.ref.split("://", 1)[0] if entry.ref else ""
    now = _entry(scheme, entry.ref or "", info)
    if now.digest != entry.digest or now.size != entry.size:
        raise IntegrityError(f"reference {path} ({entry.ref}) changed since it was logged")
