"""Runs: lifecycle, config and summary, metric history, and input lineage."""

import math
import secrets
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from registry.db import insert_ignoring_conflicts
from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import ArtifactVersion, Metric, Project, Run, RunInput, utcnow
from registry.schemas import MetricPoint
from registry.services import events
from registry.services.names import check_name, check_tags
from registry.services.projects import get_or_create_project, get_project

RUN_STATES = ("running", "finished", "failed", "killed", "crashed")
MAX_METRIC_POINTS = 10_000
RESUME_MODES = ("allow", "must", "never")


def new_run_id() -> str:
    return secrets.token_hex(4)


def start_run(
    session: Session,
    project: str,
    *,
    run_id: str | None = None,
    name: str = "",
    job_type: str = "",
    config: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    resume: bool | str = False,
    created_at: datetime | None = None,
) -> tuple[Run, bool]:
    """Create a run, or continue one (see `RunCreate.resume`); returns (run, resumed).

    Without an id, `allow` and `must` look the run up by name: the latest of that name.
    `created_at` dates a new run (one logged offline starts before it is uploaded)."""
    mode = ("allow" if resume else "never") if isinstance(resume, bool) else resume
    if mode not in RESUME_MODES:
        raise InvalidInput(f"resume must be one of {', '.join(RESUME_MODES)}, not {resume!r}")
    if mode == "must" and not run_id and not name:
        raise InvalidInput("resume='must' needs the id or the name of the run to continue")
    project_row = get_or_create_project(session, project)
    runs = select(Run).where(Run.project_id == project_row.id)
    existing = None
    if run_id:
        existing = session.exec(runs.where(Run.run_id == check_name("run id", run_id))).first()
    elif name and mode != "never":
        newest = runs.where(Run.name == name).order_by(
            col(Run.created_at).desc(), col(Run.id).desc()
        )
        existing = session.exec(newest).first()
    if existing is None:
        if mode == "must":
            wanted = f"run {project}/{run_id}" if run_id else f"a run named {name!r} in {project}"
            raise NotFound(f"{wanted} does not exist; resume='must' only continues a run")
        new_id = run_id or new_run_id()
        run = Run(
            project_id=project_row.id,  # type: ignore[arg-type]
            run_id=new_id,
            name=name or new_id,
            job_type=job_type,
            config=config or {},
            tags=check_tags(tags or []),
        )
        if created_at is not None:
            run.created_at = run.updated_at = created_at
        session.add(run)
        session.flush()
        return run, False
    if mode == "never":
        raise Conflict(f"run {project}/{run_id} already exists; pass resume to continue it")
    existing.state = "running"
    if config:
        existing.config = {**existing.config, **config}
    existing.updated_at = utcnow()
    session.add(existing)
    return existing, True


def get_run(session: Session, project: str, run_id: str) -> Run:
    project_row = get_project(session, project)
    run = session.exec(
        select(Run).where(Run.project_id == project_row.id, Run.run_id == run_id)
    ).first()
    if run is None:
        raise NotFound(f"run {project}/{run_id} does not exist")
    return run


def list_runs(session: Session, project: str, *, offset: int = 0, limit: int = 100) -> list[Run]:
    project_row = get_project(session, project)
    query = (
        select(Run)
        .where(Run.project_id == project_row.id)
        .order_by(col(Run.created_at), col(Run.id))
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(query))


def update_run(
    session: Session,
    run: Run,
    *,
    name: str | None = None,
    config: dict[str, Any] | None = None,
    summary: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    state: str | None = None,
) -> None:
    """`config` and `summary` are merged into what is stored; `tags` replace."""
    if state is not None and state not in RUN_STATES:
        raise InvalidInput(f"run state must be one of {', '.join(RUN_STATES)}, not {state!r}")
    if name is not None:
        run.name = name
    if config:
        run.config = {**run.config, **config}
    if summary:
        run.summary = {**run.summary, **summary}
    if tags is not None:
        run.tags = check_tags(tags)
    if state is not None:
        run.state = state
    run.updated_at = utcnow()
    session.add(run)


def log_metrics(session: Session, run: Run, points: Sequence[MetricPoint]) -> None:
    """Append metric points and let the project's metric automations see them; the run
    summary keeps the last value logged for each key."""
    if len(points) > MAX_METRIC_POINTS:
        raise InvalidInput(f"at most {MAX_METRIC_POINTS} metric points per request")
    if not points:
        return
    # A Core executemany on the connection: the ORM's bulk path would cost more per row
    # than the database does.
    session.connection().execute(
        insert(Metric.__table__),  # type: ignore[attr-defined]
        [{"run_id": run.id, **point} for point in points],
    )
    project = session.get(Project, run.project_id)
    assert project is not None
    # NaN and infinities are kept in the history only: metric automations and the
    # summary see the finite values (a NaN would poison every window it falls in).
    logged = [
        (point["key"], point["step"], point["value"])
        for point in points
        if math.isfinite(point["value"])
    ]
    events.metric_points(session, project, run, logged)
    run.summary = {**run.summary, **{key: value for key, _step, value in logged}}
    run.updated_at = utcnow()
    session.add(run)


def metric_history(session: Session, run: Run, keys: list[str] | None = None) -> list[Metric]:
    """The points of `keys` (all keys when None); a NaN value may read back as None."""
    return list(session.exec(_history(select(Metric), run, keys)))


def metric_series(session: Session, run: Run) -> list[tuple[str, int, float | None]]:
    """(key, step, value) in the order of `metric_history`, as plain rows: a chart of a
    long history would spend most of its time building ORM objects."""
    query = _history(select(Metric.key, Metric.step, Metric.value), run, None)
    return [tuple(row) for row in session.exec(query)]


def _history(query: Any, run: Run, keys: list[str] | None) -> Any:
    query = query.where(Metric.run_id == run.id)
    if keys:
        query = query.where(col(Metric.key).in_(keys))
    return query.order_by(col(Metric.key), col(Metric.step), col(Metric.id))


def next_step(session: Session, run: Run) -> int:
    """The step after the highest one logged, so a resumed run continues its history."""
    highest = session.exec(select(func.max(Metric.step)).where(Metric.run_id == run.id)).first()
    return 0 if highest is None else highest + 1


def record_input(session: Session, run: Run, version: ArtifactVersion) -> None:
    row = {"run_id": run.id, "version_id": version.id, "created_at": utcnow()}
    insert_ignoring_conflicts(session, RunInput, [row])


def consumers_of(session: Session, version: ArtifactVersion) -> list[Run]:
    query = (
        select(Run)
        .join(RunInput, col(RunInput.run_id) == col(Run.id))
        .where(RunInput.version_id == version.id)
        .order_by(col(Run.id))
    )
    return list(session.exec(query))


def artifacts_of(session: Session, run: Run, direction: str) -> list[ArtifactVersion]:
    if direction == "output":
        query = select(ArtifactVersion).where(ArtifactVersion.producer_run_id == run.id)
    elif direction == "input":
        query = (
            select(ArtifactVersion)
            .join(RunInput, col(RunInput.version_id) == col(ArtifactVersion.id))
            .where(RunInput.run_id == run.id)
        )
    else:
        raise InvalidInput(f"direction must be 'input' or 'output', not {direction!r}")
    return list(session.exec(query.order_by(col(ArtifactVersion.id))))


def runs_by_id(session: Session, ids: Iterable[int]) -> dict[int, Run]:
    return {run.id: run for run in session.exec(select(Run).where(col(Run.id).in_(list(ids))))}  # type: ignore[misc]
