"""MLflow webhook latency, run with bench/.venv-mlflow/bin/python; prints one JSON line.

    mlflow_webhooks.py version
    mlflow_webhooks.py measure --moves 200 --warmup 10 [--model x] [--timeout 10]

MLFLOW_TRACKING_URI points at a running ``mlflow server`` started with
MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true and MLFLOW_WEBHOOK_ALLOWED_SCHEMES=http,https (MLflow
refuses loopback and plain http otherwise). Standalone on purpose: the peer never imports
Strata's stack, so the receiver below mirrors the one in bench/automations_bench.py.

The script starts a plain-HTTP receiver (ThreadingHTTPServer on 127.0.0.1; perf_counter
when a request has been read), creates registered model MODEL with two versions and a
webhook (with a secret) for `model_version_alias.created`, then moves alias `production`
between versions 1 and 2, one move at a time: perf_counter just before
`MlflowClient.set_registered_model_alias`, after it returns, and the request's arrival at the
receiver; the next move starts only once the receiver has the request (or after --timeout).
Every request's `X-MLflow-Signature` (v1, base64 HMAC-SHA256 of `id.timestamp.body` keyed
with the secret's UTF-8 bytes) is checked, and its body must name the version just set.

Result: {"version", "samples": [{"call_ms", "e2e_ms" | null}], "warmup": n, "missing",
"duplicates", "unexpected", "bad_signature", "http_requests", "timed_other_cores"}:
timed_other_cores is the mean number of cores other processes used during the timed moves.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import queue
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Records (arrival perf_counter, headers, body) of every POST and answers 200."""

    def __init__(self) -> None:
        self.inbox: queue.Queue = queue.Queue()
        inbox = self.inbox

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                arrived = time.perf_counter()
                inbox.put((arrived, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def signature_ok(secret: str, headers: dict, body: bytes) -> bool:
    delivery_id = headers.get("x-mlflow-delivery-id", "")
    timestamp = headers.get("x-mlflow-timestamp", "")
    signed = f"{delivery_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest())
    return hmac.compare_digest(headers.get("x-mlflow-signature", ""), "v1," + expected.decode())


CLK_TCK = os.sysconf("SC_CLK_TCK")


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (as bench/proc.py counts them)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def tree_cpu_s(pid: int) -> float:
    """User+system CPU seconds of ``pid`` and its live descendants."""
    total, stack = 0.0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    stack.extend(int(x) for x in f.read().split())
        except (OSError, IndexError, ValueError):
            continue
    return total


class LoadMeter:
    """Mean cores used during the timed moves by processes other than this one and the
    server's process tree (`--server-pid`), as bench/proc.py's LoadMeter."""

    def __init__(self, server_pid: int | None) -> None:
        self.server_pid = server_pid

    def _sample(self) -> tuple[float, float, float, float]:
        own = sum(os.times()[:2])
        server = tree_cpu_s(self.server_pid) if self.server_pid else 0.0
        return time.perf_counter(), busy_cpu_s(), own, server

    def start(self) -> None:
        self.t0 = self._sample()

    def stop(self) -> float:
        t1 = self._sample()
        wall = t1[0] - self.t0[0]
        other = (t1[1] - self.t0[1]) - (t1[2] - self.t0[2]) - (t1[3] - self.t0[3])
        return round(max(0.0, other / wall), 2) if wall > 0 else 0.0


class RequestCounter:
    """Counts the HTTP requests the MLflow client sends (requests.Session.send)."""

    def __init__(self) -> None:
        import requests

        self.sent = 0
        self._cls, self._original = requests.Session, requests.Session.send
        counter = self

        def counting(session, request, **kwargs):
            counter.sent += 1
            return counter._original(session, request, **kwargs)

        self._cls.send = counting

    def close(self) -> None:
        self._cls.send = self._original


def measure(args: argparse.Namespace) -> dict:
    from mlflow import MlflowClient

    receiver = Receiver()
    client = MlflowClient()
    secret = base64.b64encode(os.urandom(32)).decode()
    client.create_registered_model(args.model)
    for i in (1, 2):
        client.create_model_version(args.model, source=f"s3://bench/{args.model}/{i}")
    client.create_webhook(
        name="bench-alias",
        url=receiver.url,
        events=["model_version_alias.created"],
        secret=secret,
    )
    seen: set[str] = set()
    out = {"missing": 0, "duplicates": 0, "unexpected": 0, "bad_signature": 0}
    samples = []
    counter = None
    meter = LoadMeter(args.server_pid)
    for i in range(args.warmup + args.moves):
        if i == args.warmup:
            counter = RequestCounter()
            meter.start()
        version = str(1 + i % 2)
        t0 = time.perf_counter()
        client.set_registered_model_alias(args.model, "production", version)
        t1 = time.perf_counter()
        arrived = None
        deadline = t1 + args.timeout
        while arrived is None:
            try:
                left = max(0.0, deadline - time.perf_counter())
                at, headers, body = receiver.inbox.get(timeout=left)
            except queue.Empty:
                out["missing"] += 1
                break
            delivery_id = headers.get("x-mlflow-delivery-id", "")
            if delivery_id in seen:
                out["duplicates"] += 1
                continue
            seen.add(delivery_id)
            if not signature_ok(secret, headers, body):
                out["bad_signature"] += 1
            data = json.loads(body).get("data", {})
            if data.get("version") != version or data.get("alias") != "production":
                # MLflow's ids are fresh per send, so a retry of an earlier move shows here.
                out["unexpected"] += 1
                continue
            arrived = at
        if i >= args.warmup:
            e2e = None if arrived is None else (arrived - t0) * 1000
            samples.append({"call_ms": (t1 - t0) * 1000, "e2e_ms": e2e})
    other_cores = meter.stop() if counter else None
    http_requests = counter.sent / args.moves if counter and args.moves else None
    if counter:
        counter.close()
    time.sleep(args.settle)  # late duplicates or retries
    while not receiver.inbox.empty():
        _at, headers, _body = receiver.inbox.get()
        delivery_id = headers.get("x-mlflow-delivery-id", "")
        out["duplicates" if delivery_id in seen else "unexpected"] += 1
    receiver.close()
    import mlflow

    return {
        "version": mlflow.__version__,
        "samples": samples,
        "warmup": args.warmup,
        "http_requests": http_requests,
        "timed_other_cores": other_cores,
        **out,
    }


def version(_args: argparse.Namespace) -> dict:
    import mlflow

    return {"version": mlflow.__version__}


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("measure")
    p.add_argument("--moves", type=int, default=200)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--model", default="x")
    p.add_argument("--server-pid", type=int, help="the server's pid (its CPU is not other load)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait per request")
    p.add_argument("--settle", type=float, default=2.0, help="seconds to wait for stragglers")
    p.set_defaults(fn=measure)
    sub.add_parser("version").set_defaults(fn=version)
    args = ap.parse_args()
    print(json.dumps(args.fn(args)), flush=True)


if __name__ == "__main__":
    main()
