"""`sdk.init()` and the live `Run`: metrics, config, summary, and artifact lineage.

`run.log()` only appends to a buffer; a background thread sends it in batches every
`FLUSH_INTERVAL` seconds (sooner when it grows), and `finish()` sends the rest. A run
still open when the interpreter exits is finished then: `failed` if the program died
of an uncaught exception, `finished` otherwise.
"""

import atexit
import math
import sys
import threading
from datetime import UTC, datetime
from numbers import Real
from pathlib import Path
from types import TracebackType
from typing import Any

from sdk.artifact import Artifact, fetch_artifact
from sdk.connection import Connection
from sdk.errors import ConflictError, NotFoundError, ValidationError
from sdk.progress import Progress
from sdk.run_info import RunRecord

FLUSH_INTERVAL = 2.0
FLUSH_SIZE = 5000
MODELS_REGISTRY = "models"


class Run(RunRecord):
    def __init__(self, conn: Connection, record: dict[str, Any], next_step: int) -> None:
        self._conn = conn
        self._record = record
        self._step = next_step
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopped = False
        self._flush_error: BaseException | None = None
        self.config: dict[str, Any] = dict(record["config"])
        self.summary: dict[str, Any] = dict(record["summary"])
        self._flusher = threading.Thread(
            target=self._flush_loop, name="strata-metrics", daemon=True
        )
        self._flusher.start()
        _watch_for_uncaught_exceptions()
        atexit.register(self._finish_at_exit)

    # ---- metrics ----------------------------------------------------------------------

    def log(self, data: dict[str, Any], step: int | None = None, commit: bool = True) -> None:
        """Record metric values at `step` (default: the next step). Non-numbers are refused."""
        self._ensure_running()
        if step is not None and (not isinstance(step, int) or step < 0):
            raise ValidationError(f"step must be a non-negative integer, not {step!r}")
        current = self._step if step is None else step
        now = datetime.now(UTC).isoformat()
        points = []
        for key, value in data.items():
            if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
                raise ValidationError(f"metric {key!r} must be a finite number, not {value!r}")
            points.append({"key": key, "step": current, "value": float(value), "timestamp": now})
            self.summary[key] = value
        with self._lock:
            self._buffer.extend(points)
            if len(self._buffer) >= FLUSH_SIZE:
                self._wake.set()
        if commit:
            self._step = max(self._step, current + 1)

    def _flush_loop(self) -> None:
        while not self._stopped:
            self._wake.wait(FLUSH_INTERVAL)
            self._wake.clear()
            try:
                self._flush()
            except Exception as exc:  # reported by finish(); logging must not crash training
                self._flush_error = exc

    def _flush(self) -> None:
        with self._lock:
            points, self._buffer = self._buffer, []
        for start in range(0, len(points), FLUSH_SIZE):
            self._conn.client.post(
                f"{self._url}/metrics", json={"points": points[start : start + FLUSH_SIZE]}
            )

    # ---- artifacts --------------------------------------------------------------------

    def log_artifact(
        self,
        artifact: Artifact | str,
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        tags: list[str] | None = None,
        progress: Progress | None = None,
    ) -> Artifact:
        """Upload what the server lacks and commit a version produced by this run.

        Content equal to an existing version returns that version (aliases and tags
        added); nothing is uploaded."""
        self._ensure_running()
        if isinstance(artifact, str):
            path = artifact
            artifact = Artifact(name or _default_name(path), type or "unspecified")
            artifact.add_file(path) if Path(path).is_file() else artifact.add_dir(path)
        artifact._commit(
            self._conn,
            self.project,
            aliases=list(aliases or []),
            tags=list(tags or []),
            run={"project": self.project, "id": self.id},
            progress=progress,
        )
        return artifact

    def use_artifact(self, artifact_or_name: Artifact | str, type: str | None = None) -> Artifact:
        """Fetch an artifact and record that this run used it (lineage input)."""
        self._ensure_running()
        if isinstance(artifact_or_name, Artifact):
            artifact = artifact_or_name
            if artifact.qualified_name is None:
                raise ValidationError("use_artifact needs a logged artifact or an artifact path")
        else:
            artifact = fetch_artifact(self._conn, artifact_or_name)
        if type is not None and artifact.type != type:
            raise ValidationError(
                f"{artifact.qualified_name} has type {artifact.type!r}, not {type!r}"
            )
        owner = (
            {"registry": artifact.registry} if artifact.registry else {"project": artifact.project}
        )
        body = {**owner, "collection": artifact._collection, "version": artifact.version}
        self._conn.client.post(f"{self._url}/inputs", json=body)
        return artifact

    def link_artifact(
        self, artifact: Artifact, target_path: str, aliases: list[str] | None = None
    ) -> Artifact:
        """Link an artifact into a registry collection (`@registry/name`), logging it
        first if it is still a draft; returns the link."""
        if artifact.qualified_name is None:
            self.log_artifact(artifact)
        return artifact.link(target_path, aliases)

    # ---- models -----------------------------------------------------------------------

    def log_model(
        self, path: str, name: str | None = None, aliases: list[str] | None = None
    ) -> Artifact:
        """Log a model file or directory as an artifact of type `model`."""
        return self.log_artifact(
            path, name=name or _default_name(path), type="model", aliases=aliases
        )

    def use_model(self, name: str) -> str:
        """Use a model artifact (lineage input) and return the local path of its files:
        the file itself for a one-file model, else the folder."""
        artifact = self.use_artifact(name, type="model")
        return artifact.file() if artifact.file_count == 1 else artifact.download()

    def link_model(
        self,
        path: str,
        registered_model_name: str,
        aliases: list[str] | None = None,
        name: str | None = None,
    ) -> Artifact:
        """Log a model and link it into the `models` registry (created on first use)
        as `@models/<registered_model_name>`; returns the link."""
        model = self.log_model(path, name=name)
        _ensure_registry(self._conn, MODELS_REGISTRY, allowed_types=["model"])
        return model.link(f"@{MODELS_REGISTRY}/{registered_model_name}", aliases)

    # ---- lifecycle --------------------------------------------------------------------

    def finish(self, exit_code: int | None = None) -> None:
        """Send buffered metrics, config and summary; mark the run finished (or failed)."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self._finish_at_exit)
        self._wake.set()
        self._flusher.join()
        self._flush()
        state = "finished" if not exit_code else "failed"
        body = {"state": state, "config": self.config, "summary": self.summary}
        self._record = self._conn.client.patch(self._url, json=body, idempotent=True)
        if self._flush_error is not None:
            raise self._flush_error

    def _finish_at_exit(self) -> None:
        self.finish(exit_code=1 if _uncaught else 0)

    def __enter__(self) -> "Run":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finish(exit_code=1 if exc_type is not None else 0)

    def _ensure_running(self) -> None:
        if self._stopped:
            raise ValidationError(f"run {self.path} has finished")


def init(
    project: str | None = None,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    job_type: str | None = None,
    tags: list[str] | None = None,
    id: str | None = None,
    resume: bool | str | None = None,
    url: str | None = None,
    api_key: str | None = None,
) -> Run:
    """Start (or with `resume` and `id`, continue) a run. Use it as a context manager:
    a `with` block that raises ends the run `failed`."""
    conn = Connection.create(url=url, api_key=api_key, project=project)
    body = {
        "id": id,
        "name": name or "",
        "job_type": job_type or "",
        "config": dict(config or {}),
        "tags": list(tags or []),
        "resume": bool(resume),
    }
    # Resuming a run by its id may be sent again safely (a retry finds it started).
    started = conn.client.post(
        f"/projects/{conn.settings.project}/runs", json=body, idempotent=bool(id and resume)
    )
    return Run(conn, started["run"], started["next_step"])


_uncaught: list[BaseException] = []


def _watch_for_uncaught_exceptions() -> None:
    """Remember an exception that ends the program, so exit can mark open runs failed."""
    previous = sys.excepthook
    if getattr(previous, "_strata", False):
        return

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        _uncaught.append(exc)
        previous(exc_type, exc, tb)

    hook._strata = True  # type: ignore[attr-defined]
    sys.excepthook = hook


def _ensure_registry(conn: Connection, name: str, allowed_types: list[str]) -> None:
    try:
        conn.client.get(f"/registries/{name}")
    except NotFoundError:
        body = {"name": name, "allowed_types": allowed_types}
        try:
            conn.client.post("/registries", json=body)
        except ConflictError:
            pass  # another process created it first


def _default_name(path: str) -> str:
    return Path(path).name or "artifact"
