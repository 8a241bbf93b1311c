"""Conditional requests to object stores, which fsspec does not expose.

Clients PUT large blobs straight to their digest's key through signed URLs, so two
guarantees come from the store itself:

- a signed PUT creates an object only where none exists (S3 `If-None-Match: *`, GCS
  `x-goog-if-generation-match: 0`, both covered by the signature so a client cannot
  drop them): a published blob cannot be overwritten through a URL signed before it
  was published;
- the service deletes an object whose bytes failed verification only if it is still
  the object it read (S3 `If-Match: <ETag>`, GCS `ifGenerationMatch`): a delete that
  lost a race never removes the honest bytes that replaced the bad ones.
"""

import errno
from typing import Any

from fsspec import AbstractFileSystem

S3_CREATE_ONLY = {"If-None-Match": "*"}
GCS_CREATE_ONLY = {"x-goog-if-generation-match": "0"}


def protocols_of(fs: AbstractFileSystem) -> set[str]:
    return {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)


def delete_if_unchanged(fs: Any, key: str, info: dict[str, Any]) -> None:
    """Delete the object at `key` if it is still the one `info` (from `fs.info`)
    describes; leave whatever replaced it. Stores without preconditions: delete."""
    protocols = protocols_of(fs)
    if protocols & {"s3", "s3a"}:
        bucket, path, _version = fs.split_path(key)
        try:
            fs.call_s3("delete_object", Bucket=bucket, Key=path, IfMatch=info["ETag"])
        except FileNotFoundError:
            pass
        except OSError as exc:
            if not _s3_precondition_failed(exc):
                raise
    elif protocols & {"gs", "gcs"}:
        bucket, path, _generation = fs.split_path(key)
        try:
            fs.call("DELETE", "b/{}/o/{}", bucket, path, ifGenerationMatch=info["generation"])
        except (FileExistsError, FileNotFoundError):
            pass  # gcsfs raises FileExistsError for 412: another object is there now
    else:
        fs.rm(key)
    fs.invalidate_cache(key)


def _s3_precondition_failed(exc: OSError) -> bool:
    response = getattr(exc.__cause__, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    return exc.errno == errno.EINVAL and code == "PreconditionFailed"
