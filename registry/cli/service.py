"""`strata serve`, `strata worker` and `strata migrate`."""

import click

from registry.cli.output import emit, fail_cleanly, json_option
from registry.settings import Settings


@click.command()
@fail_cleanly
def migrate() -> None:
    """Apply database migrations."""
    from registry.migrate import upgrade

    settings = Settings()
    upgrade(settings)
    click.echo(f"database at {settings.resolved_database_url} is up to date")


@click.command()
@click.option("--host", default=None, help="Listen address (STRATA_HOST).")
@click.option("--port", type=int, default=None, help="Listen port (STRATA_PORT).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="API processes sharing the port (STRATA_API_WORKERS, default 1).",
)
@fail_cleanly
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the API, migrating the database first."""
    import os

    from registry import serve as server
    from registry.migrate import upgrade

    settings = Settings()
    settings.host = host or settings.host
    settings.port = port or settings.port
    workers = workers or settings.api_workers
    # Processes started by uvicorn read their settings from the environment.
    os.environ["STRATA_HOST"], os.environ["STRATA_PORT"] = settings.host, str(settings.port)
    upgrade(settings)
    click.echo(
        f"Strata serving on http://{settings.host}:{settings.port} with {workers} API "
        f"process{'es' if workers > 1 else ''} (database {settings.resolved_database_url}, "
        f"blobs {settings.resolved_storage_url}); {_auth_state(settings)}"
    )
    server.run(settings, workers)


def _auth_state(settings: Settings) -> str:
    if settings.auth_enabled:
        return "auth on: every request but /healthz needs an API key (strata keys create)"
    if settings.auth is None:
        return "auth OFF (open to anyone who can connect; loopback only)"
    return "auth OFF (STRATA_AUTH=off): open to anyone who can connect"


@click.command()
@fail_cleanly
def worker() -> None:
    """Deliver automation events (no API): claims due deliveries until stopped."""
    import signal
    import threading

    from automations.scheduler import start_scheduler
    from automations.secrets import SecretBox
    from registry.db import make_engine
    from registry.main import make_worker, periodic_jobs
    from registry.migrate import upgrade

    settings = Settings()
    upgrade(settings)
    engine = make_engine(settings.resolved_database_url)
    delivery_worker = make_worker(settings, engine, SecretBox(settings.resolved_secret_key()))
    scheduler = start_scheduler(
        delivery_worker, settings.delivery_poll_seconds, periodic_jobs(settings)
    )
    click.echo(f"Strata worker {delivery_worker.name} (database {settings.resolved_database_url})")
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    scheduler.shutdown(wait=False)
    delivery_worker.close()
    engine.dispose()


@click.command()
@click.option("--dry-run", is_flag=True, help="Report what would be deleted; delete nothing.")
@json_option
@fail_cleanly
def gc(dry_run: bool, as_json: bool) -> None:
    """Delete blobs nothing references any more (after STRATA_GC_GRACE_SECONDS), from the
    database and blob store the service uses."""
    from dataclasses import asdict

    from registry.db import make_engine
    from registry.main import gc_cutoffs, make_blob_store
    from registry.migrate import upgrade
    from registry.services.gc import collect_garbage

    settings = Settings()
    upgrade(settings)
    engine = make_engine(settings.resolved_database_url)
    try:
        report = collect_garbage(
            engine, make_blob_store(settings), gc_cutoffs(settings), dry_run=dry_run
        )
    finally:
        engine.dispose()
    verb = "would delete" if dry_run else "deleted"
    emit(
        as_json,
        asdict(report),
        f"{verb} {report.deleted_blobs} blobs ({report.freed_bytes} bytes) and "
        f"{report.purged_versions} deleted versions, {report.purged_collections} deleted "
        f"collections; {report.unrecorded_objects} unrecorded "
        f"and {report.temporary_objects} temporary objects",
    )
