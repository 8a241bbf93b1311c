"""Seeded, deterministic benchmark datasets.

    many-small  5,000 x 4 KiB files in nested folders (10 x 10 x 50)
    mixed       500 files, lognormal sizes (median 256 KiB, sigma 1.0, clipped 1 KiB..16 MiB)
    few-large   4 x 64 MiB

Bytes come from ``random.Random(seed)``, so every machine builds the same files. A dataset
is generated once into ``bench/data/<name>`` and reused while the stamp ``<name>.complete``
beside it matches the generator parameters. ``one_file_changed`` edits one file in place
(same size) and restores it afterwards; a ``<name>.dirty`` marker left by a crash forces
regeneration. Nothing but data files lives inside a dataset folder (tools log the folder).
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

KiB = 1024
MiB = 1024 * KiB
GENERATOR_VERSION = 1
DATA_ROOT = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Dataset:
    name: str
    path: Path
    files: int
    bytes: int
    changed_file: str  # relative path of the file the "one-file change" edits

    @property
    def mb(self) -> float:
        return self.bytes / 1e6

    def describe(self) -> str:
        return f"{self.name} ({self.files:,} files, {self.mb:,.1f} MB)"


def _many_small(rng: random.Random) -> Iterator[tuple[str, int]]:
    for i in range(5000):
        yield f"d{i // 500:02d}/s{(i // 50) % 10:02d}/f{i:05d}.bin", 4 * KiB


def _mixed(rng: random.Random) -> Iterator[tuple[str, int]]:
    mu, sigma = math.log(256 * KiB), 1.0
    for i in range(500):
        size = int(min(max(rng.lognormvariate(mu, sigma), 1 * KiB), 16 * MiB))
        yield f"part{i // 100}/shard{(i // 20) % 5}/file{i:04d}.dat", size


def _few_large(rng: random.Random) -> Iterator[tuple[str, int]]:
    for i in range(4):
        yield f"shard-{i}.bin", 64 * MiB


GENERATORS = {"many-small": _many_small, "mixed": _mixed, "few-large": _few_large}
NAMES = list(GENERATORS)


def _params(name: str, seed: int) -> dict:
    return {"name": name, "seed": seed, "generator": GENERATOR_VERSION}


def _layout(name: str, seed: int) -> list[tuple[str, int]]:
    """(relative path, size) for every file; sizes use their own RNG stream."""
    return list(GENERATORS[name](random.Random(f"{seed}:{name}:sizes")))


def ensure(name: str, seed: int = 1, root: Path = DATA_ROOT) -> Dataset:
    """Build ``root/name`` if it is missing, stale, or left dirty; return its description."""
    path = root / name
    layout = _layout(name, seed)
    stamp = root / f"{name}.complete"
    fresh = (
        stamp.exists()
        and not (root / f"{name}.dirty").exists()
        and json.loads(stamp.read_text()) == _params(name, seed)
    )
    if not fresh:
        stamp.unlink(missing_ok=True)
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        rng = random.Random(f"{seed}:{name}:bytes")
        for rel, size in layout:
            f = path / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            with open(f, "wb") as out:
                left = size
                while left:
                    n = min(left, 16 * MiB)
                    out.write(rng.randbytes(n))
                    left -= n
        (root / f"{name}.dirty").unlink(missing_ok=True)
        stamp.write_text(json.dumps(_params(name, seed)))
    # The edited file: the middle one, a deterministic choice.
    changed = layout[len(layout) // 2][0]
    return Dataset(name, path, len(layout), sum(s for _, s in layout), changed)


def flip_bytes(file: Path, n: int = 64) -> int:
    """XOR ``n`` bytes in the middle of ``file`` with 0xFF (size unchanged; its own inverse)."""
    size = file.stat().st_size
    n = min(n, size)
    off = (size - n) // 2
    with open(file, "r+b") as f:
        f.seek(off)
        old = f.read(n)
        f.seek(off)
        f.write(bytes(b ^ 0xFF for b in old))
    return size


@contextlib.contextmanager
def one_file_changed(ds: Dataset) -> Iterator[Path]:
    """Change one file of the dataset in place (same size); restore it on the way out."""
    marker = ds.path.parent / f"{ds.name}.dirty"
    marker.write_text(ds.changed_file)
    target = ds.path / ds.changed_file
    flip_bytes(target)
    try:
        yield target
    finally:
        flip_bytes(target)
        marker.unlink()


def copy_dataset(ds: Dataset, dest: Path) -> None:
    shutil.copytree(ds.path, dest)
