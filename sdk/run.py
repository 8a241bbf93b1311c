"""`sdk.init()` and the live `Run`: metrics, config, summary, and artifact lineage.

`run.log()` only appends to a buffer; a background thread sends it in batches every
`FLUSH_INTERVAL` seconds (sooner when it grows), and `finish()` sends the rest. A run
still open when the interpreter exits is finished then: `failed` if the program died
of an uncaught exception, `finished` otherwise.

In a distributed job only rank 0 talks to the server: `init` gives the other ranks an
`OtherRankRun`, which has the same methods and sends nothing.
"""

import atexit
import math
import secrets
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from sdk.artifact import Artifact, fetch_artifact
from sdk.connection import Connection
from sdk.errors import ConflictError, NotFoundError, ValidationError
from sdk.metrics import MetricSteps, metric_value, wire_points
from sdk.offline.mode import offline_mode
from sdk.progress import Progress
from sdk.ranks import is_main_process
from sdk.run_info import RunRecord

FLUSH_INTERVAL = 2.0
FLUSH_SIZE = 5000
MODELS_REGISTRY = "models"
RESUME_MODES = ("allow", "must", "never")
FINAL_STATES = ("finished", "failed", "killed")


class Run(RunRecord):
    def __init__(self, conn: Connection, record: dict[str, Any], next_step: int) -> None:
        self._conn = conn
        self._record = record
        self._steps = MetricSteps(next_step)
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

    @property
    def is_main(self) -> bool:
        """False in a process of a distributed job that is not rank 0 (it logs nothing)."""
        return True

    def log(
        self,
        data: Mapping[str, Any],
        step: int | None = None,
        commit: bool = True,
        allow_nonfinite: bool = False,
    ) -> None:
        """Record metric values at `step` (default: the current step; see `sdk.metrics`).

        Raises ValidationError, naming the key, for a value that is not a number, for
        NaN or an infinity unless `allow_nonfinite=True`, and for a step that would go
        back. The summary keeps each key's last finite value."""
        self._ensure_running()
        if not isinstance(data, Mapping):
            raise ValidationError(f"log takes a dict of metric values, not {data!r}")
        values = {key: metric_value(key, value, allow_nonfinite) for key, value in data.items()}
        keys = list(values)
        current = self._steps.place(keys, step)
        self._enqueue(wire_points(values, current, allow_nonfinite))
        self._steps.record(keys, current, commit)
        if allow_nonfinite:
            values = {key: value for key, value in values.items() if math.isfinite(value)}
        self.summary.update(values)

    def _enqueue(self, points: list[dict[str, Any]]) -> None:
        with self._lock:
            self._buffer.extend(points)
            if len(self._buffer) >= FLUSH_SIZE:
                self._wake.set()

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
            batch = points[start : start + FLUSH_SIZE]
            # Non-finite values are spelt as strings; log() let them through on request.
            nonfinite = any(isinstance(point["value"], str) for point in batch)
            body = {"points": batch, "allow_nonfinite": nonfinite}
            self._conn.client.post(f"{self._url}/metrics", json=body)

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
        self._commit_artifact(artifact, list(aliases or []), list(tags or []), progress)
        return artifact

    def _commit_artifact(
        self, artifact: Artifact, aliases: list[str], tags: list[str], progress: Progress | None
    ) -> None:
        artifact._commit(
            self._conn,
            self.project,
            aliases=aliases,
            tags=tags,
            run={"project": self.project, "id": self.id},
            progress=progress,
        )

    def use_artifact(self, artifact_or_name: Artifact | str, type: str | None = None) -> Artifact:
        """Fetch an artifact and record that this run used it (lineage input)."""
        self._ensure_running()
        artifact = self._fetch(artifact_or_name, type)
        owner = (
            {"registry": artifact.registry} if artifact.registry else {"project": artifact.project}
        )
        body = {**owner, "collection": artifact._collection, "version": artifact.version}
        self._conn.client.post(f"{self._url}/inputs", json=body)
        return artifact

    def _fetch(self, artifact_or_name: Artifact | str, type: str | None) -> Artifact:
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

    def finish(self, exit_code: int | None = None, state: str | None = None) -> None:
        """Send buffered metrics, config and summary; mark the run `state` (one of
        `finished`, `failed`, `killed`; default: `failed` for a non-zero exit code)."""
        if self._stopped:
            return
        state = _final_state(exit_code, state)
        self._stopped = True
        atexit.unregister(self._finish_at_exit)
        self._wake.set()
        self._flusher.join()
        self._flush()
        body = {"state": state, "config": self.config, "summary": self.summary}
        self._record = self._save_final(body)
        if self._flush_error is not None:
            raise self._flush_error

    def _save_final(self, body: dict[str, Any]) -> dict[str, Any]:
        """Store the run's final state, config and summary; returns the new record."""
        return self._conn.client.patch(self._url, json=body, idempotent=True)

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


class OtherRankRun(Run):
    """The run of a process that is not rank 0 of a distributed job: the same methods,
    but nothing is logged and nothing is sent. Metric values are still checked, so a
    bug shows on every rank. `use_artifact` and `use_model` still fetch what they are
    asked for (a read), without recording lineage."""

    def __init__(self, conn: Connection, record: dict[str, Any]) -> None:
        self._conn = conn
        self._record = record
        self._steps = MetricSteps(0)
        self._stopped = False
        self.config = dict(record["config"])
        self.summary = {}

    @property
    def is_main(self) -> bool:
        return False

    def _enqueue(self, points: list[dict[str, Any]]) -> None:
        pass

    def log_artifact(
        self,
        artifact: Artifact | str,
        name: str | None = None,
        type: str | None = None,
        aliases: list[str] | None = None,
        tags: list[str] | None = None,
        progress: Progress | None = None,
    ) -> Artifact:
        """Returns the artifact as a draft (a path: an empty draft); uploads nothing."""
        self._ensure_running()
        if isinstance(artifact, str):
            return Artifact(name or _default_name(artifact), type or "unspecified")
        return artifact

    def use_artifact(self, artifact_or_name: Artifact | str, type: str | None = None) -> Artifact:
        self._ensure_running()
        return self._fetch(artifact_or_name, type)

    def link_artifact(
        self, artifact: Artifact, target_path: str, aliases: list[str] | None = None
    ) -> Artifact:
        return artifact

    def link_model(
        self,
        path: str,
        registered_model_name: str,
        aliases: list[str] | None = None,
        name: str | None = None,
    ) -> Artifact:
        return self.log_model(path, name=name)

    def finish(self, exit_code: int | None = None, state: str | None = None) -> None:
        if not self._stopped:
            self._record = {**self._record, "state": _final_state(exit_code, state)}
            self._stopped = True


def init(
    project: str | None = None,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    job_type: str | None = None,
    tags: list[str] | None = None,
    id: str | None = None,
    resume: bool | str | None = None,
    all_ranks: bool = False,
    url: str | None = None,
    api_key: str | None = None,
    mode: str | None = None,
) -> Run:
    """Start a run, or continue one. `resume="allow"` continues the run with this `id`
    (without an id: the latest run named `name` in the project) if there is one and
    starts it otherwise; `"must"` fails unless there is one; `"never"` (the default)
    fails if the id is taken. A resumed run's steps continue after its last one.

    In a distributed job, a process that is not rank 0 (`RANK`, `LOCAL_RANK`,
    `OMPI_COMM_WORLD_RANK`) gets an `OtherRankRun` that sends nothing, unless
    `all_ranks=True`. Use the run as a context manager: a `with` block that raises
    ends it `failed`.

    `mode="offline"` (or `STRATA_MODE=offline`) writes the run to `STRATA_OFFLINE_DIR`
    without touching the network; `strata sync` uploads it later."""
    conn = Connection.create(url=url, api_key=api_key, project=project)
    body = {
        "id": id,
        "name": name or "",
        "job_type": job_type or "",
        "config": dict(config or {}),
        "tags": list(tags or []),
        "resume": _resume_mode(resume),
    }
    if not all_ranks and not is_main_process():
        return OtherRankRun(conn, _local_record(conn.settings.project, body))
    if offline_mode(mode):
        from sdk.offline.run import start_offline_run  # it builds on Run, defined here

        return start_offline_run(project, name, config, job_type, tags, id, resume)
    # Resuming a run by its id may be sent again safely (a retry finds it started).
    started = conn.client.post(
        f"/projects/{conn.settings.project}/runs",
        json=body,
        idempotent=bool(id) and body["resume"] != "never",
    )
    return Run(conn, started["run"], started["next_step"])


def _resume_mode(resume: bool | str | None) -> str:
    if resume is None or resume is False:
        return "never"
    if resume is True:
        return "allow"
    if resume not in RESUME_MODES:
        raise ValidationError(f"resume must be one of {', '.join(RESUME_MODES)}, not {resume!r}")
    return resume


def _final_state(exit_code: int | None, state: str | None) -> str:
    if state is None:
        return "failed" if exit_code else "finished"
    if state not in FINAL_STATES:
        raise ValidationError(f"a run finishes {', '.join(FINAL_STATES)}, not {state!r}")
    return state


def _local_record(project: str, body: dict[str, Any]) -> dict[str, Any]:
    """What the server would have recorded for a run that never reaches it."""
    run_id = body["id"] or secrets.token_hex(4)
    return {
        "id": run_id,
        "name": body["name"] or run_id,
        "project": project,
        "job_type": body["job_type"],
        "config": body["config"],
        "summary": {},
        "tags": body["tags"],
        "state": "running",
    }


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
