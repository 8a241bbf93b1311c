"""Bytes this API process received in request bodies, per resource, at `/metrics`.

The evidence that direct transfer works: with presigned URLs, blob bytes go from the
client to the bucket, and the `blobs` count stays near the size of the JSON asked for
the URLs. The count covers this process only (one per uvicorn worker).
"""

from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

API_PREFIX = "/api/v1/"
METRIC = "strata_request_body_bytes_total"


class BodyBytes:
    """Request body bytes received so far, per API resource."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()

    def prometheus_text(self) -> str:
        lines = [
            f"# HELP {METRIC} Bytes received in request bodies, by API resource.",
            f"# TYPE {METRIC} counter",
        ]
        lines += [
            f'{METRIC}{{resource="{resource}"}} {count}'
            for resource, count in sorted(self.received.items())
        ]
        return "\n".join(lines) + "\n"


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
        received = self.counter.received
        resource = _resource(scope["path"])

        async def counted_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received[resource] += len(message.get("body", b""))
            return message

        await self.app(scope, counted_receive, send)


def _resource(path: str) -> str:
    """`blobs` for /api/v1/blobs/..., `other` outside the API."""
    if not path.startswith(API_PREFIX):
        return "other"
    return path[len(API_PREFIX) :].split("/", 1)[0] or "other"
