"""Runs: start or resume, update, metric history, and lineage."""

import math
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import Field

from registry.api.bodies import METRIC_BATCH_OPENAPI, MetricBatchBody
from registry.api.deps import ReadSessionDep, SessionDep
from registry.db import MAX_INT64
from registry.errors import InvalidInput
from registry.schemas import (
    LineagePublic,
    MetricPoint,
    RunCreate,
    RunInputCreate,
    RunPublic,
    RunStarted,
    RunUpdate,
    VersionPublic,
)
from registry.services import runs
from registry.services.collections import CollectionRef
from registry.services.lineage import Direction, check_no_cycle, lineage, source_of
from registry.services.versions import resolve_version
from registry.views import lineage_public, runs_public, versions_public

router = APIRouter(prefix="/projects/{project}/runs", tags=["runs"])


@router.post("", status_code=201)
def start_run(project: str, body: RunCreate, session: SessionDep) -> RunStarted:
    run, resumed = runs.start_run(
        session,
        project,
        run_id=body.id,
        name=body.name,
        job_type=body.job_type,
        config=body.config,
        tags=body.tags,
        resume=body.resume,
        created_at=body.created_at,
    )
    session.flush()
    return RunStarted(
        run=runs_public(session, [run])[0], resumed=resumed, next_step=runs.next_step(session, run)
    )


@router.get("")
def list_runs(
    project: str,
    session: ReadSessionDep,
    offset: Annotated[int, Query(ge=0, le=MAX_INT64)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RunPublic]:
    return runs_public(session, runs.list_runs(session, project, offset=offset, limit=limit))


@router.get("/{run_id}")
def get_run(project: str, run_id: str, session: ReadSessionDep) -> RunPublic:
    return runs_public(session, [runs.get_run(session, project, run_id)])[0]


@router.patch("/{run_id}")
def update_run(project: str, run_id: str, body: RunUpdate, session: SessionDep) -> RunPublic:
    run = runs.get_run(session, project, run_id)
    runs.update_run(
        session,
        run,
        name=body.name,
        config=body.config,
        summary=body.summary,
        tags=body.tags,
        state=body.state,
    )
    session.flush()
    return runs_public(session, [run])[0]


@router.post("/{run_id}/metrics", status_code=204, openapi_extra=METRIC_BATCH_OPENAPI)
def log_metrics(project: str, run_id: str, body: MetricBatchBody, session: SessionDep) -> None:
    run = runs.get_run(session, project, run_id)
    runs.log_metrics(session, run, body["points"])


@router.get("/{run_id}/metrics")
def metric_history(
    project: str,
    run_id: str,
    session: ReadSessionDep,
    key: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=256)]] | None,
        Query(description="repeat for several keys"),
    ] = None,
) -> list[MetricPoint]:
    run = runs.get_run(session, project, run_id)
    return [
        {
            "key": m.key,
            "step": m.step,
            "value": math.nan if m.value is None else m.value,
            "timestamp": m.timestamp,
        }
        for m in runs.metric_history(session, run, key)
    ]


@router.post("/{run_id}/inputs", status_code=201)
def use_artifact(
    project: str, run_id: str, body: RunInputCreate, session: SessionDep
) -> VersionPublic:
    """Record that the run used a version (lineage: run --uses--> version)."""
    run = runs.get_run(session, project, run_id)
    if (body.project is None) == (body.registry is None):
        raise InvalidInput("name exactly one of project or registry for the version used")
    ref = CollectionRef(name=body.collection, project=body.project, registry=body.registry)
    _, version = resolve_version(session, ref, body.version)
    # A registry link stands for its source, so lineage records the project version.
    source = source_of(session, version)
    check_no_cycle(session, run, source)
    runs.record_input(session, run, source)
    return versions_public(session, [version])[0]


@router.get("/{run_id}/lineage")
def run_lineage(
    project: str,
    run_id: str,
    session: ReadSessionDep,
    direction: Direction = "both",
    depth: Annotated[int | None, Query(ge=0, le=10_000)] = None,
) -> LineagePublic:
    run = runs.get_run(session, project, run_id)
    root = ("run", run.id)
    return lineage_public(session, root, lineage(session, root, direction, depth))  # type: ignore[arg-type]


@router.get("/{run_id}/artifacts")
def run_artifacts(
    project: str, run_id: str, session: ReadSessionDep, direction: str = "output"
) -> list[VersionPublic]:
    run = runs.get_run(session, project, run_id)
    return versions_public(session, runs.artifacts_of(session, run, direction))
