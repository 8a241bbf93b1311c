"""Strata client operations, run as a child process of the driver; prints one JSON line.

    strata_ops.py log DIR --project P --name NAME --run-name RUN
    strata_ops.py download QUALIFIED_NAME OUT

Runs with the project's .venv python. The driver sets STRATA_URL and STRATA_CACHE_DIR and
reads the child's peak RSS with wait4, so each operation's memory high-water mark is its own.
Only the artifact work is timed (not interpreter start-up, imports or run creation).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

# Run as a script: make the repo root importable (the project is installed editable anyway).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def log(args: argparse.Namespace) -> dict:
    import sdk

    with sdk.init(project=args.project, name=args.run_name, job_type="bench") as run:
        t0 = time.perf_counter()
        art = sdk.Artifact(args.name, type="dataset")
        art.add_dir(args.dir)
        run.log_artifact(art)
        if hasattr(art, "wait"):
            art.wait()
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "version": art.version, "digest": getattr(art, "digest", None)}


def download(args: argparse.Namespace) -> dict:
    import sdk

    t0 = time.perf_counter()
    art = sdk.Api().artifact(args.qualified_name)
    art.download(root=args.out)
    return {"seconds": time.perf_counter() - t0}


def version(_args: argparse.Namespace) -> dict:
    from importlib.metadata import version as dist_version

    return {"version": dist_version("strata")}


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("log")
    p.add_argument("dir")
    p.add_argument("--project", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--run-name", required=True)
    p.set_defaults(fn=log)
    p = sub.add_parser("download")
    p.add_argument("qualified_name")
    p.add_argument("out")
    p.set_defaults(fn=download)
    sub.add_parser("version").set_defaults(fn=version)
    args = ap.parse_args()
    print(json.dumps(args.fn(args)), flush=True)


if __name__ == "__main__":
    main()
