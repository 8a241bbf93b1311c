"""What one tool's run over one dataset produces, and the helpers every tool shares."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from bench.datasets import Dataset
from bench.proc import dir_usage

# Operation keys, in table order, with the words RESULTS.md uses for them.
OPS = {
    "first": "first upload",
    "relog": "unchanged re-log",
    "change": "one-file change",
    "download": "download (empty cache)",
    "copy": "plain copy (shutil.copytree)",
    "hash": "read + xxh3_128 of every file (1 thread)",
}
# Stored-bytes checkpoints.
STORED = {
    "first": "after first upload",
    "relog": "after unchanged re-log",
    "change": "after one-file change",
}


@dataclass
class OpResult:
    seconds: float
    maxrss_mib: float | None = None  # client peak RSS (child process tree), when measured
    note: str = ""
    other_cores: float | None = None  # CPU used meanwhile by unrelated processes (cores)

    @classmethod
    def of(cls, r: dict, note: str = "") -> OpResult:
        """From an op script's JSON result (see proc.run_json)."""
        return cls(r["seconds"], r.get("maxrss_mib"), note, r.get("other_cores"))


@dataclass
class Outcome:
    ops: dict[str, OpResult] = field(default_factory=dict)
    stored: dict[str, tuple[int, int]] = field(default_factory=dict)  # key -> (objects, bytes)
    error: str | None = None


def settle() -> None:
    """Flush dirty pages so one operation's writeback is not charged to the next."""
    os.sync()


def fresh_dir(path: Path) -> Path:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def check_download(ds: Dataset, out: Path) -> str:
    """Empty string when ``out`` holds as many files and bytes as the dataset, else a note."""
    files, size = dir_usage(out)
    if (files, size) == (ds.files, ds.bytes):
        return ""
    return f"MISMATCH: got {files} files / {size:,} B, expected {ds.files} / {ds.bytes:,} B"
