"""MLflow peer: a local ``mlflow server --serve-artifacts`` and log/download via its client.

The server and the client both come from bench/.venv-mlflow (bench/setup_peers.sh). One
server serves the whole bench run; each dataset x repetition gets its own experiment, and
the stored bytes are that experiment's folder under --artifacts-destination.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.datasets import Dataset, one_file_changed
from bench.proc import (
    base_env,
    dir_usage,
    free_port,
    run_json,
    stop,
    wait_http,
    wait_tree_idle,
)
from bench.scenario import OpResult, Outcome, check_download, fresh_dir, settle

BENCH = Path(__file__).resolve().parent
VENV = BENCH / ".venv-mlflow"
OPS_SCRIPT = BENCH / "peers" / "mlflow_ops.py"


class MLflow:
    name = "mlflow"

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.startup = ""

    def _ops(self, *args: str, timeout: float = 1800) -> dict:
        return run_json(
            [str(VENV / "bin" / "python"), str(OPS_SCRIPT), *args],
            env=self.env,
            timeout=timeout,
            servers=(self.proc.pid,),
        )

    def version(self) -> str:
        return (
            "mlflow "
            + run_json(
                [str(VENV / "bin" / "python"), str(OPS_SCRIPT), "version"],
                env=base_env(),
                timeout=120,
            )["version"]
        )

    def start(self, work: Path) -> None:
        if not (VENV / "bin" / "mlflow").exists():
            raise RuntimeError(f"{VENV} missing: run bench/setup_peers.sh")
        self.root = fresh_dir(work / "mlflow")
        self.artifacts = self.root / "mlartifacts"
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.env = base_env(MLFLOW_TRACKING_URI=self.url)
        self.cmd = [
            str(VENV / "bin" / "mlflow"),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{self.root / 'mlflow.db'}",
            "--artifacts-destination",
            str(self.artifacts),
            "--serve-artifacts",
        ]
        self.log = open(self.root / "server.log", "wb")
        self.proc = subprocess.Popen(
            self.cmd,
            env=self.env,
            cwd=self.root,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        healthy = wait_http(f"{self.url}/health", self.proc, 180, "mlflow server")
        idle = healthy + wait_tree_idle(self.proc.pid, timeout=180)
        self.startup = f"healthy after {healthy:.1f} s, process tree idle after {idle:.1f} s"
        print(f"  mlflow server: {self.startup}", file=sys.stderr)

    def _quiet(self) -> None:
        settle()
        wait_tree_idle(self.proc.pid, timeout=30, quiet_s=1.0)

    def run(self, ds: Dataset, rep: int) -> Outcome:
        out = Outcome()
        exp = f"bench-{ds.name}-r{rep}-{int(time.time())}"
        exp_dir: Path | None = None
        runs: dict[str, str] = {}

        def log(key: str) -> None:
            nonlocal exp_dir
            self._quiet()
            r = self._ops("log", str(ds.path), "--experiment", exp, "--run-name", key)
            out.ops[key] = OpResult.of(r)
            exp_dir = self.artifacts / r["experiment_id"]
            out.stored[key] = dir_usage(exp_dir)
            runs[key] = r["run_id"]

        dl = self.root / f"download-{ds.name}-r{rep}"
        try:
            log("first")
            log("relog")
            with one_file_changed(ds):
                log("change")
            if dl.exists():
                shutil.rmtree(dl)
            self._quiet()
            r = self._ops("download", runs["first"], str(dl))
            out.ops["download"] = OpResult.of(r, note=check_download(ds, dl))
        finally:
            shutil.rmtree(dl, ignore_errors=True)
            if exp_dir is not None:
                shutil.rmtree(exp_dir, ignore_errors=True)
        return out

    def close(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.log.close()
            self.proc = None
