"""Automations benchmark: alias move -> webhook receiver latency (Strata next to MLflow 3.17
webhooks, same run) and metric ingestion throughput with 100 active metric automations.

    .venv/bin/python bench/automations_bench.py [--moves 500 --mlflow-moves 200
                                                 --points 200000 --automations 100]

Writes its section of bench/RESULTS.md (between the automations-bench markers; the rest of
the file is left alone) and the raw figures to bench/_work/automations/results.json.

A run: `mlflow server` (bench/.venv-mlflow, webhooks allowed to reach loopback over http)
is started first; while it boots, `strata serve` starts on a fresh STRATA_HOME and gets a
webhook integration, registry `models`, collection `x` with two linked versions and the
automation `alias.added production -> webhook`. Once MLflow's process tree is idle:

1. Strata latency: `production` alternates between @models/x:v0 and v1, one move at a
   time (`PUT /api/v1/registries/models/collections/x/aliases/production`, one keep-alive
   httpx client); the time is from just before the PUT to the moment the receiver (a
   ThreadingHTTPServer in this process) has read the request. The next move waits for it.
   Every request is checked with `standardwebhooks.Webhook(secret).verify` and its body
   must name the version just set and the one it left.
2. MLflow latency: the same with `set_registered_model_alias` and a webhook on
   `model_version_alias.created`, measured by bench/peers/mlflow_webhooks.py inside
   bench/.venv-mlflow with its own receiver. MLflow is then stopped.
3. Throughput: the same metric series (4 keys, `--points` points) posted in batches of
   `--batch` over REST (bodies encoded beforehand) into a run of a project without
   automations (baseline), then into a run of a project with `--automations` metric
   automations, then through the SDK (`run.log` per step, then `finish()`) into a third
   run of that project; and the floor: sqlite3 `executemany` of the same rows into a fresh
   table shaped like Strata's. Firings are counted from GET /api/v1/deliveries and compared
   with an independent evaluation of the automations over the series.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import math
import os
import queue
import random
import shlex
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.proc import (  # noqa: E402
    LoadMeter,
    base_env,
    free_port,
    run_json,
    stop,
    wait_http,
    wait_tree_idle,
)
from bench.registry_bench import wait_quiet  # noqa: E402
from bench.report import write_section  # noqa: E402
from bench.run import loadavg, machine  # noqa: E402
from bench.scenario import fresh_dir  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
STRATA = REPO / ".venv" / "bin" / "strata"
MLFLOW_VENV = BENCH / ".venv-mlflow"
MLFLOW_SCRIPT = BENCH / "peers" / "mlflow_webhooks.py"
API = "/api/v1"
START, END = "<!-- automations-bench:start -->", "<!-- automations-bench:end -->"
KEYS = ("loss", "acc", "lr", "grad_norm")
CYCLE = 5000  # steps per learning-rate cycle of the synthetic training curve
BUSY_CORES = 0.3  # other load above this marks a row as measured on a busy machine

# Targets (issue 4, "Performance targets").
E2E_P50_MS, E2E_P99_MS, POINTS_PER_S = 40.0, 250.0, 50_000


def log(msg: str) -> None:
    print(f"[automations-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def pct(xs: Sequence[float], p: int) -> float:
    """Percentile, interpolated between closest ranks (as registry_report.pct)."""
    if len(xs) == 1:
        return xs[0]
    return statistics.quantiles(xs, n=100, method="inclusive")[p - 1]


# ------------------------------------------------------------------------------- receiver


class Receiver:
    """A plain-HTTP webhook receiver on 127.0.0.1: records (perf_counter once the request
    has been read, lower-cased headers, body) of every POST on `inbox` and answers 200."""

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


# --------------------------------------------------------------------------------- Strata


class StrataServer:
    """`strata serve` on a fresh STRATA_HOME: embedded SQLite, local blobs, in-process
    delivery worker; loopback webhook targets allowed."""

    def __init__(self, root: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = base_env(
            STRATA_HOME=str(root / "home"),
            STRATA_HOST="127.0.0.1",
            STRATA_PORT=str(port),
            STRATA_WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        )
        self.command = "STRATA_WEBHOOK_ALLOWED_HOSTS=127.0.0.1 strata serve"
        self.log_path = root / "server.log"
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                [str(STRATA), "serve"],
                env=env,
                cwd=root,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            wait_http(f"{self.url}/healthz", self.proc, 120, "strata serve")
        except Exception as e:
            self.close()
            raise RuntimeError(f"{e}; server log tail:\n{self.tail()}") from e

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-1500:]

    def close(self) -> None:
        stop(self.proc)


def _ok(resp):
    if resp.status_code >= 300:
        req = resp.request
        raise RuntimeError(f"{req.method} {req.url} -> {resp.status_code}: {resp.text[:300]}")
    return resp


ALIAS_AUTOMATION = {
    "name": "deploy",
    "event": {
        "event": "alias.added",
        "scope": {"type": "registry", "name": "models"},
        "filter": {"kind": "alias", "op": "eq", "value": "production"},
    },
    "action": {
        "action": "webhook",
        "integration": "hook",
        "payload": {
            "model": "${artifact_collection_name}",
            "version": "${artifact_version_string}",
            "previous": "${previous_version}",
        },
    },
}


def setup_alias(url: str, receiver: Receiver, work: Path) -> str:
    """Integration, registry, automation and @models/x with v0 and v1; returns the secret."""
    import httpx

    import sdk

    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    with httpx.Client(base_url=url + API, timeout=60) as c:
        hook = {"kind": "webhook", "name": "hook", "url": receiver.url, "secret": secret}
        _ok(c.post("/integrations", json=hook))
        _ok(c.post("/registries", json={"name": "models"}))
        _ok(c.post("/automations", json=ALIAS_AUTOMATION))
    files = fresh_dir(work / "files")
    run = sdk.init(project="bench", name="producer", url=url)
    for i in range(2):
        path = files / f"model-{i}.bin"
        path.write_bytes(os.urandom(1024))
        artifact = sdk.Artifact("x", type="model")
        artifact.add_file(str(path))
        run.log_artifact(artifact).link("@models/x", aliases=[])
    run.finish()
    return secret


def measure_strata_alias(
    url: str, receiver: Receiver, secret: str, moves: int, warmup: int, server_pid: int
) -> dict:
    """`moves` timed alias moves after `warmup` untimed ones, each waited for."""
    import httpx
    import standardwebhooks

    verifier = standardwebhooks.Webhook(secret)
    put_ms, e2e_ms = [], []
    seen: set[str] = set()
    counts = Counter(missing=0, duplicates=0, unexpected=0, bad_signature=0, bad_payload=0)
    path = f"{API}/registries/models/collections/x/aliases/production"
    previous: str | None = None
    with httpx.Client(base_url=url, timeout=60) as c:
        meter = LoadMeter((server_pid,))
        for i in range(warmup + moves):
            if i == warmup:
                meter.__enter__()
            version = f"v{i % 2}"
            t0 = time.perf_counter()
            _ok(c.put(path, json={"version": version}))
            t1 = time.perf_counter()
            arrived = None
            deadline = t1 + 10.0
            while arrived is None:
                try:
                    at, headers, body = receiver.inbox.get(
                        timeout=max(0.0, deadline - time.perf_counter())
                    )
                except queue.Empty:
                    counts["missing"] += 1
                    break
                msg_id = headers.get("webhook-id", "")
                if msg_id in seen:
                    counts["duplicates"] += 1
                    continue
                seen.add(msg_id)
                try:
                    verifier.verify(body, headers)
                except Exception:
                    counts["bad_signature"] += 1
                data = json.loads(body)
                if data.get("version") != f"@models/x:{version}":
                    counts["unexpected"] += 1  # not this move's request
                    continue
                if data != {"model": "x", "version": f"@models/x:{version}", "previous": previous}:
                    counts["bad_payload"] += 1
                arrived = at
            previous = version
            if i >= warmup:
                put_ms.append((t1 - t0) * 1000)
                if arrived is not None:
                    e2e_ms.append((arrived - t0) * 1000)
        meter.__exit__()
    time.sleep(2.0)  # late duplicates
    while not receiver.inbox.empty():
        _at, headers, _body = receiver.inbox.get()
        counts["duplicates" if headers.get("webhook-id", "") in seen else "unexpected"] += 1
    return {
        "e2e_ms": e2e_ms,
        "put_ms": put_ms,
        "requests_received": len(seen),
        "other_cores": round(meter.other_cores, 2),
        **counts,
    }


def alias_deliveries(url: str, expected: int, warmup: int) -> dict:
    """The service's own record of the alias deliveries: status, attempts, and where the
    time went (row created in the transaction -> attempt started -> response)."""
    import httpx

    with httpx.Client(base_url=url + API, timeout=60) as c:
        rows = all_deliveries(c, automation="deploy")
    rows.sort(key=lambda r: r["created_at"])
    timed = rows[warmup:]
    lag, send = [], []
    for r in timed:
        if r["attempts"]:
            a = r["attempts"][0]
            start = datetime.fromisoformat(a["started_at"]) - datetime.fromisoformat(
                r["created_at"]
            )
            lag.append(start.total_seconds() * 1000)
            if a["latency_ms"] is not None:
                send.append(a["latency_ms"])
    return {
        "deliveries": len(rows),
        "expected": expected,
        "status": dict(Counter(r["status"] for r in rows)),
        "attempts": dict(Counter(r["attempt_count"] for r in rows)),
        "created_to_attempt_ms": lag,
        "attempt_latency_ms": send,
    }


def all_deliveries(c, automation: str | None = None) -> list[dict]:
    """Every delivery, newest first, paging GET /deliveries by 1000."""
    out: list[dict] = []
    params: dict = {"limit": 1000}
    if automation:
        params["automation"] = automation
    while True:
        page = _ok(c.get("/deliveries", params=params)).json()
        out += page
        if len(page) < 1000:
            return out
        params["before"] = page[-1]["id"]


# --------------------------------------------------------------------------------- MLflow


class MLflowServer:
    """`mlflow server --workers 1` (SQLite), webhooks allowed to reach 127.0.0.1 over http,
    with a fixed secret encryption key (without one each worker makes its own)."""

    def __init__(self, root: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        mlflow = str(MLFLOW_VENV / "bin" / "mlflow")
        self.cmd = [mlflow, "server", "--workers", "1"]
        self.cmd += ["--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}"]
        self.cmd += ["--host", "127.0.0.1", "--port", str(port)]
        self.env = {
            "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
            "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http,https",
            "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": base64.urlsafe_b64encode(
                os.urandom(32)
            ).decode(),
        }
        self.log_file = open(root / "server.log", "wb")
        self.proc = subprocess.Popen(
            self.cmd,
            env=base_env(**self.env),
            cwd=root,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def command(self) -> str:
        env = " ".join(f"{k}={v}" for k, v in self.env.items() if "KEY" not in k)
        return f"{env} MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY=<fernet key> " + " ".join(
            ["mlflow", *self.cmd[1:]]
        )

    def wait_ready(self) -> tuple[float, float]:
        healthy = wait_http(f"{self.url}/health", self.proc, 300, "mlflow server")
        idle = wait_tree_idle(self.proc.pid, timeout=300)
        return healthy, idle

    def close(self) -> None:
        stop(self.proc)
        self.log_file.close()


def measure_mlflow_alias(server: MLflowServer, moves: int, warmup: int) -> dict:
    cmd = [str(MLFLOW_VENV / "bin" / "python"), str(MLFLOW_SCRIPT), "measure"]
    cmd += ["--moves", str(moves), "--warmup", str(warmup), "--server-pid", str(server.proc.pid)]
    res = run_json(
        cmd,
        env=base_env(MLFLOW_TRACKING_URI=server.url),
        timeout=600,
        servers=(server.proc.pid,),
    )
    samples = res.pop("samples")
    # The timed moves only (run_json's figure covers the child's imports too).
    res["child_other_cores"], res["other_cores"] = res["other_cores"], res["timed_other_cores"]
    res["put_ms"] = [s["call_ms"] for s in samples]
    res["e2e_ms"] = [s["e2e_ms"] for s in samples if s["e2e_ms"] is not None]
    return res


# ------------------------------------------------------------------- metric series, rules


def metric_series(steps: int, seed: int) -> dict[str, list[float]]:
    """A synthetic training run, one value per key and step. Every CYCLE steps the
    learning rate restarts (cosine) and the loss jumps back up, so thresholds are crossed
    now and then, not on every point: loss decays exponentially to ~0.03 with 0.5% relative
    noise; acc mirrors it; grad_norm ~ |N(1, 0.1)| with a rare 6x spike."""
    rng = random.Random(f"series/{seed}")
    out: dict[str, list[float]] = {k: [] for k in KEYS}
    for step in range(steps):
        t = step % CYCLE
        clean = 0.03 + 0.97 * math.exp(-t / 700)
        out["loss"].append(clean * (1 + rng.gauss(0, 0.005)))
        out["acc"].append(min(1.0, 1 - 0.9 * clean + rng.gauss(0, 0.003)))
        out["lr"].append(1e-3 * 0.5 * (1 + math.cos(math.pi * t / CYCLE)))
        spike = 6.0 if rng.random() < 0.0004 else 1.0
        out["grad_norm"].append(abs(rng.gauss(1, 0.1)) * spike)
    return out


def metric_rules(n: int) -> list[dict]:
    """`n` metric filters (100 by default): 60% on loss (thresholds with avg/min/max over
    windows 1..20, a few `>` for the restart spike, and relative-decrease changes), the
    rest spread over acc, lr and grad_norm."""
    rules: list[dict] = []
    aggs = ("avg", "min", "max")
    n_loss = round(n * 0.6)
    for i in range(n_loss):
        window = 1 + i % 20
        agg = aggs[i % 3]
        if i % 4 == 3:
            rules.append(_change("loss", "avg", 20 + i % 11, "decrease", 0.01 + 0.001 * (i % 10)))
        elif i % 7 == 6:
            rules.append(_threshold("loss", agg, window, ">", 0.8 + 0.01 * (i % 15)))
        else:
            rules.append(_threshold("loss", agg, window, "<", 0.04 + 0.46 * (i % 23) / 22))
    rest = n - n_loss
    for j in range(rest):
        key = ("acc", "lr", "grad_norm")[j % 3]
        window = 1 + (j * 7) % 20
        agg = aggs[j % 3]
        if key == "acc":
            if j % 2:
                rules.append(_change("acc", "avg", 1 + j % 10, "increase", 0.01 + 0.002 * j))
            else:
                rules.append(_threshold("acc", agg, window, ">", 0.5 + 0.45 * (j % 11) / 10))
        elif key == "lr":
            if j % 2:
                rules.append(_change("lr", "last", 1 + j % 10, "decrease", 0.02 + 0.001 * j))
            else:
                rules.append(_threshold("lr", agg, window, "<", 1e-4 * (1 + j % 5)))
        else:
            rules.append(_threshold("grad_norm", "max", window, ">", 3.0 + 0.1 * (j % 20)))
    return rules


def _threshold(name: str, agg: str, window: int, cmp: str, threshold: float) -> dict:
    return {
        "kind": "metric_threshold",
        "name": name,
        "agg": agg,
        "window": window,
        "cmp": cmp,
        "threshold": round(threshold, 6),
    }


def _change(name: str, agg: str, window: int, direction: str, amount: float) -> dict:
    return {
        "kind": "metric_change",
        "name": name,
        "agg": agg,
        "window": window,
        "direction": direction,
        "amount": round(amount, 6),
        "relative": True,
    }


def metric_automation(i: int, rule: dict, project: str) -> dict:
    event = "run.metric.threshold" if rule["kind"] == "metric_threshold" else "run.metric.change"
    return {
        "name": f"metric-{i:03d}",
        "event": {"event": event, "scope": {"type": "project", "name": project}, "filter": rule},
        "action": {"action": "no_op"},
    }


_AGG: dict[str, Callable[[Sequence[float]], float]] = {
    "last": lambda v: v[-1],
    "avg": lambda v: sum(v) / len(v),
    "min": min,
    "max": max,
}
_CMP: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def expected_firings(rule: dict, values: Sequence[float]) -> int:
    """Firings of one rule over one key's series, straight from SPEC section 5: after each
    value, the condition over the window(s) ending there; it fires when it holds and did
    not hold after the previous value (or could not be evaluated: too few values, or a
    relative change from 0)."""
    agg, w = _AGG[rule["agg"]], rule["window"]
    change = rule["kind"] == "metric_change"
    need = 2 * w if change else w
    fired, held = 0, False
    for i in range(need - 1, len(values)):
        current = agg(values[i + 1 - w : i + 1])
        if not change:
            holds: bool | None = _CMP[rule["cmp"]](current, rule["threshold"])
        else:
            prior = agg(values[i + 1 - 2 * w : i + 1 - w])
            delta = current - prior
            if rule["relative"]:
                delta = None if prior == 0 else delta / abs(prior)  # type: ignore[assignment]
            if delta is None:
                holds = None
            else:
                moved = {"any": abs(delta), "increase": delta, "decrease": -delta}
                holds = moved[rule["direction"]] >= rule["amount"]
        if holds and not held:
            fired += 1
        held = bool(holds)
    return fired


# -------------------------------------------------------------------------- throughput


@dataclass
class Series:
    values: dict[str, list[float]]
    steps: int
    base: datetime

    @property
    def points(self) -> int:
        return self.steps * len(KEYS)

    def timestamp(self, step: int) -> str:
        return (self.base + timedelta(milliseconds=100 * step)).isoformat()

    def bodies(self, batch: int) -> list[bytes]:
        """REST request bodies of `batch` points (whole steps, keys interleaved)."""
        per = max(1, batch // len(KEYS))
        out = []
        for start in range(0, self.steps, per):
            points = [
                {"key": k, "step": s, "value": self.values[k][s], "timestamp": self.timestamp(s)}
                for s in range(start, min(start + per, self.steps))
                for k in KEYS
            ]
            out.append(json.dumps({"points": points}).encode())
        return out


def ingest_rest(url: str, project: str, name: str, bodies: list[bytes], server_pid: int) -> dict:
    import httpx

    with httpx.Client(base_url=url + API, timeout=300) as c:
        run = _ok(c.post(f"/projects/{project}/runs", json={"name": name})).json()["run"]
        path = f"/projects/{project}/runs/{run['id']}/metrics"
        headers = {"content-type": "application/json"}
        batch_ms = []
        with LoadMeter((server_pid,)) as load:
            t0 = time.perf_counter()
            for body in bodies:
                t = time.perf_counter()
                _ok(c.post(path, content=body, headers=headers))
                batch_ms.append((time.perf_counter() - t) * 1000)
            seconds = time.perf_counter() - t0
    return {"seconds": seconds, "batch_ms": batch_ms, "other_cores": round(load.other_cores, 2)}


def ingest_sdk(url: str, project: str, name: str, series: Series, server_pid: int) -> dict:
    """`run.log({4 keys})` per step, then `finish()` (which sends what is still buffered):
    the user's path, client-side work included, in this process."""
    import sdk

    run = sdk.init(project=project, name=name, url=url)
    vals = series.values
    with LoadMeter((server_pid,)) as load:
        t0 = time.perf_counter()
        for s in range(series.steps):
            run.log({k: vals[k][s] for k in KEYS})
        t_logged = time.perf_counter()
        run.finish()
        seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "log_calls_s": t_logged - t0,
        "other_cores": round(load.other_cores, 2),
    }


def wait_drained(url: str, timeout: float = 120) -> float:
    """Seconds until no delivery is pending or being sent."""
    import httpx

    t0 = time.perf_counter()
    with httpx.Client(base_url=url + API, timeout=60) as c:
        while time.perf_counter() - t0 < timeout:
            busy = [
                _ok(c.get("/deliveries", params={"status": s, "limit": 1})).json()
                for s in ("pending", "delivering")
            ]
            if not any(busy):
                break
            time.sleep(0.05)
    return time.perf_counter() - t0


def metric_delivery_counts(url: str) -> Counter:
    """Deliveries per metric automation so far."""
    import httpx

    with httpx.Client(base_url=url + API, timeout=60) as c:
        rows = all_deliveries(c)
    return Counter(r["automation"] for r in rows if r["event_type"].startswith("run.metric."))


def floor_sqlite(series: Series, batch: int, path: Path) -> dict:
    """sqlite3 executemany of the same rows into a fresh table shaped like Strata's
    `metric` (integer key, run/key/step index), WAL and synchronous=NORMAL as the service
    opens it, one transaction per batch."""
    if path.exists():
        path.unlink()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE metric (id INTEGER PRIMARY KEY, run_id INTEGER NOT NULL, "
        "key VARCHAR(256) NOT NULL, step INTEGER NOT NULL, value FLOAT NOT NULL, "
        "timestamp DATETIME NOT NULL)"
    )
    db.execute("CREATE INDEX ix_metric_run_key_step ON metric (run_id, key, step)")
    rows = [
        (1, k, s, series.values[k][s], series.timestamp(s))
        for s in range(series.steps)
        for k in KEYS
    ]
    with LoadMeter() as load:
        t0 = time.perf_counter()
        for start in range(0, len(rows), batch):
            db.execute("BEGIN")
            db.executemany(
                "INSERT INTO metric (run_id, key, step, value, timestamp) VALUES (?, ?, ?, ?, ?)",
                rows[start : start + batch],
            )
            db.execute("COMMIT")
        seconds = time.perf_counter() - t0
    db.close()
    return {"seconds": seconds, "other_cores": round(load.other_cores, 2)}


def measure_throughput(url: str, args: argparse.Namespace, series: Series, pid: int) -> dict:
    """Baseline, 100 automations over REST, 100 automations through the SDK, the floor."""
    import httpx

    out: dict = {}
    bodies = series.bodies(args.batch)
    n = series.points

    def record(name: str, fn: Callable[[], dict], before: Counter | None = None) -> None:
        try:
            out[name] = {"quiet": wait_quiet((pid,), timeout=args.quiet_wait), **fn(), "points": n}
            r = out[name]
            r["points_per_s"] = n / r["seconds"]
            if before is not None:
                r["drain_s"] = wait_drained(url)
                after = metric_delivery_counts(url)
                r["firings"] = dict(after - before)
            log(f"  {name}: {r['points_per_s']:,.0f} points/s (other load {r['other_cores']})")
        except Exception as e:  # a failing path must not hide the others
            out[name] = {"error": f"{type(e).__name__}: {e}"[:500]}
            log(f"  {name}: ERROR {out[name]['error']}")

    record("rest_0", lambda: ingest_rest(url, "bench-base", "baseline", bodies, pid))
    with httpx.Client(base_url=url + API, timeout=60) as c:
        for i, rule in enumerate(metric_rules(args.automations)):
            _ok(c.post("/automations", json=metric_automation(i, rule, "bench-metrics")))
    before = metric_delivery_counts(url)
    record("rest_n", lambda: ingest_rest(url, "bench-metrics", "rest", bodies, pid), before)
    if not args.no_sdk:
        before = metric_delivery_counts(url)
        record("sdk_n", lambda: ingest_sdk(url, "bench-metrics", "sdk", series, pid), before)
    floor_db = args.work / "floor.db"
    record("floor", lambda: floor_sqlite(series, args.batch, floor_db))
    return out


# --------------------------------------------------------------------------------- report


def _f(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.1f}" if abs(x) >= 10 else f"{x:.2f}"


def _n(x: float | None) -> str:
    return "n/a" if x is None else f"{x:,.0f}"


def _table(header: list[str], align: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(align) + "|",
        *("| " + " | ".join(str(c) for c in row) + " |" for row in rows),
    ]


def _verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def target_rows(res: dict) -> list[list[str]]:
    s = res.get("strata_alias", {})
    e2e = s.get("e2e_ms") or None
    clean = e2e is not None and all(
        s.get(k, 0) == 0 for k in ("missing", "duplicates", "bad_signature", "bad_payload")
    )
    p50 = pct(e2e, 50) if e2e else None
    p99 = pct(e2e, 99) if e2e else None
    t = res.get("throughput", {}).get("rest_n", {})
    rate = t.get("points_per_s")
    note = "" if clean or e2e is None else " (but see missing/duplicates/signatures below)"
    return [
        [
            "alias move -> webhook receiver, p50",
            _f(p50),
            f"< {E2E_P50_MS:g} ms",
            _verdict(None if p50 is None else p50 < E2E_P50_MS and clean) + note,
        ],
        [
            "alias move -> webhook receiver, p99",
            _f(p99),
            f"< {E2E_P99_MS:g} ms",
            _verdict(None if p99 is None else p99 < E2E_P99_MS and clean) + note,
        ],
        [
            f"metric ingestion with {res['params']['automations']} metric automations "
            "(REST, points/s)",
            _n(rate),
            f">= {POINTS_PER_S:,}",
            _verdict(None if rate is None else rate >= POINTS_PER_S),
        ],
    ]


def _lat_row(tool: str, label: str, ms: list[float], r: dict, checks: bool) -> list[str]:
    if not ms:
        return [tool, label, "0", "", "", "", "", "", "", "", "", ""]
    return [
        tool,
        label,
        str(len(ms)),
        _f(pct(ms, 50)),
        _f(pct(ms, 90)),
        _f(pct(ms, 99)),
        _f(max(ms)),
        _f(statistics.fmean(ms)),
        str(r.get("missing", "")) if checks else "",
        str(r.get("duplicates", "")) if checks else "",
        str(r.get("bad_signature", "")) if checks else "",
        "" if r.get("other_cores") is None else str(r["other_cores"]),
    ]


def latency_rows(res: dict) -> list[list[str]]:
    rows = []
    s = res.get("strata_alias")
    if s and "e2e_ms" in s:
        put = "`PUT .../registries/models/collections/x/aliases/production`"
        rows.append(_lat_row("strata", f"{put} -> receiver has the request", s["e2e_ms"], s, True))
        rows.append(_lat_row("strata", f"{put} response (info)", s["put_ms"], s, False))
        d = res.get("strata_deliveries", {})
        if d.get("created_to_attempt_ms"):
            rows.append(
                _lat_row(
                    "strata",
                    "server: delivery row created (in the transaction) -> attempt started (info)",
                    d["created_to_attempt_ms"],
                    {},
                    False,
                )
            )
            rows.append(
                _lat_row(
                    "strata",
                    "server: attempt's HTTP send, as recorded (info)",
                    d["attempt_latency_ms"],
                    {},
                    False,
                )
            )
    m = res.get("mlflow_alias")
    if m and "e2e_ms" in m:
        call = "`set_registered_model_alias`"
        rows.append(_lat_row("mlflow", f"{call} -> receiver has the request", m["e2e_ms"], m, True))
        rows.append(
            _lat_row(
                "mlflow",
                f"{call} returns (info; {_f(m.get('http_requests'))} HTTP requests per call)",
                m["put_ms"],
                m,
                False,
            )
        )
    return rows


THROUGHPUT_LABELS = {
    "rest_0": ("REST `POST .../runs/{id}/metrics`, bodies encoded beforehand", "0 (baseline)"),
    "rest_n": ("REST `POST .../runs/{id}/metrics`, bodies encoded beforehand", "{n}"),
    "sdk_n": ("SDK `run.log({4 keys})` per step, then `run.finish()`", "{n}"),
    "floor": ("floor: sqlite3 `executemany` into a fresh table, same rows", "-"),
}


def throughput_rows(res: dict, expected: dict[str, int]) -> list[list[str]]:
    rows = []
    n = res["params"]["automations"]
    total_expected = sum(expected.values())
    for name, r in res.get("throughput", {}).items():
        label, autos = THROUGHPUT_LABELS[name]
        autos = autos.format(n=n)
        if "error" in r:
            rows.append([label, autos, "", "", "", "", "", "", f"ERROR: {r['error']}", ""])
            continue
        batch = r.get("batch_ms")
        firings = ""
        if "firings" in r:
            got = sum(r["firings"].values())
            wrong = sum(1 for k, v in expected.items() if r["firings"].get(k, 0) != v)
            firings = f"{got:,} (expected {total_expected:,}"
            firings += f"; {wrong} automations differ)" if wrong else ", every automation matches)"
        rows.append(
            [
                label,
                autos,
                f"{r['points']:,}",
                _f(r["seconds"]),
                _n(r["points_per_s"]),
                f"{_f(pct(batch, 50))} / {_f(max(batch))}" if batch else "",
                _f(r.get("drain_s")) if "drain_s" in r else "",
                firings,
                "" if r.get("other_cores") is None else str(r["other_cores"]),
                str(r.get("quiet", "")),
            ]
        )
    return rows


def markdown(ctx: dict, res: dict, expected: dict[str, int]) -> str:
    p = res["params"]
    rules = metric_rules(p["automations"])
    by_key = Counter(r["name"] for r in rules)
    kinds = Counter(f"{r['name']} {r['kind'].split('_')[1]}" for r in rules)
    rule_note = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
    key_note = ", ".join(f"{v} on {k}" for k, v in by_key.items())
    lines = [
        START,
        "## Automations: alias move -> webhook latency, metric ingestion with automations",
        "",
        f"Generated by `{ctx['command']}` on {ctx['date']} "
        f"(total wall time {ctx['wall_s']:.0f} s).",
        "",
        f"- Machine: {ctx['cores']} cores ({ctx['cpu']}), {ctx['mem_gib']:.1f} GiB RAM, "
        f"{ctx['kernel']}; shared with other work (load average at start {ctx['load_start']}, "
        f"at end {ctx['load_end']})",
        f"- Versions: strata (repo at {ctx['git']}); mlflow {ctx.get('mlflow_version', 'n/a')}; "
        f"Python {ctx['python']}",
        f"- Strata: `{ctx.get('strata_command', 'strata serve')}` on a fresh STRATA_HOME "
        "(embedded SQLite, local blobs, in-process delivery worker woken when an event "
        "commits); one server for the whole run.",
        f"- Alias latency: {p['moves']} timed moves after {p['warmup']} warm-up moves "
        f"(MLflow: {p['mlflow_moves']} after {p['mlflow_warmup']}); percentiles interpolate "
        "between closest ranks.",
        f"- Throughput: {p['points']:,} points = {p['points'] // len(KEYS):,} steps x "
        f"{len(KEYS)} keys ({', '.join(KEYS)}), REST batches of {p['batch']:,} points; "
        f"{p['automations']} metric automations ({key_note}; {rule_note}), each with a "
        "`no_op` action.",
        "",
        "### Targets",
        "",
        *_table(
            ["target", "measured", "goal", "result"],
            ["---", "---:", "---", "---"],
            target_rows(res),
        ),
        "",
        "### Alias move -> webhook receiver",
        "",
        *_table(
            [
                "tool",
                "measure",
                "n",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "max ms",
                "mean ms",
                "missing",
                "duplicates",
                "bad signature",
                "other load (cores)",
            ],
            ["---", "---", *["---:"] * 10],
            latency_rows(res),
        ),
        "",
        "### Metric ingestion",
        "",
        *_table(
            [
                "path",
                "metric automations",
                "points",
                "s",
                "points/s",
                "batch p50 / max ms",
                "deliveries drained after s",
                "firings",
                "other load (cores)",
                "other load before (cores)",
            ],
            ["---", "---:", "---:", "---:", "---:", "---:", "---:", "---", "---:", "---:"],
            throughput_rows(res, expected),
        ),
    ]
    errors = [(k, v["error"]) for k, v in res.items() if isinstance(v, dict) and "error" in v]
    if errors:
        lines += ["", "### Errors", "", *(f"- {k}: {e}" for k, e in errors)]
    lines += ["", "### Notes", "", *(f"- {n}" for n in notes(ctx, res)), END]
    return "\n".join(lines) + "\n"


def notes(ctx: dict, res: dict) -> list[str]:
    s, m = res.get("strata_alias", {}), res.get("mlflow_alias", {})
    d = res.get("strata_deliveries", {})
    out = [
        "Latency is measured from just before the alias-setting call to the moment the "
        "receiver (a ThreadingHTTPServer on 127.0.0.1, answering 200 at once) has read the "
        "whole request; the next move starts only after that, so moves never queue behind "
        "each other. Strata: one keep-alive httpx client in the driver, the receiver in the "
        "driver too. MLflow: `MlflowClient` and the same receiver inside bench/.venv-mlflow "
        "(bench/peers/mlflow_webhooks.py). A request can arrive before the call returns (the "
        "service commits, wakes the sender, then answers).",
        "Checks (Strata): every request verified with `standardwebhooks.Webhook(secret).verify`, "
        "its body equal to `{model: x, version: @models/x:vN, previous: vM}` of that move "
        f"(bad bodies: {s.get('bad_payload', 'n/a')}), its `webhook-id` never seen before; 2 s "
        "after the last move the receiver must have nothing more. MLflow: `X-MLflow-Signature` "
        "(v1, base64 HMAC-SHA256 over `id.timestamp.body`, keyed with the secret) checked by "
        f"hand, body naming the version just set. Unexpected requests: Strata "
        f"{s.get('unexpected', 'n/a')}, MLflow {m.get('unexpected', 'n/a')}.",
        "Server side (Strata, from GET /api/v1/deliveries?automation=deploy): "
        f"{d.get('deliveries', 'n/a')} deliveries for {d.get('expected', 'n/a')} moves, "
        f"status {d.get('status', {})}, attempts per delivery {d.get('attempts', {})}. "
        "'created -> attempt started' runs from the delivery row's creation inside the "
        "request's transaction (before the commit) to the worker starting the send: commit, "
        "wake, claim transaction, integration lookup. The attempt latency is the worker's "
        "own figure for the HTTP POST.",
        "MLflow fires webhooks from a thread pool after the store call, fire-and-forget (no "
        "outbox, no delivery record: a crash loses them); Strata writes the event and the "
        "delivery in the alias move's transaction and records every attempt. "
        f"MLflow server: `{ctx.get('mlflow_command', 'n/a')}`, measured once /health answered "
        f"({_f(ctx.get('mlflow_healthy_s'))} s) and its process tree had been idle for 3 s "
        f"({_f(ctx.get('mlflow_idle_s'))} s more); stopped before the throughput part.",
        "Metric series: a synthetic training run with a learning-rate restart every "
        f"{CYCLE:,} steps (loss decays exponentially from ~1.0 to ~0.03 with 0.5% relative "
        "noise, then jumps back; acc mirrors it; lr is a cosine schedule; grad_norm ~ |N(1, "
        "0.1)| with a rare 6x spike), so thresholds are crossed now and then. The same values "
        "go to every path. Each REST batch is one request and one transaction; its body is "
        "JSON-encoded before the clock starts (the server's work only). The SDK row is the "
        "user's path: `run.log` of the 4 keys per step in the driver (its background thread "
        "sends batches of 5,000 points), then `run.finish()`; client work included"
        + _sdk_split(res)
        + ".",
        "Firings: deliveries of the metric automations created while a run was logged "
        "(GET /api/v1/deliveries, all pages), compared per automation with an independent "
        "evaluation of SPEC section 5's rule over the same series (fires when the condition "
        "holds after a value and did not after the previous one). 'Drained after' is the "
        "time from the end of ingestion until no delivery was pending or being sent.",
        "Floor: the same rows into a fresh SQLite file (WAL, synchronous=NORMAL, a "
        "`metric` table with the same columns and (run_id, key, step) index), "
        f"`executemany` + commit per {res['params']['batch']:,} rows, in the driver: the "
        "storage engine's own cost, no HTTP, JSON or validation.",
        "Other load: mean cores used during the timed part by processes other than the "
        "driver and the server under test; 'before' is the reading when the driver stopped "
        "waiting for the machine to be quiet (< 0.25 cores over 2 s, at most "
        f"{res['params']['quiet_wait']:g} s; before the alias moves: Strata "
        f"{res.get('quiet_strata_alias', 'n/a')}, MLflow {res.get('quiet_mlflow_alias', 'n/a')}"
        "). " + _busy_note(res),
    ]
    return out


def _busy_note(res: dict) -> str:
    parts = {"strata alias moves": res.get("strata_alias", {})}
    parts["mlflow alias moves"] = res.get("mlflow_alias", {})
    names = {"rest_0": "REST baseline", "rest_n": "REST with automations", "sdk_n": "SDK"}
    for k, v in res.get("throughput", {}).items():
        parts[f"ingestion ({names.get(k, k)})"] = v
    busy = [k for k, v in parts.items() if (v.get("other_cores") or 0) > BUSY_CORES]
    if not busy:
        return f"No part was measured while other processes used > {BUSY_CORES} cores."
    return (
        f"Measured while other processes used > {BUSY_CORES} cores (suspect; rerun): "
        + ", ".join(busy)
        + "."
    )


def _sdk_split(res: dict) -> str:
    r = res.get("throughput", {}).get("sdk_n", {})
    if "log_calls_s" not in r:
        return ""
    return (
        f" (the `run.log` calls returned after {r['log_calls_s']:.2f} s, `finish()` "
        f"after {r['seconds']:.2f} s)"
    )


# ---------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--moves", type=int, default=500, help="timed Strata alias moves (500)")
    ap.add_argument("--warmup", type=int, default=20, help="untimed Strata moves first (20)")
    ap.add_argument("--mlflow-moves", type=int, default=200, help="timed MLflow moves (200)")
    ap.add_argument("--mlflow-warmup", type=int, default=10, help="untimed MLflow moves (10)")
    ap.add_argument("--points", type=int, default=200_000, help="metric points per path")
    ap.add_argument("--batch", type=int, default=10_000, help="points per REST request")
    ap.add_argument("--automations", type=int, default=100, help="metric automations (100)")
    ap.add_argument("--no-sdk", action="store_true", help="skip the SDK run.log path")
    ap.add_argument("--tools", default="strata,mlflow", help="strata,mlflow (default both)")
    ap.add_argument("--seed", type=int, default=1, help="metric series seed (1)")
    ap.add_argument(
        "--quiet-wait",
        type=float,
        default=60,
        help="seconds to wait at most for other processes to be quiet before each part (60)",
    )
    ap.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    ap.add_argument("--work", type=Path, default=BENCH / "_work" / "automations")
    args = ap.parse_args(argv)
    args.tools = {t.strip() for t in args.tools.split(",") if t.strip()}
    if not args.tools or not args.tools <= {"strata", "mlflow"}:
        ap.error("--tools: choose from strata,mlflow")
    if not 1 <= args.batch <= 10_000:
        ap.error("--batch: 1..10000 (the service takes at most 10,000 points per request)")
    if args.points < len(KEYS) or args.moves < 1:
        ap.error("--points and --moves must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    lock = open(args.work / ".lock", "w")  # held (flock) until this process exits
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"automations-bench: another run is using {args.work}")

    t_start = time.perf_counter()
    given = argv if argv is not None else sys.argv[1:]
    ctx: dict = {
        "command": f"python bench/automations_bench.py {shlex.join(given)}".strip(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_start": loadavg(),
        **machine(),
    }
    res: dict = {
        "params": {
            k: getattr(args, k)
            for k in (
                "moves",
                "warmup",
                "mlflow_moves",
                "mlflow_warmup",
                "points",
                "batch",
                "automations",
                "seed",
                "quiet_wait",
            )
        }
    }
    mlflow: MLflowServer | None = None
    strata: StrataServer | None = None
    receiver: Receiver | None = None
    expected: dict[str, int] = {}
    try:
        if "mlflow" in args.tools:
            try:
                ctx["mlflow_version"] = run_json(
                    [str(MLFLOW_VENV / "bin" / "python"), str(MLFLOW_SCRIPT), "version"],
                    env=base_env(),
                    timeout=120,
                )["version"]
                mlflow = MLflowServer(fresh_dir(args.work / "mlflow"))
                ctx["mlflow_command"] = mlflow.command
            except Exception as e:
                res["mlflow_alias"] = {"error": f"{type(e).__name__}: {e}"[:500]}
                log(f"mlflow: ERROR {res['mlflow_alias']['error']}")
        # While MLflow boots: the series, its expected firings, and Strata's setup.
        steps = args.points // len(KEYS)
        series = Series(metric_series(steps, args.seed), steps, datetime(2026, 1, 1, tzinfo=UTC))
        res["params"]["points"] = series.points
        if "strata" in args.tools:
            log(f"expected firings of {args.automations} rules over {steps:,} steps")
            expected = {
                f"metric-{i:03d}": expected_firings(rule, series.values[rule["name"]])
                for i, rule in enumerate(metric_rules(args.automations))
            }
            log(f"  {sum(expected.values()):,} firings per run")
            root = fresh_dir(args.work / "strata")
            strata = StrataServer(root)
            ctx["strata_command"] = strata.command
            receiver = Receiver()
            secret = setup_alias(strata.url, receiver, root)
        if mlflow is not None:
            try:
                ctx["mlflow_healthy_s"], ctx["mlflow_idle_s"] = mlflow.wait_ready()
            except Exception as e:
                res["mlflow_alias"] = {"error": f"{type(e).__name__}: {e}"[:500]}
                mlflow.close()
                mlflow = None
        if strata is not None and receiver is not None:
            log(f"strata: {args.warmup} + {args.moves} alias moves")
            res["quiet_strata_alias"] = wait_quiet((strata.proc.pid,), timeout=args.quiet_wait)
            try:
                r = measure_strata_alias(
                    strata.url, receiver, secret, args.moves, args.warmup, strata.proc.pid
                )
                res["strata_alias"] = r
                _log_latency("strata", r)
                n = args.moves + args.warmup
                res["strata_deliveries"] = alias_deliveries(strata.url, n, args.warmup)
            except Exception as e:
                res["strata_alias"] = {"error": f"{type(e).__name__}: {e}"[:500]}
                log(f"strata alias: ERROR {res['strata_alias']['error']}\n{strata.tail()}")
        if mlflow is not None:
            log(f"mlflow: {args.mlflow_warmup} + {args.mlflow_moves} alias moves")
            res["quiet_mlflow_alias"] = wait_quiet((mlflow.proc.pid,), timeout=args.quiet_wait)
            try:
                r = measure_mlflow_alias(mlflow, args.mlflow_moves, args.mlflow_warmup)
                res["mlflow_alias"] = r
                _log_latency("mlflow", r)
            except Exception as e:
                res["mlflow_alias"] = {"error": f"{type(e).__name__}: {e}"[:500]}
                log(f"mlflow alias: ERROR {res['mlflow_alias']['error']}")
            mlflow.close()
            mlflow = None
        if strata is not None:
            log(f"throughput: {series.points:,} points per path")
            res["throughput"] = measure_throughput(strata.url, args, series, strata.proc.pid)
    finally:
        if receiver is not None:
            receiver.close()
        for server in (strata, mlflow):
            if server is not None:
                server.close()

    ctx["load_end"] = loadavg()
    ctx["wall_s"] = time.perf_counter() - t_start
    write_section(args.out, "automations-bench", markdown(ctx, res, expected))
    raw = json.dumps({"context": ctx, "results": res, "expected": expected}, indent=1)
    (args.work / "results.json").write_text(raw)
    log(f"wrote {args.out} ({ctx['wall_s']:.0f} s)")
    for row in target_rows(res):
        log("  " + " | ".join(row))
    return 0


def _log_latency(tool: str, r: dict) -> None:
    e2e = r["e2e_ms"]
    if not e2e:
        log(f"  {tool}: no request arrived")
        return
    log(
        f"  {tool}: e2e p50 {pct(e2e, 50):.1f} ms, p99 {pct(e2e, 99):.1f} ms, call p50 "
        f"{pct(r['put_ms'], 50):.1f} ms; missing {r['missing']}, duplicates "
        f"{r['duplicates']}, bad signatures {r['bad_signature']} (other load {r['other_cores']})"
    )


if __name__ == "__main__":
    sys.exit(main())
