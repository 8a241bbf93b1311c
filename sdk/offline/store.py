"""The offline directory on disk (its layout is drawn in `sdk.offline`).

Files are appended whole lines at a time, so a reader (`strata sync` while a run is
still logging) sees complete lines and skips a last one still being written. Files
that are rewritten (`run.json`, `synced.json`) are replaced atomically.
"""

import json
import os
import sys
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sdk.artifact import Artifact
from sdk.cache import BlobCache
from sdk.digest import hash_bytes
from sdk.errors import ConflictError, IntegrityError, NotFoundError, ValidationError

# The offline directory keeps every blob until it is deleted by hand: nothing evicts.
NEVER_EVICTED = sys.maxsize


@dataclass
class SyncState:
    """How far the run has been uploaded to one server."""

    records: int = 0  # leading records of records.jsonl uploaded
    complete: bool = False  # finished offline and wholly uploaded: nothing left to do


@dataclass(frozen=True)
class RunDir:
    """One offline run's folder."""

    path: Path

    def read_run(self) -> dict[str, Any]:
        return json.loads((self.path / "run.json").read_text(encoding="utf-8"))

    def append_metrics(self, points: list[dict[str, Any]]) -> None:
        _append_lines(self.path / "metrics.jsonl", points)

    def metrics(self) -> list[dict[str, Any]]:
        return _read_lines(self.path / "metrics.jsonl")

    def append_record(self, record: dict[str, Any]) -> None:
        _append_lines(self.path / "records.jsonl", [record])

    def records(self) -> list[dict[str, Any]]:
        return _read_lines(self.path / "records.jsonl")

    def sync_state(self, url: str) -> SyncState:
        return SyncState(**self._sync_states().get(url, {}))

    def save_sync_state(self, url: str, state: SyncState) -> None:
        _write_atomically(self.path / "synced.json", {**self._sync_states(), url: asdict(state)})

    def _sync_states(self) -> dict[str, Any]:
        try:
            return json.loads((self.path / "synced.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}


class OfflineStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._blobs = BlobCache(root, NEVER_EVICTED)

    @classmethod
    def open(cls, path: Path) -> tuple["OfflineStore", list[RunDir]]:
        """The store holding `path` and its runs: all of them for an offline directory,
        the one for a run's folder."""
        if (path / "run.json").is_file():
            return cls(path.parent.parent), [RunDir(path)]
        if (path / "runs").is_dir():
            folders = sorted(p for p in (path / "runs").iterdir() if (p / "run.json").is_file())
            return cls(path), [RunDir(p) for p in folders]
        raise NotFoundError(
            f"{path} holds no offline runs (neither an offline directory nor a run's folder)"
        )

    def new_run(self, record: dict[str, Any]) -> RunDir:
        """Create the folder of a run started at `record["created_at"]`."""
        started = datetime.fromisoformat(record["created_at"])
        path = self.root / "runs" / f"{started:%Y%m%dT%H%M%S.%f}-{record['id']}"
        try:
            path.mkdir(parents=True)
        except FileExistsError:
            raise ConflictError(f"offline run {record['id']} already exists in {path}") from None
        _write_atomically(path / "run.json", record)
        return RunDir(path)

    def blob_path(self, digest: str) -> Path:
        return self._blobs.path(digest)

    def keep_artifact(self, artifact: Artifact) -> str:
        """Store each file of a draft whose content is not stored yet, and its manifest;
        returns the manifest's digest.

        The draft then reads its files from the store (files written with `new_file`
        are gone), so it can be logged again."""
        manifest_bytes = artifact.manifest.to_bytes()
        manifest_digest = hash_bytes(manifest_bytes)
        for source in artifact._blob_sources(manifest_digest, manifest_bytes).values():
            if self._blobs.has(source.digest, source.size):
                continue
            try:
                self._blobs.write(source.digest, source.chunks())
            except IntegrityError:
                raise ValidationError(
                    f"{source.path} changed after it was added to artifact {artifact.name}"
                ) from None
        artifact._cleanup_tmp()
        artifact._local_paths = {
            path: str(self.blob_path(entry.digest))
            for path, entry in artifact.manifest.items()
            if entry.ref is None
        }
        return manifest_digest


def dumps(value: Any) -> str:
    """Compact JSON; a value JSON cannot hold is a ValidationError."""
    try:
        return json.dumps(value, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"cannot write offline: {exc}") from None


def _append_lines(path: Path, items: Iterable[dict[str, Any]]) -> None:
    text = "".join(dumps(item) + "\n" for item in items)
    if text:
        with open(path, "a", encoding="utf-8") as out:
            out.write(text)


def _read_lines(path: Path) -> list[dict[str, Any]]:
    items = []
    try:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if not line.endswith("\n"):
                    break  # still being written
                items.append(json.loads(line))
    except FileNotFoundError:
        pass
    return items


def _write_atomically(path: Path, value: Any) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(dumps(value), encoding="utf-8")
    os.replace(tmp, path)
