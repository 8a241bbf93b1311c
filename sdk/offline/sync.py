"""Upload offline runs: `strata sync` calls `sync()`.

Safe to repeat and to interrupt. Each run's folder remembers, per server URL, how many
of its records were uploaded and whether it is complete; a complete run is skipped
without a request. What an interrupted upload may have left half-known is settled with
the server: a run that exists already is checked to be this one (same creation time),
metric points already stored are not sent again (compared by key, step, value and
timestamp), a version of equal content is returned instead of created, and a lineage
input is recorded once.
"""

import heapq
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from sdk import nonfinite
from sdk.artifact import Artifact
from sdk.connection import Connection
from sdk.errors import ConflictError
from sdk.manifest import Manifest
from sdk.offline.store import OfflineStore, RunDir, SyncState
from sdk.progress import NoProgress, Progress
from sdk.run import FLUSH_SIZE

ProgressFor = Callable[[str], Progress]


@dataclass
class SyncedRun:
    """What one sync did for one run."""

    path: str  # project/run id
    folder: str
    metric_points: int = 0
    artifacts: int = 0
    inputs: int = 0
    complete: bool = False  # finished offline and now wholly on the server
    up_to_date: bool = False  # complete before this sync: nothing was sent


@dataclass(frozen=True)
class _Pending:
    run_dir: RunDir
    run: dict[str, Any]
    index: int
    record: dict[str, Any]


def sync(path: Path, conn: Connection, progress_for: ProgressFor | None = None) -> list[SyncedRun]:
    """Upload what the offline directory (or one run's folder) at `path` holds and the
    server lacks; returns a report per run. `progress_for(label)` draws one artifact's
    upload."""
    store, run_dirs = OfflineStore.open(path)
    progress_for = progress_for or (lambda _label: NoProgress())
    url = _server_key(conn.settings.url)
    reports: dict[RunDir, SyncedRun] = {}
    todo: list[tuple[RunDir, dict[str, Any], SyncState]] = []
    for run_dir in run_dirs:
        run = run_dir.read_run()
        report = reports[run_dir] = SyncedRun(f"{run['project']}/{run['id']}", str(run_dir.path))
        state = run_dir.sync_state(url)
        if state.complete:
            report.complete = report.up_to_date = True
            continue
        created = _ensure_run(conn, run, run_dir)
        report.metric_points = _upload_metrics(conn, run, run_dir, created)
        todo.append((run_dir, run, state))
    # Records of all runs in the order they were logged: an input then follows the
    # artifact it names, whichever run logged that.
    streams = [_pending(run_dir, run, state.records) for run_dir, run, state in todo]
    states = {run_dir: state for run_dir, _run, state in todo}
    for item in heapq.merge(*streams, key=lambda p: _moment(p.record["time"])):
        report = reports[item.run_dir]
        kind = item.record["kind"]
        if kind == "artifact":
            _commit_artifact(conn, store, item, progress_for)
            report.artifacts += 1
        elif kind == "input":
            body = {k: item.record[k] for k in ("project", "collection", "version")}
            conn.client.post(f"{_run_url(item.run)}/inputs", json=body)
            report.inputs += 1
        else:  # finish
            body = {k: v for k, v in item.record.items() if k not in ("kind", "time")}
            conn.client.patch(_run_url(item.run), json=body)
        state = states[item.run_dir]
        state.records = item.index + 1
        state.complete = kind == "finish"
        item.run_dir.save_sync_state(url, state)
        report.complete = state.complete
    return list(reports.values())


def _server_key(url: str) -> str:
    """The server `url` names however it is spelled (case of scheme and host, the
    scheme's default port, a trailing slash): what sync progress is remembered under."""
    parsed = httpx.URL(url)
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    default_port = {"http": 80, "https": 443}.get(parsed.scheme)
    port = f":{parsed.port}" if parsed.port not in (None, default_port) else ""
    return f"{parsed.scheme}://{host}{port}{parsed.path.rstrip('/')}"


def _ensure_run(conn: Connection, run: dict[str, Any], run_dir: RunDir) -> bool:
    """Create the run with its id and creation time; returns False if it existed."""
    body = {k: run[k] for k in ("id", "name", "job_type", "config", "tags", "created_at")}
    try:
        conn.client.post(f"/projects/{run['project']}/runs", json=body)
        return True
    except ConflictError:
        existing = conn.client.get(_run_url(run))
    if _moment(existing["created_at"]) != _moment(run["created_at"]):
        raise ConflictError(
            f"run {run['project']}/{run['id']} on {conn.settings.url} is another run than "
            f"the offline one in {run_dir.path} (started at {existing['created_at']})"
        )
    return False


def _upload_metrics(conn: Connection, run: dict[str, Any], run_dir: RunDir, created: bool) -> int:
    """Send the points the server lacks, in logging order; returns how many."""
    points = run_dir.metrics()
    if not points:
        return 0
    stored: Counter[tuple[Any, ...]] = Counter()
    if not created:
        stored.update(_point_key(p) for p in conn.client.get(f"{_run_url(run)}/metrics"))
    missing = []
    for point in points:
        key = _point_key(point)
        if stored[key]:
            stored[key] -= 1
        else:
            missing.append(point)
    for start in range(0, len(missing), FLUSH_SIZE):
        batch = missing[start : start + FLUSH_SIZE]
        # Non-finite values were admitted when logged (`allow_nonfinite`); say so again.
        nonfinite_values = any(isinstance(p["value"], str) for p in batch)
        body = {"points": batch, "allow_nonfinite": nonfinite_values}
        conn.client.post(f"{_run_url(run)}/metrics", json=body)
    return len(missing)


def _commit_artifact(
    conn: Connection, store: OfflineStore, item: _Pending, progress_for: ProgressFor
) -> None:
    """Commit the version through the same path as online logging: the server is sent
    only the blobs it lacks, read from the offline store."""
    record = item.record
    project = item.run["project"]
    manifest = Manifest.from_bytes(store.blob_path(record["manifest_digest"]).read_bytes())
    artifact = Artifact(
        record["collection"], record["type"], record["description"], record["metadata"]
    )
    artifact._manifest = manifest
    artifact._local_paths = {
        path: str(store.blob_path(entry.digest))
        for path, entry in manifest.items()
        if entry.ref is None
    }
    if record["ttl_seconds"] is not None:
        artifact.ttl = timedelta(seconds=record["ttl_seconds"])
    artifact._commit(
        conn,
        project,
        aliases=record["aliases"],
        tags=record["tags"],
        run={"project": project, "id": item.run["id"]},
        progress=progress_for(f"{project}/{record['collection']}"),
    )


def _pending(run_dir: RunDir, run: dict[str, Any], done: int) -> Iterator[_Pending]:
    for index, record in enumerate(run_dir.records()):
        if index >= done:
            yield _Pending(run_dir, run, index, record)


def _run_url(run: dict[str, Any]) -> str:
    return f"/projects/{run['project']}/runs/{run['id']}"


def _point_key(point: dict[str, Any]) -> tuple[Any, ...]:
    """What identifies a logged point. Values in their wire spelling: NaN as the string
    "NaN", since a float NaN equals nothing, not even itself."""
    value = nonfinite.to_wire(nonfinite.from_wire(point["value"]))
    return (point["key"], point["step"], value, _moment(point["timestamp"]))


def _moment(value: str) -> datetime:
    """A timestamp as the server or the offline files spell it, in UTC (none: UTC)."""
    moment = datetime.fromisoformat(value)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
