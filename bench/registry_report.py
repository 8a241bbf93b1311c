"""The registry benchmark's section of bench/RESULTS.md: targets, operations, notes.

Only the text between the registry-bench markers is replaced; the rest of RESULTS.md (the
data-plane report of bench/run.py) is left as it is.
"""

from __future__ import annotations

import statistics

from bench import registry_catalog as rc

START, END = "<!-- registry-bench:start -->", "<!-- registry-bench:end -->"
RATIO_GOAL = 5.0
BUSY_CORES = 0.3  # other load above this marks a row as measured on a busy machine


def pct(ms: list[float], p: int) -> float:
    """Percentile, interpolated between closest ranks (statistics' 'inclusive' method)."""
    if len(ms) == 1:
        return ms[0]
    return statistics.quantiles(ms, n=100, method="inclusive")[p - 1]


# (label, Strata op, MLflow op, percentile, absolute goal in ms for Strata)
TARGETS = [
    ("filtered version query (<=100 rows)", "strata.query", "mlflow.search_alias_tag", 95, 50.0),
    (
        "alias resolution, `.../versions/{alias}`",
        "strata.resolve_registry",
        "mlflow.by_alias",
        50,
        2.0,
    ),
    (
        "alias resolution, `/resolve?path=@reg/c:alias`",
        "strata.resolve_path",
        "mlflow.by_alias",
        50,
        2.0,
    ),
    ("alias move", "strata.move", "mlflow.set_alias", 50, 10.0),
    ("link (new portfolio version)", "strata.link", "mlflow.create_version", 50, 10.0),
]

API = "/api/v1"
PORTFOLIO = f"{API}/registries/models/collections/{{c}}"
SEARCH = "search_model_versions(\"tags.acc LIKE '0.9%' AND tags.`T` = 'true'"
OP_LABELS = {
    "strata.healthz": "`GET /healthz` (info: the HTTP stack alone, no database)",
    "strata.query": f"`POST {API}/query/versions` {{metadata.acc $gt 0.9, tag, alias: "
    "production}, limit 100",
    "strata.query_no_alias": f"`POST {API}/query/versions` {{metadata.acc $gt 0.9, tag}}, "
    "limit 100 (info: no alias clause)",
    "strata.resolve_registry": f"`GET {PORTFOLIO}/versions/{{alias}}`",
    "strata.resolve_path": f"`GET {API}/resolve?path=@models/{{c}}:{{alias}}`",
    "strata.resolve_project": f"`GET {API}/projects/bench/collections/{{c}}/versions/{{alias}}` "
    "(info: project collection)",
    "strata.move": f"`PUT {PORTFOLIO}/aliases/production` {{version: v2}}",
    "strata.link": f"`POST {PORTFOLIO}/links` {{project, collection, version, aliases: []}}",
    "mlflow.search_alias_tag": f"`{SEARCH} AND tags.alias = 'production'\", max_results=100)`",
    "mlflow.search_no_alias": f'`{SEARCH}", max_results=100)` (info: no alias clause)',
    "mlflow.by_alias": "`get_model_version_by_alias(model, alias)`",
    "mlflow.set_alias": "`set_registered_model_alias(model, 'production', version)`",
    "mlflow.create_version": "`create_model_version(model, source='s3://...')`",
}


def _f(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}"


def _g(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def _p(r: dict, p: int) -> float | None:
    return pct(r["ms"], p) if "ms" in r else None


def target_rows(results: dict) -> list[list[str]]:
    """Per target: Strata's absolute goal, then the MLflow/Strata ratio of the p50s."""
    rows = []
    for label, s_name, m_name, p, goal in TARGETS:
        s, m = results.get(s_name, {}), results.get(m_name, {})
        s_p = _p(s, p)
        verdict = "n/a" if s_p is None else ("PASS" if s_p < goal else "FAIL")
        rows.append([label, f"Strata p{p}", _f(s_p), "", "", f"< {goal:g} ms", verdict])
        s50, m50 = _p(s, 50), _p(m, 50)
        ratio, verdict = "n/a", "n/a"
        if s50 and m50:
            r50 = m50 / s50
            ratio = f"{r50:.1f}x (p95: {_p(m, 95) / _p(s, 95):.1f}x)"  # type: ignore[operator]
            verdict = "PASS" if r50 >= RATIO_GOAL else "FAIL"
        goal_r = f">= {RATIO_GOAL:g}x"
        rows.append([label, "MLflow p50 / Strata p50", _f(s50), _f(m50), ratio, goal_r, verdict])
    return rows


def _table(header: list[str], align: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(align) + "|",
        *("| " + " | ".join(str(c) for c in row) + " |" for row in rows),
    ]


def _op_rows(results: dict) -> list[list[str]]:
    rows = []
    for name, r in results.items():
        tool = name.split(".", 1)[0]
        label = OP_LABELS.get(name, name)
        if "ms" not in r:
            rows.append([tool, label, "0", "", "", "", "", "", "", f"ERROR: {r.get('error', '')}"])
            continue
        ms, n_rows = r["ms"], r["rows"]
        rows.append(
            [
                tool,
                label,
                str(len(ms)),
                _f(pct(ms, 50)),
                _f(pct(ms, 95)),
                _f(statistics.fmean(ms)),
                _f(max(ms)),
                f"{min(n_rows)}-{max(n_rows)}",
                _g(r.get("http_requests")),
                _g(r.get("other_cores")),
            ]
        )
    return rows


def markdown(ctx: dict, results: dict, cat: rc.Catalog, plan: dict) -> str:
    n, per = cat.n_collections, cat.n_versions
    lines = [
        START,
        f"## Registry: filtered queries, alias resolution, alias moves and links "
        f"({cat.total_versions:,} versions)",
        "",
        f"Generated by `{ctx['command']}` on {ctx['date']} "
        f"(total wall time {ctx['wall_s']:.0f} s).",
        "",
        f"- Machine: {ctx['cores']} cores ({ctx['cpu']}), {ctx['mem_gib']:.1f} GiB RAM, "
        f"{ctx['kernel']}; load average at start {ctx['load_start']}, at end {ctx['load_end']}",
        f"- Versions: strata (repo at {ctx['git']}); mlflow {ctx.get('mlflow_version', 'n/a')}; "
        f"Python {ctx['python']}",
        f"- Catalog: {cat.total_versions:,} versions = {n:,} collections x {per} versions "
        f"(seed {cat.seed}). Each version: metadata acc (float), epoch (int), arch (string); "
        f"{rc.TAGS_PER_VERSION} tags from a pool of {len(rc.TAG_POOL)}; per collection, alias "
        f"production on one version and staging on another. Strata: project `{rc.PROJECT}` "
        f"({n:,} collections x {per} versions) and registry `{rc.REGISTRY}` ({n:,} portfolios "
        f"with {rc.LINKED_PER_PORTFOLIO} linked versions each: v0 production, v1 staging, v2). "
        f"MLflow: {n:,} registered models x {per} versions.",
        *(f"- {note}" for note in ctx["build"]),
        f"- Samples: {len(plan['query'].samples)} timed calls per operation after "
        f"{len(plan['query'].warmup)} warm-up calls; percentiles interpolate between closest "
        "ranks.",
        "",
        "### Targets",
        "",
        "Absolute goals are Strata's; the ratio is MLflow's p50 over Strata's p50 (p95 ratio in "
        "brackets), measured in this run.",
        "",
        *_table(
            ["operation", "measure", "Strata ms", "MLflow ms", "ratio", "goal", "result"],
            ["---", "---", "---:", "---:", "---:", "---", "---"],
            target_rows(results),
        ),
        "",
        "### Operations",
        "",
        *_table(
            [
                "tool",
                "operation",
                "n",
                "p50 ms",
                "p95 ms",
                "mean ms",
                "max ms",
                "rows per call",
                "HTTP requests per call",
                "other load (cores)",
            ],
            ["---", "---", "---:", "---:", "---:", "---:", "---:", "---", "---:", "---:"],
            _op_rows(results),
        ),
    ]
    errors = [(k, v["error"]) for k, v in results.items() if "error" in v]
    if errors:
        lines += ["", "### Errors", "", *(f"- {k}: {e}" for k, e in errors)]
    lines += ["", "### Notes", "", *(f"- {n}" for n in ctx["notes"]), END]
    return "\n".join(lines) + "\n"


def notes(results: dict, plan: dict, quiet: dict, mlflow_cmd: str | None) -> list[str]:
    expected = [a["expected"] for a in plan["query"].samples]
    busy = [k for k, v in results.items() if (v.get("other_cores") or 0) > BUSY_CORES]
    out = [
        f"Filtered query: each sample asks for metadata.acc > {rc.ACC_THRESHOLD}, one tag "
        "(cycling through the pool) and alias production, over every version (no project or "
        f"registry scope). {min(expected)}-{max(expected)} versions match per tag, so the whole "
        "result fits in one page of 100 and no tool can stop early. Every sample's row count "
        "was checked against the catalog, on both tools.",
        "MLflow's `search_model_versions` grammar allows only `=`, `!=`, `LIKE`, `ILIKE` on tags "
        "(no numeric comparison) and cannot name an alias. Closest equivalent, used for the "
        "ratio: metadata stored as version tags, acc written with 4 decimals in [0.5, 1.0) so "
        "`tags.acc LIKE '0.9%'` is exactly acc > 0.9 on this catalog (0.9000 is never "
        "generated), and the alias mirrored at build time into a version tag "
        "`alias = production` (MLflow does not keep such a tag in step when aliases move). "
        "Without the mirror tag MLflow cannot express the query: the info row without the "
        "alias clause returns the first 100 of several thousand versions (Strata's info row "
        "without the alias clause does the same).",
        "Alias move: `production` of a different portfolio per call, from portfolio v0 to v2; "
        "MLflow: `set_registered_model_alias` of a different model per call, to another "
        "version. Link: Strata links a not-yet-linked project version into its portfolio (it "
        "gets the next registry-local index); the nearest MLflow operation is "
        "`create_model_version` in the registered model. Reads are measured before writes, so "
        "every read sees the catalog as built.",
        "Strata is timed in the driver around each httpx call (one keep-alive `httpx.Client`, "
        "JSON body parsed); MLflow inside bench/.venv-mlflow around each `MlflowClient` method "
        "(its requests session keeps the connection alive; the client also builds entities). "
        "Both servers on 127.0.0.1 with SQLite. `GET /healthz` shows what Strata's HTTP stack "
        "alone costs.",
        "Other load: mean cores used during the samples by processes other than the client "
        "and the tool's server (MLflow: over the measuring child's whole life, imports "
        "included). Before each operation the driver waits (up to 30 s) until other processes "
        f"use < 0.25 cores over 2 s; {quiet_note(quiet)} "
        + (
            f"Rows measured while other processes used > {BUSY_CORES} cores (suspect; rerun): "
            + ", ".join(busy)
            + "."
            if busy
            else f"No row was measured while other processes used > {BUSY_CORES} cores."
        ),
    ]
    if mlflow_cmd:
        out.append(
            f"MLflow server `{mlflow_cmd}`, started while the Strata catalog was being built; "
            "measured once /health answered and its process tree had been idle for 3 s."
        )
    return out


def quiet_note(quiet: dict) -> str:
    loud = {k: v for k, v in quiet.items() if v >= 0.25}
    if not loud:
        return "it was quiet before every operation."
    return (
        "it never got quiet before " + ", ".join(f"{k} ({v} cores)" for k, v in loud.items()) + "."
    )
