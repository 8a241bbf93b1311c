"""Distributed training: only rank 0 logs; the other ranks' runs send nothing at all."""

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import sdk
from sdk.errors import ValidationError

RANK_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "OMPI_COMM_WORLD_RANK")

# What every rank of the job runs: the same script, as torchrun starts it.
TRAIN = """
import json, os, sys
import sdk

rank = int(os.environ.get("RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")))
with sdk.init(project=sys.argv[1], name="ddp", config={"world": 4},
              all_ranks=sys.argv[2] == "all") as run:
    for step in range(3):
        run.log({"loss": 1.0 / (step + 1), "rank": rank})
    art = sdk.Artifact("ckpt", type="checkpoint")
    art.add_object({"rank": rank}, "state.json")
    run.log_artifact(art)
    run.link_model(sys.argv[0], "ddp-net")
    run.summary["rank"] = rank
    print(json.dumps({"is_main": run.is_main, "id": run.id}))
"""


class Recorder(ThreadingHTTPServer):
    """An HTTP server that only records what reaches it (and answers 404)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        super().__init__(("127.0.0.1", 0), _RecordingHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _RecordingHandler(BaseHTTPRequestHandler):
    server: Recorder

    def _record(self) -> None:
        self.server.requests.append(f"{self.command} {self.path}")
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"detail": "recorder"}')

    do_GET = do_POST = do_PATCH = do_PUT = _record

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def start_rank(
    script: Path, project: str, url: str, rank: int, mode: str = "main-only"
) -> subprocess.Popen[str]:
    """One process of a 4-process single-node torchrun job."""
    env = {k: v for k, v in os.environ.items() if k not in RANK_VARIABLES}
    env.update(
        STRATA_URL=url,
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        GROUP_RANK="0",
        WORLD_SIZE="4",
        LOCAL_WORLD_SIZE="4",
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT="29500",
        TORCHELASTIC_RUN_ID="test",
    )
    return subprocess.Popen(
        [sys.executable, str(script), project, mode],
        cwd=script.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def outcome(process: subprocess.Popen[str]) -> dict:
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    return json.loads(stdout)


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "train.py"
    path.write_text(TRAIN)
    return path


def test_a_four_process_job_makes_one_run(server, project, script):
    ranks = [start_rank(script, project, server.url, rank) for rank in range(4)]
    results = [outcome(process) for process in ranks]
    assert [r["is_main"] for r in results] == [True, False, False, False]

    api = sdk.Api()
    [run] = api.runs(project)
    assert run.id == results[0]["id"] and run.state == "finished"
    assert {p["value"] for p in run.history("rank")} == {0.0}
    assert len(run.history("loss")) == 3
    assert run.summary["rank"] == 0
    [checkpoint] = api.artifacts("checkpoint", f"{project}/ckpt")
    assert checkpoint.get("state.json") == {"rank": 0}


def test_other_ranks_make_no_network_calls(project, script, recorder):
    """Ranks 1-3 pointed at a server that records every request: none arrives."""
    ranks = [start_rank(script, project, recorder.url, rank) for rank in (1, 2, 3)]
    results = [outcome(process) for process in ranks]
    assert [r["is_main"] for r in results] == [False, False, False]
    assert recorder.requests == []

    # The recorder does see a rank that is told to log anyway.
    process = start_rank(script, project, recorder.url, 1, mode="all")
    process.communicate(timeout=120)
    assert process.returncode != 0
    assert recorder.requests == [f"POST /api/v1/projects/{project}/runs"]


def test_all_ranks_makes_a_run_per_rank(server, project, script):
    results = [outcome(start_rank(script, project, server.url, r, mode="all")) for r in (0, 2)]
    assert [r["is_main"] for r in results] == [True, True]
    runs = {run.id: run for run in sdk.Api().runs(project)}
    assert set(runs) == {r["id"] for r in results}
    assert sorted(run.summary["rank"] for run in runs.values()) == [0, 2]


@pytest.mark.parametrize(
    ("variables", "main"),
    [
        ({}, True),
        ({"RANK": "0", "LOCAL_RANK": "0"}, True),
        ({"LOCAL_RANK": "1"}, False),
        ({"RANK": "5", "LOCAL_RANK": "0"}, False),  # second node of a multi-node job
        ({"OMPI_COMM_WORLD_RANK": "2"}, False),
        ({"OMPI_COMM_WORLD_RANK": "0"}, True),
    ],
)
def test_the_launchers_rank_variables_decide(monkeypatch, project, variables, main):
    for name in RANK_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with sdk.init(project=project) as run:
        assert run.is_main is main
        assert isinstance(run, sdk.OtherRankRun) is not main


def test_a_malformed_rank_variable_is_refused(monkeypatch, project):
    monkeypatch.setenv("LOCAL_RANK", "one")
    with pytest.raises(ValidationError, match="LOCAL_RANK='one' is not a process rank"):
        sdk.init(project=project)


def test_another_rank_reads_artifacts_without_recording_lineage(monkeypatch, project):
    with sdk.init(project=project) as producer:
        data = sdk.Artifact("shards", type="dataset")
        data.add_object([1, 2, 3], "index.json")
        producer.log_artifact(data)

    monkeypatch.setenv("LOCAL_RANK", "3")
    with sdk.init(project=project, id="rank-3") as run:
        used = run.use_artifact(f"{project}/shards:latest")
        assert used.get("index.json") == [1, 2, 3]
        run.log({"loss": 1.0})
        with pytest.raises(ValidationError, match="metric 'loss' must be a number"):
            run.log({"loss": "high"})  # still checked on every rank
    assert run.state == "finished" and run.id == "rank-3"
    assert used.used_by() == []
    assert [r.id for r in sdk.Api().runs(project)] == [producer.id]
