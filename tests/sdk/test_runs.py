"""Runs (state, config, summary, metric history, resume, lineage) and the Api queries."""

import math
from pathlib import Path

import pytest

import sdk
from sdk.errors import (
    ConflictError,
    NotFoundError,
    ServerUnavailableError,
    ValidationError,
)


class Boom(Exception):
    pass


def run_info(project: str, run_id: str) -> sdk.RunInfo:
    return sdk.Api().run(f"{project}/{run_id}")


def steps(info: sdk.RunInfo, key: str) -> list[int]:
    return [point["step"] for point in info.history(key)]


def log_small_artifact(run: sdk.Run, tmp_path: Path, name: str, content: bytes) -> sdk.Artifact:
    source = tmp_path / f"{name}-{content.hex()[:8]}.bin"
    source.write_bytes(content)
    art = sdk.Artifact(name, type="dataset")
    art.add_file(source, name="data.bin")
    return run.log_artifact(art)


# ---- lifecycle ---------------------------------------------------------------------------


def test_run_is_running_inside_the_block_and_finished_after(project):
    with sdk.init(project=project, name="train-1", job_type="train", tags=["base"]) as run:
        assert run_info(project, run.id).state == "running"

    info = run_info(project, run.id)
    assert info.state == "finished"
    assert (info.name, info.job_type, info.tags, info.project) == (
        "train-1",
        "train",
        ["base"],
        project,
    )


def test_exception_inside_the_block_marks_the_run_failed(project):
    with pytest.raises(Boom):
        with sdk.init(project=project) as run:
            run.log({"loss": 1.0})
            raise Boom("training diverged")

    info = run_info(project, run.id)
    assert info.state == "failed"
    assert len(info.history("loss")) == 1  # metrics logged before the failure are kept


def test_config_and_summary_are_persisted(project):
    with sdk.init(project=project, config={"lr": 0.1, "layers": [64, 32]}) as run:
        run.config["epochs"] = 3
        run.log({"loss": 0.5})
        run.log({"loss": 0.25})
        run.summary["best_acc"] = 0.93

    info = run_info(project, run.id)
    assert info.config == {"lr": 0.1, "layers": [64, 32], "epochs": 3}
    assert info.summary["best_acc"] == 0.93
    assert info.summary["loss"] == 0.25


def test_finish_is_idempotent_and_a_finished_run_refuses_logging(project):
    run = sdk.init(project=project)
    run.finish()
    run.finish()

    with pytest.raises(ValidationError):
        run.log({"loss": 1.0})
    assert run_info(project, run.id).state == "finished"


def test_starting_a_run_with_an_existing_id_needs_resume(project):
    with sdk.init(project=project, id="fixed-id"):
        pass

    with pytest.raises(ConflictError):
        sdk.init(project=project, id="fixed-id")


# ---- metric history ----------------------------------------------------------------------


def test_each_log_call_is_one_step_per_key(project):
    with sdk.init(project=project) as run:
        for i in range(25):
            run.log({"loss": 1.0 / (i + 1), "acc": i / 25})

    info = run_info(project, run.id)
    for key in ("loss", "acc"):
        assert steps(info, key) == list(range(25))
    assert [p["value"] for p in info.history("loss")] == [1.0 / (i + 1) for i in range(25)]
    assert len(info.history()) == 50


def test_explicit_step_is_kept_and_later_logs_continue_after_it(project):
    with sdk.init(project=project) as run:
        run.log({"loss": 1.0}, step=10)
        run.log({"loss": 0.5})
        run.log({"val": 0.7}, step=100)

    info = run_info(project, run.id)
    assert steps(info, "loss") == [10, 11]
    assert steps(info, "val") == [100]


def test_commit_false_keeps_the_next_log_on_the_same_step(project):
    with sdk.init(project=project) as run:
        run.log({"a": 1.0}, commit=False)
        run.log({"b": 2.0})
        run.log({"a": 3.0})

    info = run_info(project, run.id)
    assert steps(info, "a") == [0, 1]
    assert steps(info, "b") == [0]


@pytest.mark.parametrize("value", ["high", None, [1.0], {"x": 1}, True])
def test_non_numeric_metric_value_is_refused(project, value):
    with sdk.init(project=project) as run:
        with pytest.raises(ValidationError):
            run.log({"loss": value})


@pytest.mark.parametrize("step", [-1, 1.5, "3"])
def test_invalid_step_is_refused(project, step):
    with sdk.init(project=project) as run:
        with pytest.raises(ValidationError):
            run.log({"loss": 1.0}, step=step)


def test_non_finite_metric_value_does_not_lose_other_points(project):
    """A NaN loss is common in training; it must not take the run's other metrics with it.

    Either log() refuses it on the spot, or it is stored; never a batch silently dropped."""
    with sdk.init(project=project) as run:
        run.log({"loss": 1.0})
        try:
            run.log({"loss": math.nan})
        except ValidationError:
            pass
        run.log({"loss": 0.5})

    values = [point["value"] for point in run_info(project, run.id).history("loss")]
    assert [v for v in values if not math.isnan(v)] == [1.0, 0.5]


def test_resumed_run_continues_its_steps(project):
    with sdk.init(project=project, id="resumable", config={"lr": 0.1}) as run:
        for i in range(5):
            run.log({"loss": float(i)})

    with sdk.init(project=project, id="resumable", resume=True, config={"phase": 2}) as resumed:
        assert resumed.id == run.id
        for i in range(5):
            resumed.log({"loss": float(5 + i)})

    info = run_info(project, run.id)
    assert steps(info, "loss") == list(range(10))
    assert info.config == {"lr": 0.1, "phase": 2}
    assert info.state == "finished"


# ---- lineage -----------------------------------------------------------------------------


def test_lineage_between_producer_and_consumer_runs(tmp_path, project):
    with sdk.init(project=project, job_type="prepare") as producer:
        art = log_small_artifact(producer, tmp_path, "ds", b"rows")
    with sdk.init(project=project, job_type="train") as consumer:
        used = consumer.use_artifact(f"{project}/ds:latest")
        assert used.version == "v0"

    fetched = sdk.Api().artifact(f"{project}/ds:v0")
    assert art.logged_by().id == producer.id
    assert fetched.logged_by().id == producer.id
    assert [r.id for r in fetched.used_by()] == [consumer.id]
    assert [a.qualified_name for a in run_info(project, producer.id).logged_artifacts()] == [
        f"{project}/ds:v0"
    ]
    assert run_info(project, producer.id).used_artifacts() == []
    assert [a.qualified_name for a in run_info(project, consumer.id).used_artifacts()] == [
        f"{project}/ds:v0"
    ]
    assert run_info(project, consumer.id).logged_artifacts() == []


def test_using_the_same_artifact_twice_records_one_edge(tmp_path, project):
    with sdk.init(project=project) as producer:
        log_small_artifact(producer, tmp_path, "ds", b"rows")
    with sdk.init(project=project) as consumer:
        consumer.use_artifact(f"{project}/ds:v0")
        consumer.use_artifact("ds:latest")  # the run's project is the default

    assert [r.id for r in sdk.Api().artifact(f"{project}/ds").used_by()] == [consumer.id]


def test_use_artifact_with_wrong_type_is_refused(tmp_path, project):
    with sdk.init(project=project) as run:
        log_small_artifact(run, tmp_path, "ds", b"rows")
        with pytest.raises(ValidationError):
            run.use_artifact(f"{project}/ds:v0", type="model")


def test_log_artifact_from_a_path(tmp_path, project):
    (tmp_path / "weights.bin").write_bytes(b"w")
    with sdk.init(project=project) as run:
        art = run.log_artifact(str(tmp_path / "weights.bin"), name="model", type="model")

    assert art.qualified_name == f"{project}/model:v0"
    assert sdk.Api().artifact(f"{project}/model").files()[0].path == "weights.bin"


# ---- Api queries -------------------------------------------------------------------------


def test_artifact_exists(tmp_path, project):
    with sdk.init(project=project) as run:
        log_small_artifact(run, tmp_path, "ds", b"rows")
    api = sdk.Api()

    assert api.artifact_exists(f"{project}/ds")
    assert api.artifact_exists(f"{project}/ds:v0")
    assert api.artifact_exists(f"{project}/ds:v0", type="dataset")
    assert not api.artifact_exists(f"{project}/ds:v0", type="model")
    assert not api.artifact_exists(f"{project}/ds:v1")
    assert not api.artifact_exists(f"{project}/nothing")
    assert not api.artifact_exists("no-such-project-xyz/ds")


def test_artifact_collections_and_types(tmp_path, project):
    with sdk.init(project=project) as run:
        log_small_artifact(run, tmp_path, "ds", b"one")
        log_small_artifact(run, tmp_path, "ds", b"two")
        model = sdk.Artifact("net", type="model")
        (tmp_path / "net.pt").write_bytes(b"net")
        model.add_file(tmp_path / "net.pt")
        run.log_artifact(model)
    api = sdk.Api()

    collections = {(c.name, c.type): c for c in api.artifact_collections(project)}
    assert set(collections) == {("ds", "dataset"), ("net", "model")}
    assert collections[("ds", "dataset")].version_count == 2
    assert [c.name for c in api.artifact_collections(project, type_name="model")] == ["net"]
    assert sorted(t.name for t in api.artifact_types(project)) == ["dataset", "model"]

    collection = api.artifact_collection("dataset", f"{project}/ds")
    assert (collection.name, collection.type, collection.project) == ("ds", "dataset", project)
    assert [v.version for v in collection.versions()] == ["v0", "v1"]
    with pytest.raises(NotFoundError):
        api.artifact_collection("model", f"{project}/ds")
    with pytest.raises(NotFoundError):
        api.artifact_collection("dataset", f"{project}/missing")


def test_runs_project_and_projects(project):
    with sdk.init(project=project, name="first") as first:
        pass
    with sdk.init(project=project, name="second") as second:
        pass
    api = sdk.Api()

    assert [r.id for r in api.runs(project)] == [first.id, second.id]
    assert api.project(project).name == project
    assert project in {p.name for p in api.projects()}
    with pytest.raises(NotFoundError):
        api.project(f"{project}-never-used")
    with pytest.raises(NotFoundError):
        api.run(f"{project}/no-such-run")


def test_same_collection_name_with_another_type_is_refused(tmp_path, project):
    with sdk.init(project=project) as run:
        log_small_artifact(run, tmp_path, "ds", b"rows")
        other = sdk.Artifact("ds", type="model")
        (tmp_path / "m").write_bytes(b"m")
        other.add_file(tmp_path / "m")
        with pytest.raises((ConflictError, ValidationError)):
            run.log_artifact(other)


# ---- typed errors ------------------------------------------------------------------------


def test_unknown_version_alias_and_collection_are_not_found(tmp_path, project):
    with sdk.init(project=project) as run:
        log_small_artifact(run, tmp_path, "ds", b"rows")
    api = sdk.Api()

    for path in (f"{project}/ds:v9", f"{project}/ds:no-such-alias", f"{project}/other:latest"):
        with pytest.raises(NotFoundError):
            api.artifact(path)


@pytest.mark.parametrize("path", ["", "ds:", "p/q/r:v0", ":v0"])
def test_malformed_artifact_paths_are_validation_errors(path):
    with pytest.raises(ValidationError):
        sdk.Api().artifact(path)


def test_unreachable_server_raises_server_unavailable(monkeypatch):
    monkeypatch.setenv("STRATA_RETRY_SECONDS", "0")  # no waiting for a restart
    api = sdk.Api(url="http://127.0.0.1:1")

    with pytest.raises(ServerUnavailableError):
        api.artifact("p/ds:latest")
    with pytest.raises(ServerUnavailableError):
        sdk.init(project="p", url="http://127.0.0.1:1")


# ---- runs left open when the program exits -------------------------------------------

EXIT_SCRIPT = """
import sys, sdk
run = sdk.init(project=sys.argv[1])
print(run.id, flush=True)
for step in range(30):
    run.log({"loss": 1.0 / (step + 1)})
if sys.argv[2] == "raise":
    raise RuntimeError("training diverged")
"""


@pytest.mark.parametrize(("ending", "state"), [("return", "finished"), ("raise", "failed")])
def test_a_run_left_open_is_finished_at_exit_with_its_metrics(tmp_path, project, ending, state):
    import subprocess
    import sys

    script = tmp_path / "train.py"
    script.write_text(EXIT_SCRIPT)
    result = subprocess.run(
        [sys.executable, str(script), project, ending], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode != 0) == (ending == "raise"), result.stderr
    info = run_info(project, result.stdout.split()[0])
    assert info.state == state
    assert steps(info, "loss") == list(range(30)), "buffered metrics must be sent at exit"


def test_requests_wait_for_a_server_that_is_restarting(monkeypatch, tmp_path, project):
    """A server that comes up while the SDK retries (STRATA_RETRY_SECONDS) is reached."""
    import threading

    from tests.conftest import free_port, start_server, stop_server

    port = free_port()
    monkeypatch.setenv("STRATA_RETRY_SECONDS", "120")
    started = []
    thread = threading.Thread(
        target=lambda: started.append(start_server(tmp_path / "late", port=port))
    )
    thread.start()  # nothing listens on the port yet
    try:
        with sdk.init(project=project, url=f"http://127.0.0.1:{port}", id="late", resume=True):
            pass
    finally:
        thread.join(120)
        for srv in started:
            stop_server(srv)
    assert started
