"""Materialize an artifact's files under a root: blobs via the cache, then linked out.

Missing blobs are fetched several requests at a time, straight from the bucket when
the store presigns (`sdk.direct`), else from the service (small ones framed in
batches), and verified into the cache before anything is placed, so a corrupt blob raises
IntegrityError and is never written to the target.
"""

import math
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sdk import direct, references
from sdk.cache import BlobCache
from sdk.client import Client
from sdk.errors import IntegrityError, ValidationError
from sdk.framing import FrameReader, FramingError
from sdk.manifest import Entry
from sdk.progress import NoProgress, Progress
from sdk.upload import BATCH_FILE_MAX_BYTES, BATCH_MAX_FILES, BATCH_MIN_FILES, WORKERS


def download_entries(
    client: Client,
    cache: BlobCache,
    entries: list[tuple[str, Entry]],
    root: Path,
    progress: Progress | None = None,
) -> None:
    progress = progress or NoProgress()
    root.mkdir(parents=True, exist_ok=True)
    targets = list(_checked_targets(root.resolve(), entries))
    stored = {e.digest: e.size for _, e, _ in targets if e.ref is None}
    needed = {d: s for d, s in stored.items() if not cache.has(d, s)}
    progress.start(sum(needed.values()), len(needed))
    fetch_into_cache(client, cache, needed, progress)
    folders_made: set[Path] = set()
    for path, entry, target in targets:
        if target.parent not in folders_made:
            target.parent.mkdir(parents=True, exist_ok=True)
            folders_made.add(target.parent)
        if entry.ref is None:
            cache.place(entry.digest, target)
        else:
            references.fetch(path, entry, target)
    progress.finish()
    cache.evict()


def cached_blob(client: Client, cache: BlobCache, digest: str, size: int) -> Path:
    """The verified cache's copy of one blob, fetched first if the cache lacks it."""
    if not cache.has(digest, size):
        fetch_into_cache(client, cache, {digest: size}, NoProgress())
    return cache.path(digest)


def _checked_targets(
    real_root: Path, entries: list[tuple[str, Entry]]
) -> Iterator[tuple[str, Entry, Path]]:
    """Each entry with its `safe_target`, checking each folder once, not once per file."""
    folders: dict[str, Path] = {}
    for path, entry in entries:
        folder, _, name = path.rpartition("/")
        if folder not in folders:
            folders[folder] = safe_target(real_root, path).parent
        yield path, entry, folders[folder] / name


def safe_target(real_root: Path, path: str) -> Path:
    """`root/path`, refusing anything (a `..`, a symlinked folder) that leads outside root."""
    target = real_root / path
    parent = target.parent.resolve()
    if parent != real_root and real_root not in parent.parents:
        raise ValidationError(f"artifact path {path!r} would be written outside {real_root}")
    return parent / target.name


def fetch_into_cache(
    client: Client, cache: BlobCache, needed: dict[str, int], progress: Progress
) -> None:
    if direct.download(client, cache, needed, progress):
        return
    small = [d for d, s in needed.items() if s <= BATCH_FILE_MAX_BYTES]
    large = [d for d, s in needed.items() if s > BATCH_FILE_MAX_BYTES]
    with ThreadPoolExecutor(WORKERS) as pool:
        jobs = [pool.submit(_fetch_batch, client, cache, b, progress) for b in _batches(small)]
        jobs += [pool.submit(_fetch_one, client, cache, d, progress) for d in large]
        for job in jobs:
            job.result()


def _batches(digests: list[str]) -> Iterator[list[str]]:
    per_batch = max(BATCH_MIN_FILES, min(BATCH_MAX_FILES, math.ceil(len(digests) / WORKERS)))
    for start in range(0, len(digests), per_batch):
        yield digests[start : start + per_batch]


def _fetch_batch(client: Client, cache: BlobCache, digests: list[str], progress: Progress) -> None:
    reader = FrameReader(BATCH_FILE_MAX_BYTES)
    expected = iter(digests)
    try:
        with client.stream("POST", "/blobs/fetch", json={"digests": digests}) as chunks:
            for chunk in chunks:
                for digest, data in reader.feed(chunk):
                    if digest != next(expected, None):
                        raise IntegrityError(f"server sent blob {digest} out of order")
                    cache.write(digest, [data])
                    progress.advance(len(data), 1)
        reader.close()
    except FramingError as exc:
        # A stored blob whose length changed breaks the framing of everything after it.
        raise IntegrityError(f"corrupt batch from the server: {exc}") from None


def _fetch_one(client: Client, cache: BlobCache, digest: str, progress: Progress) -> None:
    def counted(chunks: object) -> Iterator[bytes]:
        for chunk in chunks:  # type: ignore[attr-defined]
            progress.advance(len(chunk), 0)
            yield chunk

    with client.stream("GET", f"/blobs/{digest}") as chunks:
        cache.write(digest, counted(chunks))
    progress.advance(0, 1)


def remove_extra_files(root: Path, keep: set[str]) -> None:
    """Delete files under root that are not in `keep` (artifact paths), then empty folders."""
    for directory, _dirs, files in os.walk(root, topdown=False):
        for name in files:
            path = Path(directory, name)
            if path.relative_to(root).as_posix() not in keep:
                path.unlink()
        if Path(directory) != root and not os.listdir(directory):
            os.rmdir(directory)
