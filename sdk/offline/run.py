"""`OfflineRun`: a `Run` whose metrics, artifacts and final state go to the offline
directory instead of the server.

Its connection's client refuses every request (`OfflineError`), so nothing an offline
run does can reach the network, whatever path through the SDK it takes.
"""

import secrets
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

from sdk.artifact import NAME_PATTERN, Artifact
from sdk.cache import BlobCache
from sdk.client import Client
from sdk.connection import Connection
from sdk.errors import ConflictError, OfflineError, ValidationError
from sdk.offline.store import OfflineStore, RunDir
from sdk.progress import Progress
from sdk.run import Run
from sdk.settings import ClientSettings


@dataclass(frozen=True)
class _LoggedOffline:
    """Where an artifact was logged offline; its digest names the version that sync
    commits (the server resolves a digest as a selector)."""

    run: str
    project: str
    collection: str
    digest: str


# The artifacts that offline runs of this process logged.
_logged_offline: "weakref.WeakKeyDictionary[Artifact, _LoggedOffline]" = weakref.WeakKeyDictionary()


class OfflineClient(Client):
    """A client that sends nothing: each request raises OfflineError."""

    def __init__(self, settings: ClientSettings) -> None:
        self.settings = settings

    def close(self) -> None:
        pass

    def _send(self, method: str, path: str, **kwargs: Any) -> NoReturn:
        raise OfflineError(
            f"{method} {path} needs the server, and this run is offline; do it after `strata sync`"
        )

    def stream(self, method: str, path: str, **kwargs: Any) -> NoReturn:
        self._send(method, path)


class OfflineRun(Run):
    def __init__(self, settings: ClientSettings, run_dir: RunDir, record: dict[str, Any]) -> None:
        self._dir = run_dir
        self._store = OfflineStore(run_dir.path.parent.parent)
        conn = Connection(
            settings,
            OfflineClient(settings),
            BlobCache(settings.cache_dir, settings.cache_max_bytes),
        )
        super().__init__(conn, record, next_step=0)

    @property
    def offline_dir(self) -> Path:
        """The folder this run is written to."""
        return self._dir.path

    def _flush(self) -> None:
        with self._lock:
            points, self._buffer = self._buffer, []
        self._dir.append_metrics(points)

    def _commit_artifact(
        self, artifact: Artifact, aliases: list[str], tags: list[str], progress: Progress | None
    ) -> None:
        manifest_digest = self._store.keep_artifact(artifact)
        ttl = artifact.ttl
        self._dir.append_record(
            {
                "kind": "artifact",
                "time": _now(),
                "collection": artifact.name,
                "type": artifact.type,
                "description": artifact.description,
                "metadata": artifact.metadata,
                "aliases": list(dict.fromkeys([*artifact.aliases, *aliases])),
                "tags": list(dict.fromkeys([*artifact.tags, *tags])),
                "ttl_seconds": int(ttl.total_seconds()) if ttl is not None else None,
                "manifest_digest": manifest_digest,
            }
        )
        _logged_offline[artifact] = _LoggedOffline(
            self.id, self.project, artifact.name, artifact.digest
        )

    def use_artifact(self, artifact_or_name: Artifact | str, type: str | None = None) -> Artifact:
        """Record that this run used an artifact logged offline (lineage input)."""
        self._ensure_running()
        artifact = artifact_or_name
        used = _logged_offline.get(artifact) if isinstance(artifact, Artifact) else None
        if used is None or not isinstance(artifact, Artifact):
            raise OfflineError(
                "an offline run can use only artifacts logged offline (the Artifact passed "
                f"to log_artifact), not {artifact!r}; use others after `strata sync`"
            )
        if type is not None and artifact.type != type:
            raise ValidationError(f"{artifact.name} has type {artifact.type!r}, not {type!r}")
        if used.run == self.id:  # the server would refuse it at sync, and every sync after
            raise ConflictError(
                f"run {self.id} cannot use {artifact.name}: it is this run's output, and "
                "lineage may not form a cycle"
            )
        self._dir.append_record(
            {
                "kind": "input",
                "time": _now(),
                "project": used.project,
                "collection": used.collection,
                "version": used.digest,
            }
        )
        return artifact

    def link_artifact(
        self, artifact: Artifact, target_path: str, aliases: list[str] | None = None
    ) -> Artifact:
        _refuse_link(target_path)

    def link_model(
        self,
        path: str,
        registered_model_name: str,
        aliases: list[str] | None = None,
        name: str | None = None,
    ) -> Artifact:
        _refuse_link(f"@models/{registered_model_name}")

    def _save_final(self, body: dict[str, Any]) -> dict[str, Any]:
        self._dir.append_record({"kind": "finish", "time": _now(), **body})
        return {**self._record, **body}


def start_offline_run(
    project: str | None,
    name: str | None,
    config: dict[str, Any] | None,
    job_type: str | None,
    tags: list[str] | None,
    run_id: str | None,
    resume: bool | str | None,
) -> OfflineRun:
    """Start a run in the offline directory (`STRATA_OFFLINE_DIR`)."""
    if resume not in (None, False, "never"):
        raise OfflineError("resume needs the server; an offline run always starts a new run")
    settings = ClientSettings(project=project) if project else ClientSettings()
    run_id = run_id or secrets.token_hex(4)
    for kind, value in (("project", settings.project), ("run id", run_id)):
        if not NAME_PATTERN.match(value):
            raise ValidationError(
                f"invalid {kind} {value!r}: use 1-128 letters, digits, '.', '_' or '-'"
            )
    record = {
        "project": settings.project,
        "id": run_id,
        "name": name or run_id,
        "job_type": job_type or "",
        "config": dict(config or {}),
        "summary": {},
        "tags": list(tags or []),
        "state": "running",
        "created_at": _now(),
    }
    store = OfflineStore(settings.offline_dir.expanduser().resolve())
    return OfflineRun(settings, store.new_run(record), record)


def _refuse_link(target: str) -> NoReturn:
    raise OfflineError(
        f"linking into {target} needs the server, and this run is offline; link after `strata sync`"
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")
