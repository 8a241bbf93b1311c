"""Where blobs live under the store root: pure functions, no I/O.

<root>/ab/abcd...      a blob, fanned out by its digest's first 2 hex digits; published
                       once verified and recorded in the database (a client may put
                       it there itself through a presigned URL)
<root>/tmp/<token>     an upload in flight (streamed through the service, or a pack of
                       small blobs a client put through a presigned URL)
"""

import re
import uuid

from sdk.digest import is_digest

TMP_DIR = "tmp"
_TOKEN = re.compile(r"[0-9a-f]{32}")


def blob_key(root: str, digest: str) -> str:
    if not is_digest(digest):
        raise ValueError(f"not a digest: {digest!r}")
    return f"{root}/{digest[:2]}/{digest}"


def new_upload_token() -> str:
    return uuid.uuid4().hex


def is_upload_token(value: object) -> bool:
    return isinstance(value, str) and _TOKEN.fullmatch(value) is not None


def temp_key(root: str, token: str | None = None) -> str:
    """The temporary key of an upload; a fresh one without `token`."""
    token = new_upload_token() if token is None else token
    if not is_upload_token(token):
        raise ValueError(f"not an upload token: {token!r}")
    return f"{root}/{TMP_DIR}/{token}"


def digest_from_key(key: str) -> str | None:
    name = key.rstrip("/").rsplit("/", 1)[-1]
    return name if is_digest(name) else None
