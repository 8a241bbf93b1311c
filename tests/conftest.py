"""Fixtures: the real service under uvicorn on 127.0.0.1, a fresh home per server.

`--db=postgresql` runs the suite against PostgreSQL: one cluster for the session
(tests/servers.py) and a fresh database per STRATA_HOME, so a service started on a new
home sees an empty store as it does on SQLite, and one restarted on the same home finds
its rows again. `--db=sqlite` (the default) keeps each store in `$STRATA_HOME/registry.db`.
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

import sdk
from automations.models import ScheduledJob
from registry.db import make_engine, session_scope
from sdk.connection import Connection
from tests.servers import Postgres, start_postgres


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="database every service of the suite uses (default: sqlite)",
    )


class Databases:
    """The database of each STRATA_HOME the suite starts a service on."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self._postgres: Postgres | None = None
        self._urls: dict[Path, str] = {}

    def url(self, home: Path) -> str:
        """The SQLAlchemy URL of `home`'s database, created on first use."""
        if self.backend == "sqlite":
            return f"sqlite:///{home.resolve() / 'registry.db'}"
        if home not in self._urls:
            if self._postgres is None:
                self._postgres = start_postgres()
            self._urls[home] = self._postgres.create_database()
        return self._urls[home]

    def stop(self) -> None:
        if self._postgres is not None:
            self._postgres.stop()


databases = Databases("sqlite")


def pytest_configure(config: pytest.Config) -> None:
    databases.backend = config.getoption("--db")


def pytest_unconfigure(config: pytest.Config) -> None:
    databases.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    url: str
    home: Path
    process: subprocess.Popen[bytes]
    database_url: str

    @property
    def blob_dir(self) -> Path:
        return self.home / "blobs"

    def blob_files(self) -> list[Path]:
        """Published blobs in the store (temporary uploads excluded)."""
        return [
            p
            for p in self.blob_dir.rglob("*")
            if p.is_file() and p.relative_to(self.blob_dir).parts[0] != "tmp"
        ]

    def api(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=f"{self.url}/api/v1", timeout=30, **kwargs)  # type: ignore[arg-type]

    def wait_for_job_run(self, name: str, timeout: float = 60) -> ScheduledJob:
        """The periodic job `name` once the service has run it.

        Each poll reads in its own short read-only transaction: one held open across
        polls would see a stale snapshot, and on SQLite a writing one would block the
        very update it waits for."""
        engine = make_engine(self.database_url)
        deadline = time.monotonic() + timeout
        try:
            while True:
                with session_scope(engine, read_only=True) as session:
                    row = session.get(ScheduledJob, name)
                    if row is not None and row.last_run_at:
                        return row
                assert time.monotonic() < deadline, f"the job {name} never ran in {timeout:g} s"
                time.sleep(0.2)
        finally:
            engine.dispose()


def start_server(
    home: Path, env: dict[str, str] | None = None, timeout: float = 30, port: int | None = None
) -> Server:
    """`strata serve` on `home`, with the database `--db` gives that home, on `port` (a
    free one by default; pass a stopped server's port to restart it where clients know it)."""
    port = port or free_port()
    environment = {
        **os.environ,
        "STRATA_HOME": str(home),
        "STRATA_DATABASE_URL": databases.url(home),
        "STRATA_HOST": "127.0.0.1",
        "STRATA_PORT": str(port),
        **(env or {}),
    }
    log = open(home.parent / f"{home.name}.log", "ab")
    process = subprocess.Popen(
        [sys.executable, "-m", "registry", "serve"], env=environment, stdout=log, stderr=log
    )
    server = Server(
        url=f"http://127.0.0.1:{port}",
        home=home,
        process=process,
        database_url=environment["STRATA_DATABASE_URL"],
    )
    wait_healthy(server, timeout)
    return server


def wait_healthy(server: Server, timeout: float = 30) -> None:
    """Until /healthz answers; kills the process if it does not within `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            log = server.home.parent / f"{server.home.name}.log"
            raise RuntimeError(f"server exited: {log.read_text() if log.exists() else ''}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    server.process.kill()
    raise RuntimeError(f"server did not become healthy in {timeout:g} s")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One service for the whole session; tests isolate themselves by project name.
    Webhooks may target receivers on 127.0.0.1 (other private addresses stay refused)."""
    home = tmp_path_factory.mktemp("strata") / "home"
    srv = start_server(home, {"STRATA_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"})
    yield srv
    stop_server(srv)


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A service of its own, for tests that count what the store holds."""
    srv = start_server(tmp_path / "home")
    yield srv
    stop_server(srv)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """An empty database of the `--db` backend, for tests that migrate or read one
    without a service."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return databases.url(home)


@pytest.fixture
def project() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


@pytest.fixture(autouse=True)
def client_env(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point the SDK at the test's server with a cache of the test's own."""
    names = request.fixturenames
    srv = request.getfixturevalue("fresh_server" if "fresh_server" in names else "server")
    monkeypatch.setenv("STRATA_URL", srv.url)
    monkeypatch.setenv("STRATA_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("sdk.connection._default", None)
    if "project" in names:
        monkeypatch.setenv("STRATA_PROJECT", request.getfixturevalue("project"))


class RecordingProgress:
    """A `sdk.progress.Progress` that remembers what a transfer announced and did."""

    def __init__(self) -> None:
        self.total_bytes = 0
        self.total_files = 0
        self.bytes = 0
        self.files = 0

    def start(self, total_bytes: int, total_files: int) -> None:
        self.total_bytes += total_bytes
        self.total_files += total_files

    def advance(self, nbytes: int, nfiles: int) -> None:
        self.bytes += nbytes
        self.files += nfiles

    def finish(self) -> None:
        pass


@pytest.fixture
def connection() -> Connection:
    return Connection.create()


def make_tree(root: Path, files: dict[str, bytes]) -> Path:
    for relative, data in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


__all__ = ["RecordingProgress", "Server", "make_tree", "sdk"]
