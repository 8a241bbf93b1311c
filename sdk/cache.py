"""The client's content-addressed cache of downloaded blobs.

    <cache_dir>/blobs/ab/<digest>   verified bytes, shared with downloads by hardlink

Downloads hardlink files out of the cache. Cached files are read-only, so a download
is too (as with DVC's protected hardlinks): copy a file before editing it. Where
permissions do not stop an in-place edit (root), the cache still notices: files are
written with a marker in the nanoseconds of their modification time, an edit resets
that time, and an entry whose marker is gone is fetched again instead of being
handed out corrupt. Access time records use (at most hourly, like relatime), for
least-recently-used eviction.
"""

import itertools
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sdk.digest import Hasher
from sdk.errors import IntegrityError

MTIME_MARKER_NS = 424_242_424
READ_ONLY = 0o444
USE_RESOLUTION_NS = 3600 * 1_000_000_000


class BlobCache:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.max_bytes = max_bytes
        self._blobs = self.root / "blobs"
        self._tmp = self.root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)
        # Temporary names unique across processes sharing the cache, without a
        # random draw per blob.
        self._tmp_prefix = uuid.uuid4().hex[:16]
        self._tmp_serial = itertools.count()
        self._shards_made: set[Path] = set()

    def path(self, digest: str) -> Path:
        return self._blobs / digest[:2] / digest

    def has(self, digest: str, size: int) -> bool:
        try:
            stat = self.path(digest).stat()
        except FileNotFoundError:
            return False
        return stat.st_size == size and stat.st_mtime_ns % 1_000_000_000 == MTIME_MARKER_NS

    def write(self, digest: str, chunks: Iterable[bytes]) -> Path:
        """Store a blob from `chunks`, verifying its digest; raises IntegrityError."""
        with self.receiving(digest) as write:
            for chunk in chunks:
                write(chunk)
        return self.path(digest)

    @contextmanager
    def receiving(self, digest: str) -> Iterator[Callable[[bytes], None]]:
        """Store a blob whose chunks arrive one by one (pass each to the function this
        yields); when the block ends its digest is verified (IntegrityError) and it is
        published. A block that raises leaves nothing behind.

        Downloads of many small blobs are bound by file-system calls, so a blob costs
        as few as can be: created read-only (its descriptor still writes), marked
        through that descriptor, renamed into a shard folder made once per cache.
        """
        tmp = self._tmp / f"{self._tmp_prefix}-{next(self._tmp_serial)}"
        hasher = Hasher()
        descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, READ_ONLY)
        try:
            with open(descriptor, "wb") as out:

                def write(chunk: bytes) -> None:
                    hasher.update(chunk)
                    out.write(chunk)

                yield write
                actual = hasher.hexdigest()
                if actual != digest:
                    raise IntegrityError(
                        f"blob {digest} arrived corrupt (its bytes hash to {actual}); "
                        "nothing was written"
                    )
                out.flush()
                now = time.time_ns()
                os.utime(out.fileno(), ns=(now, now - now % 1_000_000_000 + MTIME_MARKER_NS))
            final = self.path(digest)
            if final.parent not in self._shards_made:
                final.parent.mkdir(parents=True, exist_ok=True)
                self._shards_made.add(final.parent)
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def place(self, digest: str, target: Path) -> None:
        """Put the cached blob at `target`: a hardlink where possible, else a copy."""
        source = self.path(digest)
        self._record_use(source)
        try:
            os.link(source, target)  # the common case, one metadata operation
            return
        except FileExistsError:
            if os.path.samefile(source, target):
                return
        except OSError:
            pass  # no hardlinks across devices or on this filesystem: copy below
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            os.link(source, tmp)
        except OSError:
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)

    @staticmethod
    def _record_use(path: Path) -> None:
        # Like the relatime mount option: at most one access-time write per hour.
        stat = path.stat()
        now = time.time_ns()
        if now - stat.st_atime_ns > USE_RESOLUTION_NS:
            os.utime(path, ns=(now, stat.st_mtime_ns))

    def evict(self) -> int:
        """Delete least recently used blobs until the cache fits; returns bytes freed."""
        entries = []
        total = 0
        for directory, _dirs, files in os.walk(self._blobs):
            for name in files:
                path = os.path.join(directory, name)
                stat = os.stat(path)
                entries.append((stat.st_atime_ns, stat.st_size, path))
                total += stat.st_size
        freed = 0
        for _atime, size, path in sorted(entries):
            if total - freed <= self.max_bytes:
                break
            os.unlink(path)
            freed += size
        return freed
