"""Runs: the list of a project's, and one run with its config, summary, metric charts,
inputs, outputs and lineage."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from registry.api.deps import ReadSessionDep
from registry.services import runs
from registry.views import runs_public, versions_public
from registry.web import charts, links
from registry.web.forms import parse_offset
from registry.web.lineage_page import lineage_response
from registry.web.rendering import PageRoute, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE = 50


@router.get("/projects/{project}/runs", response_class=HTMLResponse)
def runs_page(
    request: Request, project: str, session: ReadSessionDep, offset: str = "0"
) -> HTMLResponse:
    first = parse_offset(offset)
    rows = runs.list_runs(session, project, offset=first, limit=PAGE + 1)
    return render(
        request,
        "runs.html",
        project=project,
        runs=runs_public(session, rows[:PAGE]),
        offset=first,
        page=PAGE,
        more=len(rows) > PAGE,
    )


@router.get("/projects/{project}/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, project: str, run_id: str, session: ReadSessionDep) -> HTMLResponse:
    row = runs.get_run(session, project, run_id)
    return render(
        request,
        "run.html",
        run=runs_public(session, [row])[0],
        charts=charts.charts(runs.metric_series(session, row)),
        inputs=versions_public(session, runs.artifacts_of(session, row, "input")),
        outputs=versions_public(session, runs.artifacts_of(session, row, "output")),
    )


@router.get("/projects/{project}/runs/{run_id}/lineage", response_class=HTMLResponse)
def run_lineage_page(
    request: Request,
    project: str,
    run_id: str,
    session: ReadSessionDep,
    direction: str = "both",
    depth: str = "2",
) -> HTMLResponse:
    row = runs.get_run(session, project, run_id)
    return lineage_response(
        request,
        session,
        ("run", row.id),  # type: ignore[arg-type]
        title=f"run {row.name or row.run_id}",
        back_url=links.run_url(project, run_id),
        direction=direction,
        depth=depth,
    )
