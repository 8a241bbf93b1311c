"""Alias moves racing: 8 processes move `prod` 500 times each while an observer polls.
Every observation finds exactly one holder; the alias ends where the last committed
move put it; every move is one `alias.added` event, and the events chain (each leaves
the version the previous one reached).

Process i alternates between its own two versions, 2i and 2i+1: whatever the others
do, each of its moves changes the holder (the alias is either at another process's
version or at its own other one), so each move must give exactly one event."""

import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from registry.db import make_engine
from tests.api.helpers import collection_url, commit
from tests.conftest import Server, start_server, stop_server

MOVERS = 8
MOVES_EACH = 500
ALIAS = "prod"
START = f"v{2 * MOVERS}"

MOVER = textwrap.dedent(
    """
    import sys
    import httpx

    url, mover, moves = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    with httpx.Client(base_url=url, timeout=60) as http:
        for n in range(moves):
            target = f"v{2 * mover + n % 2}"
            response = http.put("/aliases/prod", json={"version": target})
            assert response.status_code == 200, response.text
            assert response.json()["version"] == target
    """
)


@pytest.fixture
def race_server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "home")
    yield srv
    stop_server(srv)


def test_eight_processes_moving_one_alias_leave_one_holder_and_one_event_per_move(
    race_server: Server, tmp_path: Path
) -> None:
    project = f"p-{uuid.uuid4().hex[:8]}"
    url = collection_url(project, "model")
    with race_server.api() as api:
        # The movers' versions, then one none of them targets: the alias starts there,
        # so even the very first move changes the holder.
        for i in range(2 * MOVERS + 1):
            commit(api, project, "model", {"w.bin": f"weights {i}".encode()})
        assert api.put(f"{url}/aliases/{ALIAS}", json={"version": START}).status_code == 200

    observations: list[int] = []
    stop = threading.Event()

    def observe() -> None:
        with race_server.api() as api:
            while not stop.is_set():
                listed = api.get(f"{url}/versions", params={"limit": 100}).json()
                observations.append(sum(ALIAS in v["aliases"] for v in listed))

    observer = threading.Thread(target=observe)
    observer.start()
    log = open(tmp_path / "movers.log", "wb")
    base = f"{race_server.url}/api/v1{url}"
    movers = [
        subprocess.Popen(
            [sys.executable, "-c", MOVER, base, str(i), str(MOVES_EACH)], stdout=log, stderr=log
        )
        for i in range(MOVERS)
    ]
    started = time.monotonic()
    try:
        codes = [mover.wait(600) for mover in movers]
    finally:
        stop.set()
        observer.join(60)
    assert codes == [0] * MOVERS, (tmp_path / "movers.log").read_text()[-2000:]
    elapsed = time.monotonic() - started
    assert len(observations) > 10, "the observer saw too little of the race"
    assert set(observations) == {1}, sorted(set(observations))

    events = alias_events(race_server, project)
    assert len(events) == 1 + MOVERS * MOVES_EACH  # the first placement, then every move
    assert events[0] == (None, START)
    for (_, reached), (left, _) in zip(events, events[1:], strict=False):
        assert left == reached, "an alias event does not leave where the previous one went"
    with race_server.api() as api:
        holder = api.get(f"{url}/versions/{ALIAS}").json()["version"]
    assert holder == events[-1][1]
    print(f"{MOVERS * MOVES_EACH} moves in {elapsed:.1f} s, {len(observations)} observations")


def alias_events(server: Server, project: str) -> list[tuple[str | None, str]]:
    """(version left, version reached) of each `prod` event, in commit order."""
    import json

    engine = make_engine(server.database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT variables FROM event WHERE type = 'alias.added' ORDER BY id")
        ).scalars()
        found = []
        for row in rows:
            variables = json.loads(row) if isinstance(row, str) else row
            if variables["project_name"] == project and variables["alias"] == ALIAS:
                found.append((variables["previous_version"], variables["artifact_version"]))
    engine.dispose()
    return found
