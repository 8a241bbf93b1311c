"""Strata: ``strata serve`` on loopback with a fresh STRATA_HOME per dataset x repetition.

A fresh server per scenario keeps "first upload" honest (blobs dedup across collections).
Every client operation runs in its own child (bench/strata_ops.py, project .venv python) so
its peak RSS is its own. The log operations share one client cache (a user re-logging on the
same machine); the download gets a fresh, empty cache. Stored = files under
$STRATA_HOME/blobs, excluding blobs/tmp.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from bench.datasets import Dataset, one_file_changed
from bench.proc import base_env, dir_usage, free_port, run_json, stop, wait_http
from bench.scenario import OpResult, Outcome, check_download, fresh_dir, settle

REPO = Path(__file__).resolve().parent.parent
PYTHON = REPO / ".venv" / "bin" / "python"
STRATA = REPO / ".venv" / "bin" / "strata"
OPS_SCRIPT = REPO / "bench" / "strata_ops.py"
PROJECT = "bench"


class Strata:
    name = "strata"

    def version(self) -> str:
        v = run_json([str(PYTHON), str(OPS_SCRIPT), "version"], env=base_env(), timeout=120)
        return "strata " + v["version"]

    def start(self, work: Path) -> None:
        self.work = work / "strata"

    def _serve(self, home: Path) -> tuple[subprocess.Popen, str]:
        port = free_port()
        env = base_env(STRATA_HOME=str(home), STRATA_PORT=str(port), STRATA_HOST="127.0.0.1")
        log = open(home.parent / "server.log", "wb")
        proc = subprocess.Popen(
            [str(STRATA), "serve"],
            env=env,
            cwd=home.parent,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        url = f"http://127.0.0.1:{port}"
        try:
            wait_http(f"{url}/healthz", proc, 120, "strata serve")
        except Exception as e:
            stop(proc)
            tail = (home.parent / "server.log").read_text(errors="replace")[-1500:]
            raise RuntimeError(f"{e}; server log tail:\n{tail}") from e
        return proc, url

    def run(self, ds: Dataset, rep: int) -> Outcome:
        out = Outcome()
        root = fresh_dir(self.work / f"{ds.name}-r{rep}")
        home = root / "home"
        home.mkdir()
        proc, url = self._serve(home)

        def ops(*args: str, cache: Path) -> dict:
            env = base_env(STRATA_URL=url, STRATA_CACHE_DIR=str(cache), STRATA_PROJECT=PROJECT)
            return run_json(
                [str(PYTHON), str(OPS_SCRIPT), *args], env=env, timeout=1800, servers=(proc.pid,)
            )

        versions: dict[str, str] = {}

        def log(key: str) -> None:
            settle()
            r = ops(
                "log",
                str(ds.path),
                "--project",
                PROJECT,
                "--name",
                ds.name,
                "--run-name",
                key,
                cache=root / "cache-log",
            )
            versions[key] = r["version"]
            out.ops[key] = OpResult.of(r, note=f"-> {r['version']}")
            out.stored[key] = dir_usage(home / "blobs", exclude_top=("tmp",))

        try:
            log("first")
            log("relog")
            with one_file_changed(ds):
                log("change")
            dl = root / "download"
            settle()
            r = ops(
                "download",
                f"{PROJECT}/{ds.name}:{versions['first']}",
                str(dl),
                cache=fresh_dir(root / "cache-download"),
            )
            out.ops["download"] = OpResult.of(r, note=check_download(ds, dl))
        except Exception as e:  # keep the folder (server.log) for a look; the blobs can go
            stop(proc)
            shutil.rmtree(home / "blobs", ignore_errors=True)
            raise RuntimeError(f"{e} [server log: {root / 'server.log'}]") from e
        stop(proc)
        shutil.rmtree(root, ignore_errors=True)
        return out

    def close(self) -> None:
        pass
