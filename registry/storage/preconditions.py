"""Conditional requests to object stores, which fsspec does not expose.

Clients PUT large blobs straight to their digest's key through signed URLs, so two
guarantees come from the store itself:

- a signed PUT creates an object only where none exists (S3 `If-None-Match: *`, GCS
  `x-goog-if-generation-match: 0`, both covered by the signature so a client cannot
  drop them): a published blob cannot be overwritten through a URL signed before it
  was published;
- the service deletes an object whose bytes failed verification only if it is still
  the version it read (S3 `If-Match: <ETag>`, GCS `ifGenerationMatch`): a delete that
  lost a race never removes the honest bytes that replaced the bad ones.

Only object stores presign, so these functions know S3 and GCS only.
"""

import errno
from collections.abc import Mapping
from typing import Any

from fsspec import AbstractFileSystem

S3_CREATE_ONLY = {"If-None-Match": "*"}
GCS_CREATE_ONLY = {"x-goog-if-generation-match": "0"}


def protocols_of(fs: AbstractFileSystem) -> set[str]:
    return {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)


def version_of(fs: AbstractFileSystem, headers: Mapping[str, str]) -> str:
    """Which version of an object a GET response (its `headers`) carried: the ETag on
    S3, the generation on GCS; `delete_if_unchanged` takes it."""
    return headers["x-goog-generation"] if _is_gcs(fs) else headers["etag"]


def delete_if_unchanged(fs: Any, key: str, version: str) -> None:
    """Delete the object at `key` if it is still `version` (see `version_of`); leave
    whatever replaced it."""
    bucket, path, _version = fs.split_path(key)
    if _is_gcs(fs):
        try:
            fs.call("DELETE", "b/{}/o/{}", bucket, path, ifGenerationMatch=version)
        except (FileExistsError, FileNotFoundError):
            pass  # gcsfs raises FileExistsError for 412: another object is there now
    else:
        try:
            fs.call_s3("delete_object", Bucket=bucket, Key=path, IfMatch=version)
        except FileNotFoundError:
            pass
        except OSError as exc:
            if not _s3_precondition_failed(exc):
                raise
    fs.invalidate_cache(key)


def _is_gcs(fs: AbstractFileSystem) -> bool:
    return bool(protocols_of(fs) & {"gs", "gcs"})


def _s3_precondition_failed(exc: OSError) -> bool:
    response = getattr(exc.__cause__, "response", None) or {}
    code = response.get("Error", {}).get("Code")
    return exc.errno == errno.EINVAL and code == "PreconditionFailed"
