"""DVC peer: a git-less repo (``dvc init --no-scm``) pushing to a local directory remote.

Each dataset x repetition gets a fresh repo, remote and clone under _work/dvc. The dataset
is copied into the repo first (untimed: DVC tracks data inside its workspace); the one-file
change edits that copy. The download is ``dvc pull`` of the first version's .dvc file into a
second workspace with its own, empty cache. Stored bytes = the remote folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from bench.datasets import Dataset, copy_dataset, flip_bytes
from bench.proc import base_env, dir_usage, run_json
from bench.scenario import OpResult, Outcome, check_download, fresh_dir, settle

BENCH = Path(__file__).resolve().parent
VENV = BENCH / ".venv-dvc"
OPS_SCRIPT = BENCH / "peers" / "dvc_ops.py"


def isolated_env(root: Path) -> dict[str, str]:
    """DVC keeps state/index DBs in a site cache (default /var/tmp/dvc) and reads global and
    system config: point all three into the scenario's folder, so runs never share them."""
    return base_env(
        DVC_SITE_CACHE_DIR=str(root / "site-cache"),
        DVC_GLOBAL_CONFIG_DIR=str(root / "global-config"),
        DVC_SYSTEM_CONFIG_DIR=str(root / "system-config"),
    )


def dvc_ops(*args: str, env: dict[str, str], timeout: float = 1800) -> dict:
    return run_json(
        [str(VENV / "bin" / "python"), str(OPS_SCRIPT), *args], env=env, timeout=timeout
    )


class DVC:
    name = "dvc"

    def version(self) -> str:
        return "dvc " + dvc_ops("version", env=base_env(), timeout=120)["version"]

    def start(self, work: Path) -> None:
        if not (VENV / "bin" / "dvc").exists():
            raise RuntimeError(f"{VENV} missing: run bench/setup_peers.sh")
        self.work = work / "dvc"

    def run(self, ds: Dataset, rep: int) -> Outcome:
        out = Outcome()
        root = fresh_dir(self.work / f"{ds.name}-r{rep}")
        repo, remote, clone = root / "repo", root / "remote", root / "clone"
        env = isolated_env(root)
        try:
            dvc_ops("init", str(repo), str(remote), env=env)
            copy_dataset(ds, repo / "data")

            def addpush(key: str) -> None:
                settle()
                r = dvc_ops("addpush", str(repo), "data", env=env)
                note = f"add {r['add_s']:.2f} s + push {r['push_s']:.2f} s"
                out.ops[key] = OpResult.of(r, note=note)
                out.stored[key] = dir_usage(remote)

            addpush("first")
            shutil.copy(repo / "data.dvc", root / "first.dvc")
            addpush("relog")
            flip_bytes(repo / "data" / ds.changed_file)
            addpush("change")

            dvc_ops("init", str(clone), str(remote), env=env)
            shutil.copy(root / "first.dvc", clone / "data.dvc")
            settle()
            r = dvc_ops("pull", str(clone), env=env)
            out.ops["download"] = OpResult.of(r, note=check_download(ds, clone / "data"))
        finally:
            shutil.rmtree(root, ignore_errors=True)
        return out

    def close(self) -> None:
        pass
