"""Several API processes and workers over one PostgreSQL: concurrent alias moves through
2 API processes are each delivered exactly once by 3 `strata worker` processes, and a
worker killed mid-run loses nothing (its leased deliveries are taken over once the lease
expires). The cluster is this test's own, whatever `--db` says."""

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.automations.conftest import BASE_ENV, Strata
from tests.automations.receiver import Receiver, Reply
from tests.conftest import Server, start_server, stop_server
from tests.servers import Postgres, start_postgres

PORTFOLIOS = 8
MOVES = 2_000  # alias events with every worker alive
MOVES_WITH_A_KILL = 400
LEASE_SECONDS = 3


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    cluster = start_postgres()
    yield cluster
    cluster.stop()


class Stack:
    """2 API processes (no in-process worker) and 3 workers sharing a database and a
    blob folder."""

    def __init__(self, root: Path, database_url: str) -> None:
        self.database_url = database_url
        self.env = {
            **BASE_ENV,
            "STRATA_DATABASE_URL": database_url,
            "STRATA_STORAGE_URL": f"file://{root / 'blobs'}",
            "STRATA_DELIVERY_LEASE_SECONDS": str(LEASE_SECONDS),
            "STRATA_DELIVERY_POLL_SECONDS": "0.5",
        }
        self.apis: list[Server] = [
            start_server(root / f"api-{i}", {**self.env, "STRATA_SERVE_WORKER": "false"})
            for i in range(2)
        ]
        self.workers = [self._worker(root, i) for i in range(3)]

    def _worker(self, root: Path, i: int) -> subprocess.Popen[bytes]:
        log = open(root / f"worker-{i}.log", "wb")
        env = {**os.environ, **self.env, "STRATA_HOME": str(root / f"worker-{i}")}
        command = [sys.executable, "-m", "registry", "worker"]
        return subprocess.Popen(command, env=env, stdout=log, stderr=log)

    def close(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
        for api in self.apis:
            stop_server(api)

    def _query(self, sql: str, *params: object) -> list[tuple[object, ...]]:
        url = self.database_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(url) as conn:
            return conn.execute(sql, params).fetchall()

    def delivery_counts(self, automation: str) -> Counter[str]:
        rows = self._query(
            "SELECT d.status, count(*) FROM delivery d JOIN automation a "
            "ON a.id = d.automation_id WHERE a.name = %s GROUP BY d.status",
            automation,
        )
        return Counter({str(status): int(count) for status, count in rows})  # type: ignore[call-overload]

    def leased_by(self, pid: int) -> int:
        """Deliveries still leased by the worker process `pid` (named host:pid:random)."""
        rows = self._query(
            "SELECT count(*) FROM delivery WHERE status = 'delivering' AND lease_owner LIKE %s",
            f"%:{pid}:%",
        )
        return int(rows[0][0])  # type: ignore[call-overload]


def move_concurrently(clients: list[Strata], registry: str, moves: int) -> None:
    """`moves` real moves of `production`, one thread per portfolio, alternating the API
    process of each request."""

    def mover(portfolio: int) -> None:
        apis = itertools.cycle(clients)
        for n in range(moves // PORTFOLIOS):
            next(apis).move_alias(registry, f"x{portfolio}", "production", f"v{n % 2}")

    threads = [threading.Thread(target=mover, args=(p,)) for p in range(PORTFOLIOS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)


def wait_distinct(receiver: Receiver, n: int, timeout: float) -> dict[str, int]:
    """Until `n` distinct webhook-ids arrived; returns how often each did."""
    deadline = time.monotonic() + timeout
    while True:
        seen = Counter(r.headers["webhook-id"] for r in list(receiver.requests))
        if len(seen) >= n or time.monotonic() > deadline:
            return dict(seen)
        time.sleep(0.1)


def test_two_apis_and_three_workers_deliver_every_event_once(
    tmp_path: Path, postgres: Postgres
) -> None:
    receiver = Receiver()
    receiver.always(Reply(200, delay=0.01))  # sends overlap, so a kill finds some in flight
    stack = Stack(tmp_path, postgres.create_database())
    clients = [Strata(api) for api in stack.apis]
    try:
        first = clients[0]
        registry = first.registry()
        project = f"p-{uuid.uuid4().hex[:8]}"
        for p in range(PORTFOLIOS):
            for v in range(2):
                first.commit_model(project, f"c{p}", f"weights {p} {v}")
                first.link(registry, f"x{p}", project, f"c{p}", f"v{v}")
        automation = first.on_alias(registry, first.webhook(receiver.url))

        # Every worker alive: each event reaches the receiver exactly once.
        move_concurrently(clients, registry, MOVES)
        seen = wait_distinct(receiver, MOVES, timeout=180)
        time.sleep(LEASE_SECONDS + 1)  # a duplicate would come from an expired lease
        seen = Counter(r.headers["webhook-id"] for r in list(receiver.requests))
        assert len(seen) == MOVES
        assert set(seen.values()) == {1}, [i for i, n in seen.items() if n > 1][:5]
        assert stack.delivery_counts(automation) == {"delivered": MOVES}

        # A worker SIGKILLed mid-run, holding leases on sends in flight: nothing is lost.
        receiver.always(Reply(200, delay=0.5))
        mover = threading.Thread(
            target=move_concurrently, args=(clients, registry, MOVES_WITH_A_KILL)
        )
        mover.start()
        while receiver.count < MOVES + MOVES_WITH_A_KILL // 4:
            time.sleep(0.01)
        victim = stack.workers[0]
        victim.kill()
        victim.wait()
        assert stack.leased_by(victim.pid) > 0  # the takeover below is exercised
        mover.join(300)
        total = MOVES + MOVES_WITH_A_KILL
        seen = wait_distinct(receiver, total, timeout=60 + LEASE_SECONDS)
        assert len(seen) == total
        # Sends the victim made but could not record are made again once its leases end.
        deadline = time.monotonic() + 30 + LEASE_SECONDS
        while stack.delivery_counts(automation) != {"delivered": total}:
            assert time.monotonic() < deadline, stack.delivery_counts(automation)
            time.sleep(0.2)
        seen = Counter(r.headers["webhook-id"] for r in list(receiver.requests))
        # Sent twice at most: by the killed worker and by the one that took its lease over.
        assert max(seen.values()) <= 2
    finally:
        for client in clients:
            client.close()
        stack.close()
        receiver.close()
