"""`strata serve --workers N`: several API processes share the port, and a client
reusing one keep-alive connection is answered without the ~40 ms Nagle stall, on
uvloop (the default when installed) and on asyncio's own event loop."""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import (
    Server,
    databases,
    free_port,
    start_server,
    stop_server,
    wait_healthy,
)

STALL_MS = 40


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def keep_alive_timings(url: str, requests: int = 40) -> list[float]:
    with httpx.Client(base_url=url, timeout=10) as client:
        for _ in range(6):  # reach both processes' routes once
            client.get("/api/v1/projects")
        timings = []
        for _ in range(requests):
            started = time.perf_counter()
            assert client.get("/api/v1/projects").status_code == 200
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def assert_no_stall(timings: list[float]) -> None:
    # With the stall nearly every request on a reused connection takes >= 40 ms.
    assert statistics.median(timings) < STALL_MS / 2, timings
    assert sum(t >= STALL_MS for t in timings) <= len(timings) // 10, timings


def test_strata_serve_with_two_api_processes(tmp_path: Path) -> None:
    server = start_server(tmp_path / "home", {"STRATA_API_WORKERS": "2"}, timeout=90)
    try:
        assert len(children_of(server.process.pid)) >= 2  # uvicorn's API processes
        assert_no_stall(keep_alive_timings(server.url))
    finally:
        stop_server(server)


def test_no_stall_on_asyncio_event_loop_either(tmp_path: Path) -> None:
    """The same options `strata serve --workers 2` passes to uvicorn, on the event loop
    that does not set TCP_NODELAY by itself."""
    port = free_port()
    home = tmp_path / "home"
    env = {
        **os.environ,
        "STRATA_HOME": str(home),
        "STRATA_PORT": str(port),
        "STRATA_DATABASE_URL": databases.url(home),
    }
    subprocess.run([sys.executable, "-m", "registry", "migrate"], env=env, check=True)
    script = (
        "import uvicorn\n"
        "from registry.serve import uvicorn_options\n"
        "from registry.settings import Settings\n"
        "uvicorn.run('registry.main:create_app', factory=True, workers=2, "
        "loop='asyncio', **uvicorn_options(Settings()))\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], env=env)
    server = Server(f"http://127.0.0.1:{port}", home, process, env["STRATA_DATABASE_URL"])
    try:
        wait_healthy(server, timeout=90)
        assert_no_stall(keep_alive_timings(server.url))
    finally:
        stop_server(server)
