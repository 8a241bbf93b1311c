"""Offline mode and `strata sync`, against the real service.

Runs are logged in a subprocess whose STRATA_URL is a closed port and whose audit hook
fails any socket connection, before the service is even started; `strata sync` (the CLI,
as a user runs it) then uploads them. Interrupted syncs are cut short for real: the CLI
is killed, or the service is killed under it.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from math import inf
from pathlib import Path
from typing import Any

import httpx
import pytest
import xxhash

import sdk
from sdk.errors import OfflineError
from tests.conftest import Server, free_port, make_tree, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024

# Prepended to every offline script: any attempt to reach the network fails the script.
NO_NETWORK = """
import sys

def _no_network(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname"):
        print(f"network attempt: {event} {args!r}", file=sys.stderr)
        raise RuntimeError(f"offline mode reached for the network: {event}")

sys.addaudithook(_no_network)
"""


# ---- helpers -----------------------------------------------------------------------------


def run_offline(script: str, cwd: Path, offline_dir: Path, timeout: float = 120) -> Any:
    """Run `script` with STRATA_MODE=offline, the server URL a closed port and the
    network forbidden; returns the JSON the script prints last."""
    env = {
        **os.environ,
        "STRATA_MODE": "offline",
        "STRATA_OFFLINE_DIR": str(offline_dir),
        "STRATA_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "PYTHONPATH": str(ROOT),  # this tree's sdk, whatever the folder it runs in
    }
    cwd.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-c", NO_NETWORK + textwrap.dedent(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,  # nothing may block on a server that is not there
    )
    assert result.returncode == 0, result.stderr
    assert "network attempt" not in result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def strata_sync(
    server: Server, *args: str, cwd: Path = ROOT, url: str | None = None
) -> subprocess.Popen[str]:
    """`strata sync` as a user runs it, against `server` (reached at `url`, if given)."""
    return subprocess.Popen(
        [sys.executable, "-m", "registry", "sync", *args],
        cwd=cwd,
        env={**os.environ, "STRATA_URL": url or server.url, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def sync_ok(server: Server, *args: str, url: str | None = None) -> Any:
    process = strata_sync(server, *args, "--json", url=url)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, (out, err)
    return json.loads(out)


def moment(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def body_bytes(server: Server) -> dict[str, float]:
    """Request body bytes the service received so far, per API resource."""
    text = httpx.get(f"{server.url}/metrics").text
    pattern = r'strata_request_body_bytes_total\{resource="([^"]+)"\} ([\d.e+]+)'
    return {resource: float(value) for resource, value in re.findall(pattern, text)}


def snapshot(server: Server, project: str) -> dict[str, Any]:
    """Everything the service holds for `project`: runs, metric points, versions with
    aliases and tags, lineage both ways, and the blob store's files."""
    with server.api() as api:
        runs = api.get(f"/projects/{project}/runs").json()
        run_urls = {run["id"]: f"/projects/{project}/runs/{run['id']}" for run in runs}
        collections = api.get(f"/projects/{project}/collections").json()
        versions = {
            c["name"]: api.get(f"/projects/{project}/collections/{c['name']}/versions").json()
            for c in collections
        }
        return {
            "runs": runs,
            "metrics": {i: api.get(f"{url}/metrics").json() for i, url in run_urls.items()},
            "inputs": {
                i: api.get(f"{url}/artifacts", params={"direction": "input"}).json()
                for i, url in run_urls.items()
            },
            "outputs": {
                i: api.get(f"{url}/artifacts", params={"direction": "output"}).json()
                for i, url in run_urls.items()
            },
            "collections": collections,
            "versions": versions,
            "blobs": sorted(str(p) for p in server.blob_files()),
        }


def without_updated_at(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_updated_at(v) for k, v in value.items() if k != "updated_at"}
    if isinstance(value, list):
        return [without_updated_at(v) for v in value]
    return value


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def server_home(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start the service later in the test (after logging offline), on one home;
    a restart on the same port finds its rows and blobs again."""
    started: list[Server] = []

    def start(port: int | None = None) -> Server:
        srv = start_server(tmp_path / "home", port=port)
        started.append(srv)
        return srv

    yield start
    for srv in started:
        stop_server(srv)


# ---- the full round trip ---------------------------------------------------------------

STEPS = 500
TRAIN_AND_EVAL = """
import json, pathlib, sdk

class Stop(Exception):
    pass

data = pathlib.Path("data")
with sdk.init(project=PROJECT, name="train", job_type="train", config={"lr": 0.1,
              "layers": [64, 32]}, tags=["offline"]) as train:
    for step in range(STEPS):
        train.log({"loss": 1.0 / (step + 1), "acc": step / STEPS}, step=step)
    dataset = sdk.Artifact("mnist", type="dataset", metadata={"rows": 3},
                           description="digits")
    dataset.add_dir(data)
    train.log_artifact(dataset, aliases=["best"], tags=["raw"])
    train.log_artifact(dataset)  # the same content again: still one version
    net = train.log_model(str(data / "weights.bin"), name="net", aliases=["candidate"])
try:
    with sdk.init(project=PROJECT, name="eval", job_type="eval") as evaluation:
        evaluation.use_artifact(dataset)
        evaluation.use_artifact(net, type="model")
        evaluation.log({"score": 0.5}, step=0)
        report = sdk.Artifact("report", type="report")
        with report.new_file("report.txt", mode="w") as f:
            f.write("all good")
        evaluation.log_artifact(report)
        raise Stop("evaluation crashed")
except Stop:
    pass
print(json.dumps({"train": train.id, "eval": evaluation.id,
                  "folders": [str(train.offline_dir), str(evaluation.offline_dir)]}))
"""


@pytest.fixture
def offline_files() -> dict[str, bytes]:
    return {
        "a.txt": b"same bytes",
        "copies/b.txt": b"same bytes",  # equal content: stored once
        "big.bin": os.urandom(3 * MiB),  # above the batch limit: streamed on its own
        "weights.bin": b"w" * 1000,  # also the model's single file
    }


def test_offline_runs_sync_later_exactly_once(
    tmp_path, server_home, project, offline_files, monkeypatch
):
    work, offline = tmp_path / "work", tmp_path / "offline"
    make_tree(work / "data", offline_files)
    logging_started = datetime.now(UTC)
    logged = run_offline(
        f"PROJECT = {project!r}\nSTEPS = {STEPS}\n" + textwrap.dedent(TRAIN_AND_EVAL),
        work,
        offline,
    )
    logging_ended = datetime.now(UTC)
    train_dir, eval_dir = map(Path, logged["folders"])

    # The offline directory holds each distinct content once, named by its digest, and
    # besides those only the runs' own files.
    blobs = [p for p in (offline / "blobs").rglob("*") if p.is_file()]
    contents = [p.read_bytes() for p in blobs]
    assert all(xxhash.xxh3_128_hexdigest(c) == p.name for p, c in zip(blobs, contents, strict=True))
    assert len(set(contents)) == len(contents)
    for data in offline_files.values():
        assert contents.count(data) == 1
    assert b"all good" in contents
    others = {
        p.relative_to(offline).as_posix()
        for p in offline.rglob("*")
        if p.is_file() and p.parent.parent != offline / "blobs"
    }
    run_files = ("run.json", "metrics.jsonl", "records.jsonl")
    assert others == {
        f"runs/{folder.name}/{name}" for folder in (train_dir, eval_dir) for name in run_files
    }

    srv = server_home()
    reports = sync_ok(srv, str(offline))
    assert [(r["path"], r["complete"], r["up_to_date"]) for r in reports] == [
        (f"{project}/{logged['train']}", True, False),
        (f"{project}/{logged['eval']}", True, False),
    ]
    assert reports[0]["metric_points"] == 2 * STEPS and reports[0]["artifacts"] == 3

    with srv.api() as api:
        runs = {r["id"]: r for r in api.get(f"/projects/{project}/runs").json()}
        assert sorted(runs) == sorted([logged["train"], logged["eval"]])
        train, evaluation = runs[logged["train"]], runs[logged["eval"]]
        assert (train["name"], train["job_type"], train["state"]) == ("train", "train", "finished")
        assert train["config"] == {"lr": 0.1, "layers": [64, 32]}
        assert train["tags"] == ["offline"]
        assert train["summary"] == {"loss": 1.0 / STEPS, "acc": (STEPS - 1) / STEPS}
        assert (evaluation["state"], evaluation["summary"]) == ("failed", {"score": 0.5})
        for run in (train, evaluation):  # started when logged, not when synced
            assert logging_started <= moment(run["created_at"]) <= logging_ended

        history = api.get(f"/projects/{project}/runs/{logged['train']}/metrics").json()
        expected = {("loss", s, 1.0 / (s + 1)) for s in range(STEPS)}
        expected |= {("acc", s, s / STEPS) for s in range(STEPS)}
        assert len(history) == 2 * STEPS
        assert {(p["key"], p["step"], p["value"]) for p in history} == expected
        offline_times = {
            (p["key"], p["step"]): moment(p["timestamp"])
            for p in read_lines(train_dir / "metrics.jsonl")
        }
        assert {(p["key"], p["step"]): moment(p["timestamp"]) for p in history} == offline_times
        assert all(logging_started <= t <= logging_ended for t in offline_times.values())

        def versions(name: str) -> list[dict[str, Any]]:
            return api.get(f"/projects/{project}/collections/{name}/versions").json()

        [mnist] = versions("mnist")
        assert (mnist["version"], sorted(mnist["aliases"])) == ("v0", ["best", "latest"])
        assert (mnist["tags"], mnist["metadata"], mnist["description"]) == (
            ["raw"],
            {"rows": 3},
            "digits",
        )
        [net] = versions("net")
        assert (net["type"], sorted(net["aliases"])) == ("model", ["candidate", "latest"])
        [report] = versions("report")
        for version, producer in ((mnist, train), (net, train), (report, evaluation)):
            assert version["producer_run"]["id"] == producer["id"]
        inputs = api.get(
            f"/projects/{project}/runs/{logged['eval']}/artifacts", params={"direction": "input"}
        ).json()
        assert sorted(v["qualified_name"] for v in inputs) == [
            f"{project}/mnist:v0",
            f"{project}/net:v0",
        ]

    api = sdk.Api(url=srv.url)
    root = Path(api.artifact(f"{project}/mnist:best").download(tmp_path / "down"))
    assert {
        p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()
    } == offline_files
    assert Path(api.artifact(f"{project}/report:v0").file(tmp_path / "r")).read_text() == (
        "all good"
    )
    consumers = api.artifact(f"{project}/net:candidate").used_by()
    assert [run.id for run in consumers] == [logged["eval"]]

    # A second sync sends nothing and changes nothing.
    before, received = snapshot(srv, project), body_bytes(srv)
    again = sync_ok(srv, str(offline))
    assert [r["up_to_date"] for r in again] == [True, True]
    assert snapshot(srv, project) == before
    assert body_bytes(srv) == received
    # The same server spelled otherwise is the same server.
    respelled = srv.url.replace("http://", "HTTP://") + "/"
    assert [r["up_to_date"] for r in sync_ok(srv, str(offline), url=respelled)] == [True, True]
    assert body_bytes(srv) == received

    # Without the folders' progress records (a copy), a sync starts from the beginning
    # and still duplicates nothing: what it relies on after an interruption.
    copy = tmp_path / "copy"
    shutil.copytree(offline, copy)
    for progress in copy.rglob("synced.json"):
        progress.unlink()
    replayed = sync_ok(srv, str(copy))
    assert [r["metric_points"] for r in replayed] == [0, 0]
    assert without_updated_at(snapshot(srv, project)) == without_updated_at(before)

    # Nothing left to send needs no server at all: not one request.
    stop_server(srv)
    assert [r["up_to_date"] for r in sync_ok(srv, str(offline))] == [True, True]


# ---- interrupted syncs -------------------------------------------------------------------

MANY_STEPS = 25_000  # 50,000 points: 10 requests


def test_a_sync_killed_midway_is_completed_by_the_next(tmp_path, server_home, project):
    offline = tmp_path / "offline"
    make_tree(tmp_path / "work" / "data", {f"{i}.bin": os.urandom(MiB) for i in range(8)})
    logged = run_offline(
        f"""
        import json, sdk
        with sdk.init(project={project!r}) as run:
            for step in range({MANY_STEPS}):
                run.log({{"i": step, "x": step * 0.5}}, step=step)
            data = sdk.Artifact("shards", type="dataset")
            data.add_dir("data")
            run.log_artifact(data)
        print(json.dumps({{"run": run.id}}))
        """,
        tmp_path / "work",
        offline,
    )
    srv = server_home()
    run_url = f"/projects/{project}/runs/{logged['run']}"

    def partly_uploaded() -> bool:
        response = httpx.get(f"{srv.url}/api/v1{run_url}")
        return response.status_code == 200 and "i" in response.json()["summary"]

    cli = strata_sync(srv, str(offline))
    wait_for(lambda: partly_uploaded() or cli.poll() is not None, "the first metric points")
    cli.kill()
    cli.communicate()
    assert cli.returncode == -9, "the sync finished before it could be interrupted"
    with srv.api() as api:
        assert len(api.get(f"{run_url}/metrics").json()) < 2 * MANY_STEPS

    [report] = sync_ok(srv, str(offline))
    assert report["complete"] and report["artifacts"] == 1
    with srv.api() as api:
        history = api.get(f"{run_url}/metrics").json()
        [version] = api.get(f"/projects/{project}/collections/shards/versions").json()
    assert len(history) == 2 * MANY_STEPS
    assert {(p["key"], p["step"]) for p in history} == {
        (key, step) for key in ("i", "x") for step in range(MANY_STEPS)
    }
    assert version["producer_run"]["id"] == logged["run"]


def test_a_sync_whose_server_goes_away_is_completed_after_it_returns(
    tmp_path, server_home, project
):
    offline = tmp_path / "offline"
    big = {f"{i:02d}.bin": os.urandom(MiB) for i in range(48)}
    make_tree(tmp_path / "work" / "big", big)
    make_tree(tmp_path / "work" / "small", {"a.txt": b"small"})
    logged = run_offline(
        f"""
        import json, sdk
        with sdk.init(project={project!r}) as run:
            run.log({{"loss": 1.0}}, step=0)
            small = sdk.Artifact("small", type="dataset")
            small.add_dir("small")
            run.log_artifact(small, aliases=["first"])
            big = sdk.Artifact("big", type="dataset")
            big.add_dir("big")
            run.log_artifact(big, aliases=["second"])
        with sdk.init(project={project!r}) as reader:
            reader.use_artifact(small)
        print(json.dumps({{"run": run.id, "reader": reader.id,
                          "reader_folder": str(reader.offline_dir)}}))
        """,
        tmp_path / "work",
        offline,
    )
    srv = server_home()
    port = int(srv.url.rsplit(":", 1)[1])

    def small_committed() -> bool:
        url = f"{srv.url}/api/v1/projects/{project}/collections/small/versions/first"
        return httpx.get(url).status_code == 200

    cli = strata_sync(srv, str(offline))
    wait_for(lambda: small_committed() or cli.poll() is not None, "the first version")
    srv.process.kill()  # the service goes away in the middle of the big upload
    srv.process.wait()
    _, err = cli.communicate(timeout=120)
    assert cli.returncode == 1, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err

    srv = server_home(port=port)  # back where the client expects it
    # One run's folder first (its input was committed before the service went away).
    [reader] = sync_ok(srv, logged["reader_folder"])
    assert (reader["path"], reader["complete"]) == (f"{project}/{logged['reader']}", True)
    reports = sync_ok(srv, str(offline))
    assert [(r["complete"], r["up_to_date"]) for r in reports] == [(True, False), (True, True)]
    state = snapshot(srv, project)
    assert [len(state["versions"][name]) for name in ("big", "small")] == [1, 1]
    assert [v["qualified_name"] for v in state["inputs"][logged["reader"]]] == [
        f"{project}/small:v0"
    ]
    assert len(state["metrics"][logged["run"]]) == 1
    root = Path(sdk.Api(url=srv.url).artifact(f"{project}/big:second").download(tmp_path / "d"))
    assert {p.name: p.read_bytes() for p in root.iterdir()} == big


# ---- what offline mode refuses, and the command line -------------------------------------


def test_offline_runs_refuse_what_needs_the_server(tmp_path, monkeypatch, project):
    monkeypatch.setenv("STRATA_OFFLINE_DIR", str(tmp_path / "offline"))
    with pytest.raises(sdk.errors.ValidationError, match="mode must be one of"):
        sdk.init(mode="airplane")
    with pytest.raises(OfflineError, match="resume"):
        sdk.init(mode="offline", id="abc", resume="must")
    (tmp_path / "m.bin").write_bytes(b"m")
    with sdk.init(mode="offline") as run:
        with pytest.raises(OfflineError, match="after `strata sync`"):
            run.use_artifact(f"{project}/mnist:v0")
        with pytest.raises(OfflineError, match="@models/m"):
            run.link_model(str(tmp_path / "m.bin"), "m")
        art = sdk.Artifact("never-logged", type="dataset")
        with pytest.raises(OfflineError):
            run.use_artifact(art)
        own = run.log_artifact(str(tmp_path / "m.bin"), name="own")
        with pytest.raises(sdk.errors.ConflictError, match="cycle"):
            run.use_artifact(own)
    assert run.state == "finished"


def test_sync_reports_a_path_without_offline_runs_in_one_line(tmp_path, server):
    sync = [sys.executable, "-m", "registry", "sync"]
    env = {**os.environ, "STRATA_OFFLINE_DIR": str(tmp_path / "none")}
    missing = subprocess.run(
        [*sync, str(tmp_path / "nowhere")], env=env, capture_output=True, text=True, timeout=60
    )
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1 and "holds no offline runs" in missing.stderr
    nothing = subprocess.run(sync, env=env, capture_output=True, text=True, timeout=60)
    assert nothing.returncode == 0 and "nothing to sync" in nothing.stdout


def test_readme_offline_example_runs_offline_and_syncs(tmp_path, server_home):
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Offline mode", 1)[1].split("\n## ", 1)[0]
    [example] = re.findall(r"^```text\n(.*?)^```", section, flags=re.DOTALL | re.MULTILINE)
    run_offline(example + "\nprint('{}')\n", tmp_path / "work", tmp_path / "work/.strata/offline")
    srv = server_home()
    process = strata_sync(srv, cwd=tmp_path / "work")  # the default directory there
    process.communicate(timeout=300)
    assert process.returncode == 0
    net = sdk.Api(url=srv.url).artifact("demo/offline-net:candidate")
    assert [run.name for run in net.used_by()] == ["offline-eval"]
    assert net.logged_by().name == "offline-train"


def test_non_finite_values_logged_offline_sync_once(tmp_path, server_home, project):
    """NaN and the infinities, admitted with `allow_nonfinite`, are sent as admitted, and
    a sync started afresh recognises NaN points already stored (NaN equals nothing)."""
    offline = tmp_path / "offline"
    logged = run_offline(
        f"""
        import json, sdk
        with sdk.init(project={project!r}) as run:
            for step, value in enumerate([1.0, float("nan"), float("inf"), -float("inf")]):
                run.log({{"loss": value}}, step=step, allow_nonfinite=True)
        print(json.dumps({{"run": run.id}}))
        """,
        tmp_path / "work",
        offline,
    )
    srv = server_home()
    [report] = sync_ok(srv, str(offline))
    assert report["complete"] and report["metric_points"] == 4
    history = sdk.Api(url=srv.url).run(f"{project}/{logged['run']}").history(keys=["loss"])
    values = [point["value"] for point in history]
    assert values[0] == 1.0 and values[1] != values[1] and values[2:] == [inf, -inf]

    copy = tmp_path / "copy"
    shutil.copytree(offline, copy)
    for progress in copy.rglob("synced.json"):
        progress.unlink()
    [replayed] = sync_ok(srv, str(copy))
    assert replayed["metric_points"] == 0
