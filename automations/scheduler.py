"""APScheduler drives the periodic jobs of `strata serve` and `strata worker`.

The jobs only poll; correctness comes from claims in the database, so a job that runs
late, twice, or in several processes at once does no harm.
"""

from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler

from automations.worker import DeliveryWorker


def start_scheduler(worker: DeliveryWorker, poll_seconds: float) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
    )
    scheduler.add_job(
        worker.tick,
        "interval",
        seconds=poll_seconds,
        id="deliveries",
        next_run_time=datetime.now(UTC),
    )
    scheduler.start()
    worker.listen()
    return scheduler
