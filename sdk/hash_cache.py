"""Digests of local files remembered across processes, so unchanged files are not re-read.

    <cache_dir>/hashes.db   path -> (inode, size, mtime_ns, ctime_ns, digest)

A remembered digest is used only while all four stat fields still match; any write
to the file changes its ctime, which users cannot set back.
"""

import os
import sqlite3
import threading
import time
from pathlib import Path

StatKey = tuple[int, int, int, int]

_SCHEMA = """CREATE TABLE IF NOT EXISTS hashes (
    path TEXT PRIMARY KEY, inode INTEGER, size INTEGER, mtime_ns INTEGER,
    ctime_ns INTEGER, digest TEXT)"""


def stat_key(stat: os.stat_result) -> StatKey:
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


class HashCache:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock, self._db:
            _use_wal(self._db)
            # A cache: losing recent rows to a crash only costs re-hashing, so skip fsync.
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute(_SCHEMA)

    def lookup(self, files: dict[str, StatKey]) -> dict[str, str]:
        """Remembered digests of those `files` (absolute path -> stat key) unchanged since."""
        if not files:
            return {}
        lowest, highest = min(files), max(files)
        with self._lock:
            rows = self._db.execute(
                "SELECT path, inode, size, mtime_ns, ctime_ns, digest FROM hashes "
                "WHERE path >= ? AND path <= ?",
                (lowest, highest),
            ).fetchall()
        found = {}
        for path, inode, size, mtime_ns, ctime_ns, digest in rows:
            if files.get(path) == (inode, size, mtime_ns, ctime_ns):
                found[path] = digest
        return found

    def remember(self, entries: list[tuple[str, StatKey, str]]) -> None:
        if not entries:
            return
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?, ?, ?)",
                [(path, *key, digest) for path, key, digest in entries],
            )


def _use_wal(db: sqlite3.Connection, attempts: int = 50) -> None:
    """Switch to WAL. Processes starting together on a new cache may find the database
    locked while one of them switches it (SQLite's busy timeout does not cover this)."""
    for attempt in range(attempts):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.1)


_caches: dict[Path, HashCache] = {}
_caches_lock = threading.Lock()


def hash_cache_for(cache_dir: Path) -> HashCache:
    """One cache per folder and process. Threads logging at once share it: two
    connections switching a new database to WAL together find it locked."""
    cache_dir = cache_dir.expanduser().resolve()
    with _caches_lock:
        if cache_dir not in _caches:
            _caches[cache_dir] = HashCache(cache_dir / "hashes.db")
        return _caches[cache_dir]
