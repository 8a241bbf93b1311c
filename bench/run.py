"""Strata benchmark driver: datasets x tools in one run, written to bench/RESULTS.md.

    .venv/bin/python bench/run.py [--datasets many-small,mixed,few-large]
                                  [--tools strata,mlflow,dvc,floor] [--repeat N] [--seed S]

Peers run from their own virtualenvs (bench/setup_peers.sh); this driver stays in the
project's .venv. A tool that fails is recorded with its error and the rest still runs.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import platform
import shlex
import signal
import subprocess
import sys
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import datasets, report  # noqa: E402
from bench.dvc_bench import DVC  # noqa: E402
from bench.floor import Floor  # noqa: E402
from bench.mlflow_bench import MLflow  # noqa: E402
from bench.scenario import Outcome  # noqa: E402
from bench.strata_bench import Strata  # noqa: E402

BENCH = Path(__file__).resolve().parent
TOOLS = {"strata": Strata, "mlflow": MLflow, "dvc": DVC, "floor": Floor}


def _csv(choices: list[str]):
    def parse(text: str) -> list[str]:
        items = [x.strip() for x in text.split(",") if x.strip()]
        bad = [x for x in items if x not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"choose from {','.join(choices)}")
        return items

    return parse


def _positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return n


def machine() -> dict:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "mem_gib": mem,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "git": git_rev(),
    }


def git_rev() -> str:
    """The repo commit the bench ran against (+dirty when the work tree has changes)."""
    try:
        rev = _git("rev-parse", "--short", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (rev or "unknown") + ("+dirty" if dirty else "")


def _git(*args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=BENCH.parent, capture_output=True, text=True, timeout=10
    )
    return result.stdout.strip()


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def one_line(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--datasets",
        type=_csv(datasets.NAMES),
        default=datasets.NAMES,
        help=f"comma-separated (default {','.join(datasets.NAMES)})",
    )
    ap.add_argument(
        "--tools",
        type=_csv(list(TOOLS)),
        default=list(TOOLS),
        help=f"comma-separated (default {','.join(TOOLS)})",
    )
    ap.add_argument(
        "--repeat",
        type=_positive,
        default=1,
        help="repetitions per dataset and tool; the median is reported (default 1)",
    )
    ap.add_argument("--seed", type=int, default=1, help="dataset seed (default 1)")
    ap.add_argument(
        "--out",
        type=Path,
        default=BENCH / "RESULTS.md",
        help="report path (default bench/RESULTS.md)",
    )
    ap.add_argument(
        "--work",
        type=Path,
        default=BENCH / "_work",
        help="scratch folder (default bench/_work; raw results.json lands here)",
    )
    args = ap.parse_args(argv)
    # Stop cleanly (servers shut down, dataset restored) on Ctrl-C or kill, also when started
    # in the background, where SIGINT arrives ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))

    args.work.mkdir(parents=True, exist_ok=True)
    lock = open(args.work / ".lock", "w")  # held (flock) until this process exits
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(f"bench: another run is using {args.work}; wait for it or pass --work")

    t_start = time.perf_counter()
    context = {
        "command": "python bench/run.py " + shlex.join(argv if argv is not None else sys.argv[1:]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_start": loadavg(),
        "seed": args.seed,
        "repeat": args.repeat,
        "versions": [],
        "notes": [],
        **machine(),
    }
    context["command"] = context["command"].strip()

    dsets = []
    for name in args.datasets:
        t0 = time.perf_counter()
        dsets.append(datasets.ensure(name, args.seed))
        log(f"dataset {dsets[-1].describe()} ready in {time.perf_counter() - t0:.1f} s")

    tools = {name: TOOLS[name]() for name in args.tools}
    failed_start: dict[str, str] = {}
    outcomes: dict[tuple[str, str], list[Outcome]] = {}
    try:
        for name, tool in tools.items():
            try:
                context["versions"].append(tool.version())
            except Exception as e:
                context["versions"].append(f"{name} (version unknown: {one_line(e)[:200]})")
            try:
                log(f"starting {name}")
                tool.start(args.work)
            except Exception as e:
                failed_start[name] = f"start failed: {one_line(e)}"
                log(f"{name}: {failed_start[name]}")
        if isinstance(tools.get("mlflow"), MLflow) and tools["mlflow"].startup:
            context["notes"].append(
                "MLflow server `"
                + " ".join(
                    Path(tools["mlflow"].cmd[0]).name if i == 0 else a
                    for i, a in enumerate(tools["mlflow"].cmd)
                )
                + f"`: {tools['mlflow'].startup}"
            )

        for ds in dsets:
            for name, tool in tools.items():
                runs = outcomes.setdefault((ds.name, name), [])
                if name in failed_start:
                    runs.append(Outcome(error=failed_start[name]))
                    continue
                for rep in range(args.repeat):
                    log(f"{ds.name} / {name} / repetition {rep + 1}")
                    t0 = time.perf_counter()
                    try:
                        o = tool.run(ds, rep)
                    except Exception as e:
                        traceback.print_exc()
                        o = Outcome(error=one_line(e))
                    runs.append(o)
                    done = ", ".join(f"{k} {v.seconds:.2f}s" for k, v in o.ops.items())
                    log(
                        f"  {done or 'no result'}{' ERROR ' + o.error[:300] if o.error else ''}"
                        f" ({time.perf_counter() - t0:.0f} s)"
                    )
    finally:
        for tool in tools.values():
            tool.close()

    context["load_end"] = loadavg()
    context["wall_s"] = time.perf_counter() - t_start
    results = report.Results(dsets, list(tools), outcomes, context)
    report.write(results, args.out, args.work / "results.json")
    log(f"wrote {args.out} ({context['wall_s']:.0f} s)")
    for row in results.targets():
        log(f"  {row[-1]}: {row[0]}: " + " | ".join(x for x in row[1:4] if x))
    return 0


if __name__ == "__main__":
    sys.exit(main())
