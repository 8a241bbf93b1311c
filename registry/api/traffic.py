"""Bytes this API process received in request bodies, per resource, at `/metrics`.

The evidence that direct transfer works: with presigned URLs, blob bytes go from the
client to the bucket, and the `blobs` count stays near the size of the JSON asked for
the URLs. The count covers this process only (one per uvicorn worker).
"""

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_PREFIX = "/api/v1/"


class BodyBytes:
    """Request body bytes received so far, per API resource, in a registry of its own
    (one per app, so several apps in one process do not collide)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._received = Counter(
            "strata_request_body_bytes",
            "Bytes received in request bodies, by API resource.",
            ["resource"],
            registry=self.registry,
        )

    def add(self, resource: str, size: int) -> None:
        self._received.labels(resource).inc(size)

    def prometheus_text(self) -> bytes:
        return generate_latest(self.registry)


class CountBodyBytes:
    """ASGI middleware adding each request's body bytes, as the application receives
    them, to a `BodyBytes`."""

    def __init__(self, app: ASGIApp, counter: BodyBytes) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        counter, resource = self.counter, _resource(scope["path"])

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request" and message.get("body"):
                counter.add(resource, len(message["body"]))
            return message

        await self.app(scope, counted_receive, send)


def _resource(path: str) -> str:
    """`blobs` for /api/v1/blobs/..., `other` outside the API."""
    if not path.startswith(API_PREFIX):
        return "other"
    return path[len(API_PREFIX) :].split("/", 1)[0] or "other"
