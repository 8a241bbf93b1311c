"""A real HTTP receiver on 127.0.0.1 for webhook and Slack deliveries.

It records every complete request (arrival time, method, path, headers, raw body) and answers
from a programmable queue of replies (status, headers, body, delay), falling back to a
default reply (200 unless changed). A hook may run on each request before it is
answered (e.g. to call the API back, as a receiver acting on a webhook would).
"""

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds to wait before answering


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    monotonic: float  # time.monotonic() at arrival
    wall: float  # time.time() at arrival

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def webhook_headers(self) -> dict[str, str]:
        """What `standardwebhooks.Webhook.verify` looks at."""
        return {k: v for k, v in self.headers.items() if k.startswith("webhook-")}


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.default = Reply()
        self.hook: Callable[[Request], None] | None = None
        self._replies: deque[Reply] = deque()
        self._changed = threading.Condition()
        self._closing = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                if len(body) < length:  # the sender died mid-request (killed service)
                    self.close_connection = True
                    return
                request = Request(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                    monotonic=time.monotonic(),
                    wall=time.time(),
                )
                reply = receiver._record(request)
                if receiver.hook is not None:
                    receiver.hook(request)
                if reply.delay:
                    receiver._closing.wait(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:  # the client gave up (timeout, killed service)
                    pass

            do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    def _record(self, request: Request) -> Reply:
        with self._changed:
            self.requests.append(request)
            reply = self._replies.popleft() if self._replies else self.default
            self._changed.notify_all()
        return reply

    # ---- programming the answers ------------------------------------------------------

    def reply(self, *replies: Reply | int) -> None:
        """Queue answers for the next requests (an int is a bare status)."""
        with self._changed:
            self._replies.extend(Reply(r) if isinstance(r, int) else r for r in replies)

    def always(self, reply: Reply | int) -> None:
        """The answer once the queue is empty."""
        self.default = Reply(reply) if isinstance(reply, int) else reply

    # ---- looking at what arrived ------------------------------------------------------

    @property
    def count(self) -> int:
        with self._changed:
            return len(self.requests)

    def wait_for(self, n: int, timeout: float = 5.0) -> list[Request]:
        """Wait until at least `n` requests arrived; returns all of them so far."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"receiver got {len(self.requests)} request(s) in {timeout} s, expected {n}"
                    )
                self._changed.wait(left)
            return list(self.requests)

    def settle(self, seconds: float) -> list[Request]:
        """Wait `seconds` and return everything received (to check nothing more comes)."""
        time.sleep(seconds)
        with self._changed:
            return list(self.requests)

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.close()


@pytest.fixture
def make_receiver() -> Iterator[Callable[[], Receiver]]:
    """For tests that need more than one receiver."""
    made: list[Receiver] = []

    def make() -> Receiver:
        made.append(Receiver())
        return made[-1]

    yield make
    for rec in made:
        rec.close()
