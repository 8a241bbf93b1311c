"""MLflow Model Registry latencies, run with bench/.venv-mlflow/bin/python; prints one JSON line.

    mlflow_registry.py version
    mlflow_registry.py measure PLAN.json

MLFLOW_TRACKING_URI points at a running ``mlflow server``. PLAN.json (written by
bench/registry_bench.py) lists operations, each with warm-up calls and timed samples:

    {"ops": [{"name": "...", "kind": "search|by_alias|set_alias|create_version",
              "warmup": [ARGS...], "samples": [ARGS...]}]}

ARGS per kind:
    search          {"filter": "tags.acc LIKE '0.9%' AND ...", "max_results": 100}
    by_alias        {"model": "model-0001", "alias": "production"}
    set_alias       {"model": ..., "alias": ..., "version": "3"}
    create_version  {"model": ..., "source": "s3://..."}

One MlflowClient (its requests session keeps connections alive) makes every call; each
call is timed alone with perf_counter around the public client method, as a user calls
it. Result: {"ops": {name: {"ms": [...], "rows": [...], "http_requests": n}}}; rows is the
number of model versions a search returned (1 for the other kinds); http_requests is the
mean number of HTTP requests per timed call.
"""

from __future__ import annotations

import argparse
import json
import time


def _call(client, kind: str, args: dict) -> int:
    """Run one operation; returns the number of rows it produced."""
    if kind == "search":
        found = client.search_model_versions(
            filter_string=args["filter"], max_results=args["max_results"]
        )
        return len(found)
    if kind == "by_alias":
        mv = client.get_model_version_by_alias(args["model"], args["alias"])
        assert mv.version, mv
        return 1
    if kind == "set_alias":
        client.set_registered_model_alias(args["model"], args["alias"], args["version"])
        return 1
    if kind == "create_version":
        mv = client.create_model_version(args["model"], source=args["source"])
        assert mv.version, mv
        return 1
    raise ValueError(f"unknown kind {kind!r}")


class RequestCounter:
    """Counts the HTTP requests the MLflow client sends (requests.Session.send), so the
    report can say how many round trips one call costs."""

    def __init__(self) -> None:
        import requests

        self.sent = 0
        self._session = requests.Session
        self._original = requests.Session.send
        counter = self

        def counting(session, request, **kwargs):
            counter.sent += 1
            return counter._original(session, request, **kwargs)

        self._session.send = counting

    def close(self) -> None:
        self._session.send = self._original


def measure(args: argparse.Namespace) -> dict:
    from mlflow import MlflowClient

    with open(args.plan) as f:
        plan = json.load(f)
    client = MlflowClient()
    out = {}
    for op in plan["ops"]:
        kind = op["kind"]
        for a in op["warmup"]:
            _call(client, kind, a)
        ms, rows = [], []
        counter = RequestCounter()
        try:
            for a in op["samples"]:
                t0 = time.perf_counter_ns()
                n = _call(client, kind, a)
                ms.append((time.perf_counter_ns() - t0) / 1e6)
                rows.append(n)
        finally:
            counter.close()
        per_call = counter.sent / len(ms) if ms else None
        out[op["name"]] = {"ms": ms, "rows": rows, "http_requests": per_call}
    return {"ops": out}


def version(_args: argparse.Namespace) -> dict:
    import mlflow

    return {"version": mlflow.__version__}


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("measure")
    p.add_argument("plan")
    p.set_defaults(fn=measure)
    sub.add_parser("version").set_defaults(fn=version)
    args = ap.parse_args()
    print(json.dumps(args.fn(args)), flush=True)


if __name__ == "__main__":
    main()
