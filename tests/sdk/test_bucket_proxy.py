"""Bucket transfers honour HTTP_PROXY / NO_PROXY like the SDK's API client: through a
recording forward proxy on loopback to a plain HTTP origin standing in for a bucket."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from sdk.bucket import BucketClient
from sdk.cache import BlobCache
from sdk.digest import hash_bytes
from sdk.progress import NoProgress

BLOB = b"bytes of a blob in the bucket" * 1000


class Origin(BaseHTTPRequestHandler):
    """GET answers BLOB; PUT keeps the body in `self.server.put`."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BLOB)))
        self.end_headers()
        self.wfile.write(BLOB)

    def do_PUT(self) -> None:
        self.server.put = self.rfile.read(int(self.headers["Content-Length"]))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


class Proxy(BaseHTTPRequestHandler):
    """A forward proxy: records each absolute URL asked for and relays the exchange."""

    def relay(self) -> None:
        self.server.seen.append(f"{self.command} {self.path}")  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        with httpx.Client(trust_env=False) as origin:
            answer = origin.request(self.command, self.path, content=body)
        self.send_response(answer.status_code)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_PUT = relay

    def log_message(self, *_args: object) -> None:
        pass


def serve(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def origin() -> Iterator[ThreadingHTTPServer]:
    yield from serve(Origin)


@pytest.fixture
def proxy() -> Iterator[ThreadingHTTPServer]:
    yield from serve(Proxy)


def url_of(server: ThreadingHTTPServer, path: str) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}{path}"


def test_downloads_and_uploads_go_through_the_environment_proxy(
    origin: ThreadingHTTPServer,
    proxy: ThreadingHTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", url_of(proxy, ""))
    cache = BlobCache(tmp_path / "cache", 10**9)
    blob_url = url_of(origin, "/bucket/blob?X-Signature=abc%2Fdef")
    with BucketClient(2) as bucket:
        bucket.get_into(blob_url, hash_bytes(BLOB), cache, NoProgress())
        assert bucket.put(url_of(origin, "/bucket/new"), iter([b"put ", b"bytes"]), 9, {})
    assert cache.path(hash_bytes(BLOB)).read_bytes() == BLOB
    assert origin.put == b"put bytes"  # type: ignore[attr-defined]
    # The signed query string reaches the bucket exactly as signed.
    assert proxy.seen == [f"GET {blob_url}", f"PUT {url_of(origin, '/bucket/new')}"]  # type: ignore[attr-defined]

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with BucketClient(2) as bucket:
        assert bucket.put(url_of(origin, "/bucket/direct"), b"direct", 6, {})
    assert origin.put == b"direct"  # type: ignore[attr-defined]
    assert len(proxy.seen) == 2  # type: ignore[attr-defined]
