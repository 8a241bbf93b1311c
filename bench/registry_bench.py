"""Registry benchmark: filtered version queries, alias resolution, alias moves and links on a
catalog of 100,000 versions, Strata over REST next to MLflow's Model Registry, same run.

    .venv/bin/python bench/registry_bench.py [--versions 100000 --collections 1000
                                              --samples 200 --warmup 20 --seed 1]

Writes its section of bench/RESULTS.md (between the registry-bench markers; the rest of the
file is left alone) and the raw timings to bench/_work/registry/results.json.

A run: MLflow's schema (`mlflow db upgrade`) and bulk insert, then its server is started;
while it boots, the Strata catalog is built in-process (bench/registry_catalog.py) and
`python -m registry serve` is started on it. Strata is measured over HTTP (one keep-alive
httpx.Client in this process), then MLflow (one MlflowClient in bench/.venv-mlflow,
bench/peers/mlflow_registry.py), each once the machine is quiet. Reads come before writes,
so both tools answer the reads on the catalog exactly as built.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import random
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import registry_catalog as rc  # noqa: E402
from bench import registry_report as report  # noqa: E402
from bench.proc import (  # noqa: E402
    LoadMeter,
    base_env,
    free_port,
    run_json,
    stop,
    wait_http,
    wait_tree_idle,
)
from bench.report import write_section  # noqa: E402
from bench.run import loadavg, machine  # noqa: E402
from bench.scenario import fresh_dir  # noqa: E402

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
PYTHON = REPO / ".venv" / "bin" / "python"
MLFLOW_VENV = BENCH / ".venv-mlflow"
MLFLOW_SCRIPT = BENCH / "peers" / "mlflow_registry.py"
QUERY_LIMIT = 100
API = "/api/v1"


def log(msg: str) -> None:
    print(f"[registry-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------ the plan


@dataclass
class Op:
    """The arguments of one operation's calls: untimed warm-up, then timed samples. Both
    tools get the same arguments, each in its own terms."""

    warmup: list = field(default_factory=list)
    samples: list = field(default_factory=list)


def make_plan(cat: rc.Catalog, samples: int, warmup: int, seed: int) -> dict[str, Op]:
    """Every call's arguments, drawn once from `seed`.

    query:   acc > 0.9, a tag cycling through the pool, alias production.
    resolve: a random collection, production or staging alternately.
    move:    `production` of a distinct collection per call, to its third linked version
             (a real move: the alias pointed elsewhere before).
    link:    a distinct collection per call, one of its versions not linked yet.
    """
    rng = random.Random(f"plan/{seed}")
    n = warmup + samples
    if n > cat.n_collections:
        raise SystemExit(f"--warmup + --samples ({n}) must be <= --collections")

    def split(items: list) -> Op:
        return Op(items[:warmup], items[warmup:])

    tags = [rc.TAG_POOL[i % len(rc.TAG_POOL)] for i in range(n)]
    rng.shuffle(tags)
    aliases = [rc.ALIASES[i % 2] for i in range(n)]
    movers = rng.sample(cat.collections, n)
    linkers = rng.sample(cat.collections, n)
    return {
        "query": split([{"tag": t, "expected": cat.expected_query_rows(t)} for t in tags]),
        "resolve": split(
            [{"collection": rng.choice(cat.collections), "alias": a} for a in aliases]
        ),
        "move": split([{"collection": c, "alias": "production"} for c in movers]),
        "link": split([{"collection": c, "version": cat.unlinked_version(c, 0)} for c in linkers]),
    }


# --------------------------------------------------------------------------------- Strata


class StrataServer:
    """`python -m registry serve` on a STRATA_HOME built beforehand."""

    def __init__(self, home: Path) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = base_env(STRATA_HOME=str(home), STRATA_HOST="127.0.0.1", STRATA_PORT=str(port))
        self.log_path = home.parent / "server.log"
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                [str(PYTHON), "-m", "registry", "serve"],
                env=env,
                cwd=REPO,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            wait_http(f"{self.url}/healthz", self.proc, 120, "strata serve")
        except Exception as e:
            self.close()
            tail = self.log_path.read_text(errors="replace")[-1500:]
            raise RuntimeError(f"{e}; server log tail:\n{tail}") from e

    def close(self) -> None:
        stop(self.proc)


def _ok(resp):
    if resp.status_code >= 300:
        req = resp.request
        raise RuntimeError(f"{req.method} {req.url} -> {resp.status_code}: {resp.text[:300]}")
    return resp


def _rows(page: dict) -> int:
    return len(page["items"])


def strata_calls(plan: dict[str, Op]) -> list[tuple[str, Op, Callable]]:
    """(name, op, fn(client, args) -> rows) for every Strata operation, reads first."""
    reg, proj = rc.REGISTRY, rc.PROJECT

    def portfolio(a: dict) -> str:
        return f"{API}/registries/{reg}/collections/{a['collection'].name}"

    def healthz(c, a):
        _ok(c.get("/healthz"))
        return 1

    def query(c, a, alias: bool = True):
        where = {"metadata.acc": {"$gt": rc.ACC_THRESHOLD}, "tag": a["tag"]}
        if alias:
            where["alias"] = "production"
        body = {"filter": where, "limit": QUERY_LIMIT}
        return _rows(_ok(c.post(f"{API}/query/versions", json=body)).json())

    def query_no_alias(c, a):
        return query(c, a, alias=False)

    def resolve_registry(c, a):
        _ok(c.get(f"{portfolio(a)}/versions/{a['alias']}")).json()
        return 1

    def resolve_path(c, a):
        path = f"@{reg}/{a['collection'].name}:{a['alias']}"
        _ok(c.get(f"{API}/resolve", params={"path": path})).json()
        return 1

    def resolve_project(c, a):
        url = f"{API}/projects/{proj}/collections/{a['collection'].name}/versions/{a['alias']}"
        _ok(c.get(url)).json()
        return 1

    def move(c, a):
        # Portfolio v2 is the collection's third linked version (Collection.linked).
        _ok(c.put(f"{portfolio(a)}/aliases/{a['alias']}", json={"version": "v2"})).json()
        return 1

    def link(c, a):
        name = a["collection"].name
        body = {"project": proj, "collection": name, "version": f"v{a['version']}", "aliases": []}
        _ok(c.post(f"{portfolio(a)}/links", json=body)).json()
        return 1

    return [
        ("strata.healthz", plan["resolve"], healthz),
        ("strata.query", plan["query"], query),
        ("strata.query_no_alias", plan["query"], query_no_alias),
        ("strata.resolve_registry", plan["resolve"], resolve_registry),
        ("strata.resolve_path", plan["resolve"], resolve_path),
        ("strata.resolve_project", plan["resolve"], resolve_project),
        ("strata.move", plan["move"], move),
        ("strata.link", plan["link"], link),
    ]


def measure_strata(url: str, plan: dict[str, Op], server_pid: int, quiet: dict) -> dict:
    import httpx

    out = {}
    with httpx.Client(base_url=url, timeout=60) as client:
        for name, op, fn in strata_calls(plan):
            try:
                for a in op.warmup:
                    fn(client, a)
                quiet[name] = wait_quiet((server_pid,))
                ms, rows = [], []
                with LoadMeter((server_pid,)) as load:
                    for a in op.samples:
                        t0 = time.perf_counter_ns()
                        rows.append(fn(client, a))
                        ms.append((time.perf_counter_ns() - t0) / 1e6)
                out[name] = {
                    "ms": ms,
                    "rows": rows,
                    "http_requests": 1,
                    "other_cores": round(load.other_cores, 2),
                }
                _log_op(name, out[name])
            except Exception as e:  # a failing endpoint must not hide the others
                out[name] = {"error": f"{type(e).__name__}: {e}"[:500]}
                log(f"  {name}: ERROR {out[name]['error']}")
    return out


def _log_op(name: str, r: dict) -> None:
    ms = r["ms"]
    log(
        f"  {name}: p50 {report.pct(ms, 50):.2f} ms, p95 {report.pct(ms, 95):.2f} ms"
        f" (other load {r['other_cores']} cores)"
    )


def wait_quiet(
    servers: tuple[int, ...], limit: float = 0.25, window: float = 2.0, timeout: float = 30
) -> float:
    """Wait (up to `timeout`) until processes other than this one and `servers` use less
    than `limit` cores over `window` seconds; returns the last reading. On a shared 2-core
    machine a busy neighbour inflates every latency: measure when it is quiet, and say so
    when it never was."""
    t0 = time.monotonic()
    while True:
        with LoadMeter(servers) as meter:
            time.sleep(window)
        if meter.other_cores < limit or time.monotonic() - t0 > timeout:
            return round(meter.other_cores, 2)


# --------------------------------------------------------------------------------- MLflow


class MLflowServer:
    """A fresh SQLite DB (schema by `mlflow db upgrade`, rows by bulk insert) and
    `mlflow server --workers 1` on it, its fastest configuration on this machine."""

    def __init__(self, root: Path, cat: rc.Catalog) -> None:
        self.db = root / "mlflow.db"
        uri = f"sqlite:///{self.db}"
        mlflow = str(MLFLOW_VENV / "bin" / "mlflow")
        t0 = time.perf_counter()
        subprocess.run(
            [mlflow, "db", "upgrade", uri],
            env=base_env(),
            cwd=root,
            check=True,
            capture_output=True,
            timeout=600,
        )
        self.schema_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.counts = rc.build_mlflow(cat, self.db)
        self.insert_s = time.perf_counter() - t0
        log(f"mlflow: schema {self.schema_s:.0f} s, insert {self.insert_s:.0f} s: {self.counts}")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.cmd = [mlflow, "server", "--workers", "1", "--backend-store-uri", uri]
        self.cmd += ["--host", "127.0.0.1", "--port", str(port)]
        self.log_file = open(root / "server.log", "wb")
        self.proc = subprocess.Popen(
            self.cmd,
            env=base_env(),
            cwd=root,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )

    @property
    def command(self) -> str:
        return " ".join(["mlflow", *self.cmd[1:]])

    def wait_ready(self) -> None:
        """/health first, then an idle process tree: MLflow 3 keeps importing in its job
        runner processes for a while after /health answers."""
        wait_http(f"{self.url}/health", self.proc, 300, "mlflow server")
        wait_tree_idle(self.proc.pid, timeout=300)

    def close(self) -> None:
        stop(self.proc)
        self.log_file.close()


def mlflow_plan(plan: dict[str, Op]) -> dict:
    """The same calls in MLflow terms (see the mapping in registry_catalog)."""

    def search(a: dict, alias_tag: bool) -> dict:
        f = f"tags.acc LIKE '{rc.ACC_LIKE}' AND tags.`{a['tag']}` = 'true'"
        if alias_tag:
            f += " AND tags.alias = 'production'"
        return {"filter": f, "max_results": QUERY_LIMIT}

    def by_alias(a: dict) -> dict:
        return {"model": a["collection"].name, "alias": a["alias"]}

    def set_alias(a: dict) -> dict:
        c = a["collection"]
        return {"model": c.name, "alias": a["alias"], "version": str(c.spare + 1)}

    def create(a: dict) -> dict:
        c = a["collection"]
        return {"model": c.name, "source": rc.mlflow_source(c.name, f"new-{a['version'] + 1}")}

    def op(name: str, kind: str, src: Op, conv: Callable[[dict], dict]) -> dict:
        warm, timed = [conv(a) for a in src.warmup], [conv(a) for a in src.samples]
        return {"name": name, "kind": kind, "warmup": warm, "samples": timed}

    return {
        "ops": [
            op("mlflow.search_alias_tag", "search", plan["query"], lambda a: search(a, True)),
            op("mlflow.search_no_alias", "search", plan["query"], lambda a: search(a, False)),
            op("mlflow.by_alias", "by_alias", plan["resolve"], by_alias),
            op("mlflow.set_alias", "set_alias", plan["move"], set_alias),
            op("mlflow.create_version", "create_version", plan["link"], create),
        ]
    }


def measure_mlflow(server: MLflowServer, plan: dict[str, Op], work: Path, quiet: dict) -> dict:
    """One child per operation (bench/.venv-mlflow), each started once the machine is
    quiet, so every operation gets its own other-load figure."""
    out = {}
    for op in mlflow_plan(plan)["ops"]:
        name = op["name"]
        plan_path = work / f"{name}.json"
        plan_path.write_text(json.dumps({"ops": [op]}))
        quiet[name] = wait_quiet((server.proc.pid,))
        try:
            res = run_json(
                [
                    str(MLFLOW_VENV / "bin" / "python"),
                    str(MLFLOW_SCRIPT),
                    "measure",
                    str(plan_path),
                ],
                env=base_env(MLFLOW_TRACKING_URI=server.url),
                timeout=1800,
                servers=(server.proc.pid,),
            )
        except Exception as e:
            out[name] = {"error": f"{type(e).__name__}: {e}"[:500]}
            log(f"  {name}: ERROR {out[name]['error']}")
            continue
        out[name] = res["ops"][name]
        # The child's whole life, imports included: an upper bound for the samples.
        out[name]["other_cores"] = res["other_cores"]
        _log_op(name, out[name])
    return out


def mlflow_version() -> str:
    cmd = [str(MLFLOW_VENV / "bin" / "python"), str(MLFLOW_SCRIPT), "version"]
    return run_json(cmd, env=base_env(), timeout=120)["version"]


# ---------------------------------------------------------------------------------- main


def check_rows(results: dict, plan: dict[str, Op]) -> None:
    """A filtered query that returns other rows than the catalog says would make its timing
    meaningless: mark it as an error (it still shows, with the error beside it)."""
    expected = [min(a["expected"], QUERY_LIMIT) for a in plan["query"].samples]
    for name in ("strata.query", "mlflow.search_alias_tag"):
        r = results.get(name, {})
        if "rows" in r and r["rows"] != expected:
            bad = sum(x != y for x, y in zip(r["rows"], expected, strict=True))
            r["error"] = f"{bad} of {len(expected)} samples returned another row count"
            log(f"  {name}: {r['error']}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--versions", type=int, default=100_000, help="total (default 100000)")
    ap.add_argument("--collections", type=int, default=1000, help="(default 1000)")
    ap.add_argument("--samples", type=int, default=200, help="timed calls per op (default 200)")
    ap.add_argument("--warmup", type=int, default=20, help="untimed calls first (default 20)")
    ap.add_argument("--seed", type=int, default=1, help="catalog and plan seed (default 1)")
    ap.add_argument("--tools", default="strata,mlflow", help="strata,mlflow (default both)")
    ap.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    ap.add_argument("--work", type=Path, default=BENCH / "_work" / "registry")
    args = ap.parse_args(argv)
    args.tools = {t.strip() for t in args.tools.split(",") if t.strip()}
    if not args.tools or not args.tools <= {"strata", "mlflow"}:
        ap.error("--tools: choose from strata,mlflow")
    if args.versions % args.collections:
        ap.error("--versions must be a multiple of --collections")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    lock = open(args.work / ".lock", "w")  # held (flock) until this process exits
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"registry-bench: another run is using {args.work}")

    t_start = time.perf_counter()
    given = argv if argv is not None else sys.argv[1:]
    ctx: dict = {
        "command": f"python bench/registry_bench.py {shlex.join(given)}".strip(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_start": loadavg(),
        "build": [],
        "quiet": {},
        **machine(),
    }
    cat = rc.Catalog(args.collections, args.versions // args.collections, args.seed)
    plan = make_plan(cat, args.samples, args.warmup, args.seed)
    results: dict = {}
    mlflow: MLflowServer | None = None
    strata: StrataServer | None = None
    try:
        if "mlflow" in args.tools:
            ctx["mlflow_version"] = mlflow_version()
            mlflow = MLflowServer(fresh_dir(args.work / "mlflow"), cat)
            c = mlflow.counts
            ctx["build"].append(
                f"MLflow build: schema by `mlflow db upgrade` ({mlflow.schema_s:.0f} s), then "
                f"{c['model_versions']:,} model_versions, {c['model_version_tags']:,} "
                f"model_version_tags and {c['registered_model_aliases']:,} aliases inserted "
                f"into its SQLite tables in {mlflow.insert_s:.0f} s (registry_catalog.build_mlflow)"
            )
        if "strata" in args.tools:
            home = fresh_dir(args.work / "strata") / "home"
            log(f"strata: building {cat.total_versions:,} versions in-process")
            t = rc.build_strata(cat, home)
            ctx["build"].append(
                "Strata build: in-process with the service's own functions against a fresh "
                f"STRATA_HOME, {rc.BATCH_COLLECTIONS} collections per transaction: "
                f"`commit_version` per version with its metadata, tags and alias "
                f"({t['versions_s']:.0f} s), then `create_registry` and `link_version` for the "
                f"portfolios ({t['links_s']:.0f} s); then `python -m registry serve` on it "
                "(registry_catalog.build_strata)"
            )
            strata = StrataServer(home)
        if mlflow is not None:
            mlflow.wait_ready()
        if strata is not None:
            log("measuring strata")
            results.update(measure_strata(strata.url, plan, strata.proc.pid, ctx["quiet"]))
            strata.close()  # idle from here on; the MLflow rows run without it
        if mlflow is not None:
            log("measuring mlflow")
            results.update(measure_mlflow(mlflow, plan, args.work, ctx["quiet"]))
    finally:
        for server in (strata, mlflow):
            if server is not None:
                server.close()

    check_rows(results, plan)
    ctx["load_end"] = loadavg()
    ctx["wall_s"] = time.perf_counter() - t_start
    ctx["notes"] = report.notes(results, plan, ctx["quiet"], mlflow and mlflow.command)
    write_section(args.out, "registry-bench", report.markdown(ctx, results, cat, plan))
    raw = json.dumps({"context": ctx, "results": results}, indent=1, default=str)
    (args.work / "results.json").write_text(raw)
    log(f"wrote {args.out} ({ctx['wall_s']:.0f} s)")
    for row in report.target_rows(results):
        log("  " + " | ".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
