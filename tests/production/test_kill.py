"""Crash safety: 4 processes log 200 versions through the real SDK while `strata serve`
is SIGKILLed and restarted 5 times at random moments. Afterwards every version a client
saw committed exists, downloads and verifies; no version is partial; version numbers
are unique and gap-free; no alias points at a version that is not committed; and the
`artifact.created` webhook of every committed version arrived at least once."""

import json
import os
import random
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from automations.schema import OnCreateArtifact, Scope, SendWebhook
from registry.db import make_engine
from tests.automations.conftest import BASE_ENV, Strata
from tests.automations.receiver import Receiver
from tests.conftest import Server, free_port, start_server, stop_server

WRITERS = 4
VERSIONS_EACH = 50
KILLS = 5
COLLECTION = "ckpt"

WRITER = textwrap.dedent(
    """
    import json, os, sys
    import sdk

    project, writer, count, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    with sdk.init(project=project, id=f"writer-{writer}", resume=True) as run:
        for n in range(count):
            path = os.path.join(work, f"{writer}-{n}.bin")
            with open(path, "wb") as handle:
                handle.write(os.urandom(2048) + f"{writer}/{n}".encode())
            art = sdk.Artifact("ckpt", type="model", metadata={"writer": writer, "n": n})
            art.add_file(path, name="weights.bin")
            with art.new_file("step.txt") as note:
                note.write(f"writer {writer} step {n}")
            run.log_artifact(art)
            print(json.dumps({"version": art.version, "digest": art.digest}), flush=True)
    """
)


def test_versions_and_events_survive_a_server_killed_five_times(tmp_path: Path) -> None:
    receiver = Receiver()
    home = tmp_path / "home"
    port = free_port()
    env = {**BASE_ENV, "STRATA_DELIVERY_LEASE_SECONDS": "2"}
    server = start_server(home, env, port=port)
    project = f"p-{uuid.uuid4().hex[:8]}"
    try:
        strata = Strata(server)
        hook = strata.webhook(receiver.url)
        trigger = OnCreateArtifact(scope=Scope(type="project", name=project))
        payload = {"version": "${artifact_version}", "digest": "${artifact_digest}"}
        strata.automation(trigger >> SendWebhook(integration=hook, payload=payload))
        strata.close()

        writers, outputs = start_writers(tmp_path, server.url, project)
        server = kill_and_restart(server, home, env, port, outputs)
        for writer in writers:
            assert writer.wait(600) == 0, (tmp_path / "writers.log").read_text()[-3000:]

        seen = [json.loads(line) for out in outputs for line in out.read_text().splitlines()]
        assert len(seen) == WRITERS * VERSIONS_EACH
        check_versions(server, project, seen, tmp_path)
        check_no_orphan_alias(server)
        check_events_delivered(receiver, {v["version"] for v in seen})
    finally:
        stop_server(server)
        receiver.close()


def start_writers(
    tmp_path: Path, url: str, project: str
) -> tuple[list[subprocess.Popen[bytes]], list[Path]]:
    env = {
        **os.environ,
        "STRATA_URL": url,
        "STRATA_CACHE_DIR": str(tmp_path / "cache"),
        # Longer than any restart on a loaded machine.
        "STRATA_RETRY_SECONDS": "180",
    }
    log = open(tmp_path / "writers.log", "ab")
    writers, outputs = [], []
    for i in range(WRITERS):
        work = tmp_path / f"work-{i}"
        work.mkdir()
        outputs.append(tmp_path / f"writer-{i}.jsonl")
        command = [sys.executable, "-c", WRITER, project, str(i), str(VERSIONS_EACH), str(work)]
        with open(outputs[-1], "wb") as out:
            writers.append(subprocess.Popen(command, env=env, stdout=out, stderr=log))
    return writers, outputs


def committed_so_far(outputs: list[Path]) -> int:
    return sum(len(out.read_bytes().splitlines()) for out in outputs if out.exists())


def kill_and_restart(
    server: Server, home: Path, env: dict[str, str], port: int, outputs: list[Path]
) -> Server:
    """SIGKILL the server once the writers have committed each of 5 random counts (plus
    a random delay, so a kill lands anywhere in a request), restarting it each time."""
    total = WRITERS * VERSIONS_EACH
    rng = random.Random()
    moments = sorted(rng.sample(range(5, total - 20), KILLS))
    for moment in moments:
        deadline = time.monotonic() + 300
        while committed_so_far(outputs) < moment:
            assert time.monotonic() < deadline, "the writers stopped making progress"
            time.sleep(0.02)
        time.sleep(rng.uniform(0, 0.3))
        server.process.kill()
        server.process.wait()
        server = start_server(home, env, timeout=120, port=port)
    return server


def check_versions(server: Server, project: str, seen: list[dict[str, str]], tmp: Path) -> None:
    import sdk

    indexes = [int(v["version"][1:]) for v in seen]
    assert len(set(indexes)) == len(indexes), "a version number was handed out twice"
    with server.api() as api:
        listed = api.get(
            f"/projects/{project}/collections/{COLLECTION}/versions", params={"limit": 1000}
        ).json()
    # Every commit a client saw, and nothing else: a retried commit made no duplicate.
    assert sorted(int(v["version"][1:]) for v in listed) == list(range(len(seen)))
    by_version = {v["version"]: v for v in listed}
    api_client = sdk.Api(url=server.url)
    for record in seen:
        assert by_version[record["version"]]["digest"] == record["digest"]
        art = api_client.artifact(f"{project}/{COLLECTION}:{record['version']}")
        root = art.download(tmp / "downloads" / record["version"])
        art.verify(root)
    engine = make_engine(server.database_url)
    with engine.connect() as conn:
        states = conn.execute(text("SELECT DISTINCT state FROM artifact_version")).scalars()
        assert set(states) == {"COMMITTED"}
        missing_manifests = conn.execute(
            text(
                "SELECT count(*) FROM artifact_version v WHERE NOT EXISTS "
                "(SELECT 1 FROM blob b WHERE b.digest = v.manifest_digest)"
            )
        ).scalar()
        assert missing_manifests == 0
    engine.dispose()


def check_no_orphan_alias(server: Server) -> None:
    engine = make_engine(server.database_url)
    with engine.connect() as conn:
        orphans = conn.execute(
            text(
                "SELECT a.name FROM alias a LEFT JOIN artifact_version v ON v.id = a.version_id "
                "WHERE v.id IS NULL OR v.state <> 'COMMITTED' OR v.collection_id <> a.collection_id"
            )
        ).all()
        assert orphans == []
        latest = conn.execute(
            text(
                'SELECT v."index" FROM alias a JOIN artifact_version v ON v.id = a.version_id '
                "WHERE a.name = 'latest' AND v.collection_id IN "
                "(SELECT id FROM artifact_collection WHERE name = :c)"
            ),
            {"c": COLLECTION},
        ).scalar()
        assert latest == WRITERS * VERSIONS_EACH - 1
    engine.dispose()


def check_events_delivered(receiver: Receiver, versions: set[str]) -> None:
    deadline = time.monotonic() + 120
    while True:
        delivered = {r.json()["version"] for r in list(receiver.requests)}
        if versions <= delivered or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert versions - delivered == set(), sorted(versions - delivered)[:10]
