"""Periodic jobs run once per tick across every process, on SQLite and PostgreSQL; the
version-expiry job deletes what outlived its TTL and keeps what holds an alias."""

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session

from automations.models import ScheduledJob
from automations.scheduler import PeriodicJob, run_if_due
from registry.db import make_engine
from registry.migrate import upgrade
from registry.models import utcnow
from registry.services.expiry import expire_versions
from registry.settings import Settings
from tests.api.helpers import commit
from tests.conftest import Server
from tests.servers import start_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.db'}"
        return
    postgres = start_postgres()
    try:
        yield postgres.create_database()
    finally:
        postgres.stop()


def test_a_job_runs_once_per_tick_however_many_processes_poll(database_url: str) -> None:
    upgrade(Settings(database_url=database_url))
    ran: list[str] = []
    job = PeriodicJob("count", timedelta(hours=1), lambda _engine: ran.append("tick"))
    engines = [make_engine(database_url) for _ in range(6)]  # one per "process"
    start = threading.Barrier(len(engines))

    def poll(engine: Engine, owner: str) -> None:
        start.wait()
        for _ in range(5):
            run_if_due(engine, job, owner)

    pollers = [
        threading.Thread(target=poll, args=(engine, f"worker-{i}"))
        for i, engine in enumerate(engines)
    ]
    for thread in pollers:
        thread.start()
    for thread in pollers:
        thread.join(60)
    assert ran == ["tick"]  # 30 polls within the hour: one run

    with Session(engines[0]) as session:  # the hour has passed
        session.execute(update(ScheduledJob).values(next_run_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert [run_if_due(engine, job, "late") for engine in engines].count(True) == 1
    assert ran == ["tick", "tick"]
    for engine in engines:
        engine.dispose()


def test_a_failing_job_is_recorded_and_runs_again_next_tick(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    upgrade(Settings(database_url=url))
    engine = make_engine(url)

    def broken(_engine: Engine) -> None:
        raise RuntimeError("disk on fire")

    job = PeriodicJob("broken", timedelta(seconds=0), broken)
    assert run_if_due(engine, job, "w") and run_if_due(engine, job, "w")
    with Session(engine) as session:
        row = session.get(ScheduledJob, "broken")
        assert row is not None and row.last_error == "RuntimeError: disk on fire"
    engine.dispose()


def test_expiry_deletes_versions_past_their_ttl_but_not_those_holding_an_alias(
    fresh_server: Server, project: str
) -> None:
    with fresh_server.api() as api:
        short = commit(api, project, "data", {"a": b"short"}, ttl_seconds=60)["version"]
        kept = commit(api, project, "data", {"a": b"kept"}, ttl_seconds=60, aliases=["best"])
        forever = commit(api, project, "data", {"a": b"forever"})["version"]
        engine = make_engine(fresh_server.database_url)
        with Session(engine) as session:
            assert expire_versions(session, utcnow()) == 0  # not yet
            assert expire_versions(session, utcnow() + timedelta(seconds=61)) == 1
            session.commit()
        engine.dispose()
        listed = api.get(f"/projects/{project}/collections/data/versions").json()
        assert {v["version"] for v in listed} == {kept["version"]["version"], forever["version"]}
        assert short["version"] not in {v["version"] for v in listed}
        # `latest` still names the newest version left
        latest = api.get(f"/projects/{project}/collections/data/versions/latest").json()
        assert latest["version"] == forever["version"]


def test_the_service_runs_version_expiry_as_a_periodic_job(fresh_server: Server) -> None:
    """`strata serve` registers the job: its first tick is claimed and run at start."""
    row = fresh_server.wait_for_job_run("expire-versions")
    assert row.last_error == ""
    assert row.next_run_at > row.last_run_at
