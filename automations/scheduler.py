"""APScheduler drives the periodic jobs of `strata serve` and `strata worker`.

The jobs only poll; correctness comes from claims in the database, so a job that runs
late, twice, or in several processes at once does no harm:
- the delivery poll claims due deliveries row by row (automations/delivery.py);
- a `PeriodicJob` (version expiry, ...) runs once per tick across all processes: each
  process tries to move the job's `next_run_at` from the past to the next tick in one
  conditional UPDATE, and only the one whose update matched runs the job.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col

from automations.clock import utcnow
from automations.models import ScheduledJob
from automations.worker import DeliveryWorker

log = logging.getLogger("strata.scheduler")


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: timedelta
    run: Callable[[Engine], object]  # opens and commits its own sessions


def start_scheduler(
    worker: DeliveryWorker, poll_seconds: float, jobs: Sequence[PeriodicJob] = ()
) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    now = datetime.now(UTC)
    scheduler.add_job(
        worker.tick, "interval", seconds=poll_seconds, id="deliveries", next_run_time=now
    )
    for job in jobs:
        scheduler.add_job(
            run_if_due,
            "interval",
            args=(worker.engine, job, worker.name),
            seconds=min(poll_seconds, job.every.total_seconds()),
            id=f"job:{job.name}",
            next_run_time=now,
        )
    scheduler.start()
    worker.listen()
    return scheduler


def run_if_due(engine: Engine, job: PeriodicJob, owner: str) -> bool:
    """Run `job` if this process claims its current tick; True if it ran."""
    if not _claim_tick(engine, job, owner):
        return False
    error = ""
    try:
        job.run(engine)
    except Exception as exc:  # recorded; the next tick tries again
        log.exception("periodic job %s failed", job.name)
        error = f"{type(exc).__name__}: {exc}"[:2000]
    with Session(engine) as session:
        session.execute(
            update(ScheduledJob).where(col(ScheduledJob.name) == job.name).values(last_error=error)
        )
        session.commit()
    return True


def _claim_tick(engine: Engine, job: PeriodicJob, owner: str) -> bool:
    now = utcnow()
    with Session(engine) as session:
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        session.execute(
            dialect.insert(ScheduledJob)
            .values(name=job.name, next_run_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        claimed = session.execute(
            update(ScheduledJob)
            .where(col(ScheduledJob.name) == job.name, col(ScheduledJob.next_run_at) <= now)
            .values(next_run_at=now + job.every, last_run_at=now, last_owner=owner)
        )
        session.commit()
    return bool(claimed.rowcount)  # type: ignore[attr-defined]
