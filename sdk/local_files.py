"""Hashing the files an artifact adds, where they lie: once, in parallel for large ones,
and not at all when the hash cache knows the file unchanged."""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sdk.digest import hash_file
from sdk.hash_cache import HashCache, StatKey, stat_key

# Below this size a thread hop costs more than the read and hash it would overlap.
PARALLEL_MIN_BYTES = 1024 * 1024
HASH_WORKERS = 4


@dataclass(frozen=True)
class LocalFile:
    path: str  # absolute
    relative: str  # POSIX path below the added root
    digest: str
    size: int


def walk(root: Path) -> list[tuple[str, str]]:
    """(absolute path, relative POSIX path) of every file below `root`, sorted."""
    found: list[tuple[str, str]] = []
    base = str(root.resolve())
    pending = [(base, "")]
    while pending:
        directory, prefix = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                relative = f"{prefix}{entry.name}"
                if entry.is_dir():
                    pending.append((entry.path, f"{relative}/"))
                elif entry.is_file():
                    found.append((entry.path, relative))
    found.sort(key=lambda item: item[1])
    return found


def hash_files(files: list[tuple[str, str]], cache: HashCache) -> list[LocalFile]:
    keys: dict[str, StatKey] = {path: stat_key(os.stat(path)) for path, _ in files}
    known = cache.lookup(keys)
    todo = [path for path, _ in files if path not in known]
    large = [p for p in todo if keys[p][1] >= PARALLEL_MIN_BYTES]
    computed: dict[str, str] = {}
    if large:
        with ThreadPoolExecutor(HASH_WORKERS) as pool:
            for path, (digest, _size) in zip(large, pool.map(hash_file, large), strict=True):
                computed[path] = digest
    for path in todo:
        if path not in computed:
            computed[path] = hash_file(path)[0]
    # Stat again: a file rewritten while being hashed must not be remembered.
    cache.remember(
        [(p, keys[p], d) for p, d in computed.items() if stat_key(os.stat(p)) == keys[p]]
    )
    digests = {**known, **computed}
    return [LocalFile(p, rel, digests[p], keys[p][1]) for p, rel in files]
