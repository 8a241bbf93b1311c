"""Where blobs live under the store root: pure functions, no I/O.

<root>/ab/cd/abcd...   a published blob, fanned out by its digest's first 4 hex digits
<root>/tmp/<uuid>      an upload in flight, published by a move once verified
"""

import uuid

from sdk.digest import is_digest

TMP_DIR = "tmp"


def blob_key(root: str, digest: str) -> str:
    if not is_digest(digest):
        raise ValueError(f"not a digest: {digest!r}")
    return f"{root}/{digest[:2]}/{digest}"


def temp_key(root: str) -> str:
    return f"{root}/{TMP_DIR}/{uuid.uuid4().hex}"


def digest_from_key(key: str) -> str | None:
    name = key.rstrip("/").rsplit("/", 1)[-1]
    return name if is_digest(name) else None
