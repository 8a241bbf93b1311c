"""Turn the outcomes of one bench run into bench/RESULTS.md (and a raw JSON beside the work)."""

from __future__ import annotations

import json
import re
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.datasets import Dataset
from bench.scenario import OPS, STORED, Outcome

MEMORY_TARGET_MIB = 300


@dataclass
class Agg:
    """One operation of one tool on one dataset, over the repetitions that produced it."""

    runs: list[float]
    maxrss_mib: float | None
    note: str
    other_cores: float | None  # the highest over the repetitions

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def aggregate(outcomes: list[Outcome]) -> dict[str, Agg]:
    aggs: dict[str, Agg] = {}
    for key in OPS:
        results = [o.ops[key] for o in outcomes if key in o.ops]
        if not results:
            continue
        rss = [r.maxrss_mib for r in results if r.maxrss_mib is not None]
        other = [r.other_cores for r in results if r.other_cores is not None]
        notes = sorted({r.note for r in results if r.note})
        aggs[key] = Agg(
            [r.seconds for r in results],
            max(rss) if rss else None,
            "; ".join(notes),
            max(other) if other else None,
        )
    return aggs


def _s(x: float) -> str:
    return f"{x:.1f}" if x >= 10 else f"{x:.3f}"


def _rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


class Results:
    def __init__(
        self,
        datasets: list[Dataset],
        tools: list[str],
        outcomes: dict[tuple[str, str], list[Outcome]],
        context: dict,
    ) -> None:
        self.datasets = datasets
        self.tools = tools
        self.outcomes = outcomes
        self.context = context
        self.aggs = {k: aggregate(v) for k, v in outcomes.items()}

    def op(self, ds: str, tool: str, key: str) -> Agg | None:
        return self.aggs.get((ds, tool), {}).get(key)

    def dataset(self, name: str) -> Dataset | None:
        return next((d for d in self.datasets if d.name == name), None)

    def errors(self) -> list[tuple[str, str, str]]:
        out = []
        for (ds, tool), outcomes in self.outcomes.items():
            for msg in sorted({o.error for o in outcomes if o.error}):
                out.append((ds, tool, msg))
        return out

    # ---- targets -------------------------------------------------------------------------

    def _rate_of(self, ds: str, tool: str, key: str, unit: str) -> float | None:
        a, d = self.op(ds, tool, key), self.dataset(ds)
        if a is None or d is None or a.median <= 0 or a.note.startswith("MISMATCH"):
            return None
        return (d.files if unit == "files/s" else d.mb) / a.median

    def _vs_peer(self, label: str, ds: str, key: str, peer: str, unit: str, goal: float) -> list:
        s = self._rate_of(ds, "strata", key, unit)
        p = self._rate_of(ds, peer, key, unit)
        if self.dataset(ds) is None:
            return [label, "", "", "", f">= {goal:g}x", f"n/a ({ds} not in this run)"]
        if s is None or p is None:
            missing = " and ".join(t for t, v in (("strata", s), (peer, p)) if v is None)
            return [label, "n/a", "n/a", "n/a", f">= {goal:g}x", f"n/a (no {missing} result)"]
        ratio = s / p
        return [
            label,
            f"{_rate(s)} {unit}",
            f"{_rate(p)} {unit}",
            f"{ratio:.1f}x",
            f">= {goal:g}x",
            "PASS" if ratio >= goal else "FAIL",
        ]

    def targets(self) -> list[list[str]]:
        rows = [
            self._vs_peer(
                "first upload, many-small: Strata vs MLflow files/s",
                "many-small",
                "first",
                "mlflow",
                "files/s",
                10,
            ),
            self._vs_peer(
                "first upload, many-small: Strata vs DVC files/s",
                "many-small",
                "first",
                "dvc",
                "files/s",
                3,
            ),
        ]
        for d in self.datasets:
            first, relog = self.op(d.name, "strata", "first"), self.op(d.name, "strata", "relog")
            label = f"unchanged re-log time / first upload time, {d.name}"
            if first is None or relog is None:
                rows.append([label, "n/a", "", "n/a", "< 5%", "n/a (no strata result)"])
            else:
                frac = relog.median / first.median
                rows.append(
                    [
                        label,
                        f"{_s(relog.median)} s / {_s(first.median)} s",
                        "",
                        f"{frac:.1%}",
                        "< 5%",
                        "PASS" if frac < 0.05 else "FAIL",
                    ]
                )
        rows += [
            self._vs_peer(
                "download into empty cache, many-small: Strata vs MLflow files/s",
                "many-small",
                "download",
                "mlflow",
                "files/s",
                10,
            ),
            self._vs_peer(
                "upload, few-large: Strata vs MLflow MB/s",
                "few-large",
                "first",
                "mlflow",
                "MB/s",
                2,
            ),
            self._vs_peer(
                "download, few-large: Strata vs MLflow MB/s",
                "few-large",
                "download",
                "mlflow",
                "MB/s",
                2,
            ),
        ]
        mem = self.op("mixed", "strata", "first")
        label = "client peak RSS while logging mixed"
        if self.dataset("mixed") is None:
            rows.append(
                [label, "", "", "", f"< {MEMORY_TARGET_MIB} MiB", "n/a (mixed not in this run)"]
            )
        elif mem is None or mem.maxrss_mib is None:
            rows.append(
                [label, "n/a", "", "", f"< {MEMORY_TARGET_MIB} MiB", "n/a (no strata result)"]
            )
        else:
            rows.append(
                [
                    label,
                    f"{mem.maxrss_mib:.0f} MiB",
                    "",
                    "",
                    f"< {MEMORY_TARGET_MIB} MiB",
                    "PASS" if mem.maxrss_mib < MEMORY_TARGET_MIB else "FAIL",
                ]
            )
        return rows

    # ---- markdown ------------------------------------------------------------------------

    def markdown(self) -> str:
        c = self.context
        L: list[str] = []
        add = L.append
        add("# Strata benchmark results\n")
        add(
            f"Generated by `{c['command']}` on {c['date']} (total wall time {c['wall_s']:.0f} s).\n"
        )
        add(
            f"- Machine: {c['cores']} cores ({c['cpu']}), {c['mem_gib']:.1f} GiB RAM, "
            f"{c['kernel']}; load average at start {c['load_start']}, at end {c['load_end']}"
        )
        add(
            f"- Versions: {'; '.join(c['versions'])} (repo at {c.get('git', 'unknown')}); "
            f"Python {c['python']}"
        )
        add(f"- Seed {c['seed']}, repetitions {c['repeat']} (median shown; every run listed)")
        for line in c.get("notes", []):
            add(f"- {line}")
        add("")
        add("## Datasets\n")
        add("| dataset | files | bytes | MB |")
        add("|---|---:|---:|---:|")
        for d in self.datasets:
            add(f"| {d.name} | {d.files:,} | {d.bytes:,} | {d.mb:,.1f} |")
        add("")

        add("## Targets (Strata vs peers, same run)\n")
        add("| target | Strata | peer | ratio | goal | result |")
        add("|---|---:|---:|---:|---|---|")
        for row in self.targets():
            add("| " + " | ".join(row) + " |")
        add("")

        add("## Operations\n")
        add(
            "Seconds are one whole operation, timed inside the client process (imports and "
            "process start-up excluded). MB/s and files/s are over the whole dataset, also for "
            "the re-log and the one-file change. Peak RSS is the client process tree's "
            "high-water mark (wait4 rusage; ~11 MiB is the floor of the method). Other load: mean "
            "cores used during the operation by processes that are neither the client nor the "
            "tool's server (max over repetitions; kernel threads writing back the tool's own "
            "writes count here too, so large writes show some); on this 2-core machine, more "
            "than ~0.3 on a small-write row means it was measured on a busy machine.\n"
        )
        add(
            "| dataset | tool | operation | n | median s | MB/s | files/s | client peak RSS MiB "
            "| other load (cores) | all runs (s) | note |"
        )
        add("|---|---|---|---:|---:|---:|---:|---:|---:|---|---|")
        for d in self.datasets:
            for tool in self.tools:
                aggs = self.aggs.get((d.name, tool), {})
                for key, label in OPS.items():
                    a = aggs.get(key)
                    if a is None:
                        continue
                    m = a.median
                    rss = f"{a.maxrss_mib:.0f}" if a.maxrss_mib is not None else ""
                    other = f"{a.other_cores:.2f}" if a.other_cores is not None else ""
                    runs = ", ".join(_s(x) for x in a.runs)
                    add(
                        f"| {d.name} | {tool} | {label} | {len(a.runs)} | {_s(m)} | "
                        f"{_rate(d.mb / m)} | {_rate(d.files / m)} | {rss} | {other} | {runs} "
                        f"| {a.note} |"
                    )
        add("")

        add("## Stored bytes (dedup)\n")
        add(
            "Strata: files under `$STRATA_HOME/blobs` (excluding `tmp/`); MLflow: the "
            "experiment's folder under `--artifacts-destination`; DVC: the local remote. "
            "Objects are file counts; x = stored bytes / dataset bytes.\n"
        )
        add(
            "| dataset | tool | "
            + " | ".join(STORED.values())
            + " | added by re-log | added by one-file change | x dataset |"
        )
        add("|---|---|" + "---:|" * (len(STORED) + 3))
        for d in self.datasets:
            for tool in self.tools:
                outs = [o for o in self.outcomes.get((d.name, tool), []) if o.stored]
                if not outs:
                    continue
                st = outs[-1].stored
                cells = [f"{st[k][1]:,} B ({st[k][0]:,} obj)" if k in st else "" for k in STORED]
                b = {k: st[k][1] for k in st}
                relog = f"{b['relog'] - b['first']:,} B" if {"first", "relog"} <= b.keys() else ""
                chg = f"{b['change'] - b['relog']:,} B" if {"relog", "change"} <= b.keys() else ""
                last = b.get("change", b.get("relog", b.get("first")))
                x = f"{last / d.bytes:.3f}" if last is not None else ""
                add(f"| {d.name} | {tool} | " + " | ".join(cells) + f" | {relog} | {chg} | {x} |")
        add("")

        add("## Client memory while logging the mixed set\n")
        add("| tool | operation | client peak RSS MiB | target |")
        add("|---|---|---:|---|")
        for tool in self.tools:
            a = self.op("mixed", tool, "first")
            if a is not None and a.maxrss_mib is not None:
                tgt = f"< {MEMORY_TARGET_MIB} MiB" if tool == "strata" else ""
                add(f"| {tool} | first upload | {a.maxrss_mib:.0f} | {tgt} |")
        add("")

        errors = self.errors()
        if errors:
            add("## Errors\n")
            add("| dataset | tool | error |")
            add("|---|---|---|")
            for ds, tool, msg in errors:
                one_line = " ".join(msg.split()).replace("|", "\\|")[:600]
                add(f"| {ds} | {tool} | {one_line} |")
            add("")

        add("## Method\n")
        for line in METHOD:
            add(f"- {line}")
        add("")
        return "\n".join(L)

    def raw(self) -> dict:
        return {
            "context": self.context,
            "datasets": [{**asdict(d), "path": str(d.path)} for d in self.datasets],
            "outcomes": {
                f"{ds}/{tool}": [asdict(o) for o in outs]
                for (ds, tool), outs in self.outcomes.items()
            },
        }


METHOD = [
    "Datasets are generated from the seed by bench/datasets.py into bench/data/ and reused.",
    "first upload: the dataset folder logged to a fresh store. unchanged re-log: the same folder "
    "logged again (Strata: same collection; MLflow: a 2nd run; DVC: `dvc add` + `dvc push` "
    "again). one-file change: 64 bytes in the middle of one file flipped (same size), logged "
    "again. download: the first version into an empty folder with an empty client cache.",
    "Strata: `strata serve` with a fresh STRATA_HOME per dataset and repetition; each client "
    "operation is a child process (bench/strata_ops.py) using `sdk.init` / `sdk.Artifact.add_dir`"
    " / `run.log_artifact` / `Api().artifact(...).download(root=...)`. The log operations share "
    "one client cache; the download uses a new, empty one.",
    "MLflow: one `mlflow server --serve-artifacts` (SQLite backend, local artifacts "
    "destination) from bench/.venv-mlflow; measurements start after /health is OK and the "
    "server's process tree is idle; `mlflow.log_artifacts` in a new run, "
    "`mlflow.artifacts.download_artifacts` to a fresh folder.",
    "DVC: `dvc init --no-scm` repo with a local directory remote, from bench/.venv-dvc; the "
    "dataset is copied into the workspace first (untimed); add + push timed as one operation "
    "(split in the note); the download is `dvc pull` of the first version's .dvc file into a "
    "second workspace with an empty cache.",
    "Floor: `shutil.copytree` of the dataset to a fresh folder, and reading + xxh3_128 of every "
    "file in one thread, in the driver process.",
    "`sync` runs before every timed operation; the page cache is warm (the data was just "
    "generated or read). Everything talks to 127.0.0.1 only.",
]


OWNED_SECTION = re.compile(r"<!-- ([\w-]+):start -->.*?<!-- \1:end -->", re.S)


def write(results: Results, md_path: Path, raw_path: Path) -> None:
    """Rewrite RESULTS.md, keeping the sections other benchmarks own (between
    `<!-- name:start -->` and `<!-- name:end -->` markers)."""
    old = md_path.read_text() if md_path.exists() else ""
    kept = "".join("\n\n" + block.group(0) for block in OWNED_SECTION.finditer(old))
    md_path.write_text(results.markdown().rstrip("\n") + kept + "\n")
    raw_path.parent.mkdir(parents=True, exist_ok=True)
    raw_path.write_text(json.dumps(results.raw(), indent=1, default=str))


def write_section(path: Path, name: str, section: str) -> None:
    """Replace the section `name` of RESULTS.md (between `<!-- name:start -->` and
    `<!-- name:end -->`, inclusive) with `section`, or append it; nothing else changes."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    text = path.read_text() if path.exists() else "# Strata benchmark results\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        text = head + section.rstrip("\n") + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)
