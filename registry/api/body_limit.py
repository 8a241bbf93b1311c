"""Request bodies over their route's limit are refused with 413 before they are read.

A body announcing its length (`Content-Length`) is refused at once, unread; a chunked
one as soon as the bytes received pass the limit. Blob uploads have limits of their
own: a streamed blob (`PUT /blobs/{digest}`) and a batch of framed small blobs
(`POST /blobs/batch`) are larger than any JSON request.
"""

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from registry.limits import Limits

BLOBS = "/api/v1/blobs/"
# Routes under /blobs/ that take JSON, not blob bytes.
JSON_BLOB_ROUTES = ("missing", "fetch", "uploads", "downloads")


class LimitBodySize:
    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits

    def limit_of(self, method: str, path: str) -> tuple[int, str]:
        """The largest body the route takes, and the setting that says so."""
        if path.startswith(BLOBS):
            rest = path[len(BLOBS) :]
            if method == "PUT" and "/" not in rest and rest not in JSON_BLOB_ROUTES:
                return self.limits.blob_bytes, "STRATA_MAX_BLOB_BYTES"
            if method == "POST" and rest == "batch":
                return self.limits.batch_bytes, "STRATA_MAX_BATCH_BYTES"
        return self.limits.request_bytes, "STRATA_MAX_REQUEST_BYTES"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self.limit_of(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(
                send, f"request body of {declared} bytes exceeds {_limit(limit, setting)}"
            )
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Raised inside the route's body reading: FastAPI passes an
                    # HTTPException through, and the error handlers answer it.
                    raise HTTPException(
                        413, f"request body exceeds {_limit(limit, setting)} (stopped reading)"
                    )
            return message

        await self.app(scope, limited_receive, send)


def _limit(limit: int, setting: str) -> str:
    return f"the limit of {limit} bytes ({setting})"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, message: str) -> None:
    body = json.dumps({"detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
