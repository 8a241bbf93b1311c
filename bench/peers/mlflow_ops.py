"""MLflow operations, run with bench/.venv-mlflow/bin/python; prints one JSON line.

    mlflow_ops.py log DIR --experiment NAME --run-name NAME
    mlflow_ops.py download RUN_ID OUT

MLFLOW_TRACKING_URI points at a local ``mlflow server --serve-artifacts``; artifacts travel
over HTTP (mlflow-artifacts:/). Only the artifact call is timed, not imports or run creation.
"""

from __future__ import annotations

import argparse
import json
import time


def log(args: argparse.Namespace) -> dict:
    import mlflow

    exp = mlflow.set_experiment(args.experiment)
    with mlflow.start_run(run_name=args.run_name) as run:
        t0 = time.perf_counter()
        mlflow.log_artifacts(args.dir)
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "run_id": run.info.run_id, "experiment_id": exp.experiment_id}


def download(args: argparse.Namespace) -> dict:
    import mlflow

    t0 = time.perf_counter()
    mlflow.artifacts.download_artifacts(run_id=args.run_id, dst_path=args.out)
    return {"seconds": time.perf_counter() - t0}


def version(_args: argparse.Namespace) -> dict:
    import mlflow

    return {"version": mlflow.__version__}


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("log")
    p.add_argument("dir")
    p.add_argument("--experiment", required=True)
    p.add_argument("--run-name", required=True)
    p.set_defaults(fn=log)
    p = sub.add_parser("download")
    p.add_argument("run_id")
    p.add_argument("out")
    p.set_defaults(fn=download)
    sub.add_parser("version").set_defaults(fn=version)
    args = ap.parse_args()
    print(json.dumps(args.fn(args)), flush=True)


if __name__ == "__main__":
    main()
