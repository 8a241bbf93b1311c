"""`strata sync [PATH]`: upload what offline runs wrote (sdk.offline)."""

from dataclasses import asdict
from pathlib import Path

import click

from registry.cli.output import TerminalProgress, emit, fail_cleanly, json_option
from sdk.connection import default_connection
from sdk.offline.sync import SyncedRun
from sdk.offline.sync import sync as sync_offline
from sdk.settings import ClientSettings


@click.command("sync")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@json_option
@fail_cleanly
def sync(path: Path | None, as_json: bool) -> None:
    """Upload offline runs from PATH (default STRATA_OFFLINE_DIR): an offline directory
    or one run's folder. Safe to repeat: what was uploaded is not sent again."""
    if path is None:
        path = ClientSettings().offline_dir
        if not path.exists():
            emit(as_json, [], f"nothing to sync: {path} does not exist")
            return
    reports = sync_offline(
        path, default_connection(), lambda label: TerminalProgress(f"sync {label}")
    )
    emit(as_json, [asdict(r) for r in reports], "\n".join(map(_line, reports)) or "no runs")


def _line(report: SyncedRun) -> str:
    if report.up_to_date:
        return f"{report.path}: up to date"
    done = "synced" if report.complete else "synced so far (the run has not finished)"
    return (
        f"{report.path}: {done}; {report.metric_points} metric points, "
        f"{report.artifacts} artifacts, {report.inputs} inputs"
    )
