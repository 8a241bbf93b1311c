"""DVC operations, run with bench/.venv-dvc/bin/python; prints one JSON line.

    dvc_ops.py init REPO REMOTE      git-less repo (dvc init --no-scm) with a local default remote
    dvc_ops.py addpush REPO TARGET   time `dvc add TARGET` then `dvc push`
    dvc_ops.py pull REPO             time `dvc pull` (the caller gives it an empty cache)

The ``dvc`` command line of this virtualenv is what is timed, as a user would run it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

DVC = str(Path(sys.executable).with_name("dvc"))


def dvc(repo: str, *args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([DVC, *args, "-q"], cwd=repo, check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - t0


def init(args: argparse.Namespace) -> dict:
    Path(args.repo).mkdir(parents=True, exist_ok=True)
    dvc(args.repo, "init", "--no-scm")
    dvc(args.repo, "config", "core.analytics", "false")
    dvc(args.repo, "remote", "add", "-d", "local", str(Path(args.remote).resolve()))
    return {"seconds": 0.0}


def addpush(args: argparse.Namespace) -> dict:
    add_s = dvc(args.repo, "add", args.target)
    push_s = dvc(args.repo, "push")
    return {"seconds": add_s + push_s, "add_s": add_s, "push_s": push_s}


def pull(args: argparse.Namespace) -> dict:
    return {"seconds": dvc(args.repo, "pull")}


def version(_args: argparse.Namespace) -> dict:
    import dvc as dvc_pkg

    return {"version": dvc_pkg.__version__}


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("init")
    p.add_argument("repo")
    p.add_argument("remote")
    p.set_defaults(fn=init)
    p = sub.add_parser("addpush")
    p.add_argument("repo")
    p.add_argument("target")
    p.set_defaults(fn=addpush)
    p = sub.add_parser("pull")
    p.add_argument("repo")
    p.set_defaults(fn=pull)
    sub.add_parser("version").set_defaults(fn=version)
    args = ap.parse_args()
    print(json.dumps(args.fn(args)), flush=True)


if __name__ == "__main__":
    main()
