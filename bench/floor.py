"""The physical floor: a plain copy, and reading + hashing every file (xxh3-128)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import xxhash

from bench.datasets import Dataset
from bench.proc import LoadMeter
from bench.scenario import OpResult, Outcome, check_download, settle

CHUNK = 1 << 20


def hash_tree(root: Path) -> int:
    """Read every file under root once and xxh3-128 it; return the file count."""
    n = 0
    for dirpath, _dirs, files in os.walk(root):
        for fn in files:
            h = xxhash.xxh3_128()
            with open(os.path.join(dirpath, fn), "rb", buffering=0) as fh:
                while chunk := fh.read(CHUNK):
                    h.update(chunk)
            h.hexdigest()
            n += 1
    return n


class Floor:
    name = "floor"

    def version(self) -> str:
        return f"python shutil + xxhash {xxhash.VERSION}"

    def start(self, work: Path) -> None:
        self.work = work / "floor"

    def run(self, ds: Dataset, rep: int) -> Outcome:
        out = Outcome()
        dest = self.work / f"{ds.name}-r{rep}"
        if dest.exists():
            shutil.rmtree(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            settle()
            with LoadMeter() as load:
                t0 = time.perf_counter()
                shutil.copytree(ds.path, dest)
                seconds = time.perf_counter() - t0
            out.ops["copy"] = OpResult(
                seconds, note=check_download(ds, dest), other_cores=load.other_cores
            )
            settle()
            with LoadMeter() as load:
                t0 = time.perf_counter()
                n = hash_tree(ds.path)
                seconds = time.perf_counter() - t0
            out.ops["hash"] = OpResult(
                seconds,
                note="" if n == ds.files else f"hashed {n} files",
                other_cores=load.other_cores,
            )
        finally:
            shutil.rmtree(dest, ignore_errors=True)
        return out

    def close(self) -> None:
        pass
