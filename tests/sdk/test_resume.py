"""Resuming runs by id or by name (allow / must / never) and the states a run finishes in."""

import pytest

import sdk
from sdk.errors import ConflictError, NotFoundError, ValidationError


def info(run: sdk.Run) -> sdk.RunInfo:
    return sdk.Api().run(run.path)


def steps(run: sdk.Run, key: str) -> list[int]:
    return [p["step"] for p in info(run).history(key)]


def test_allow_starts_a_missing_run_then_continues_it(project):
    with sdk.init(project=project, id="job-7", resume="allow", config={"lr": 0.1}) as first:
        first.log({"loss": 1.0})
        first.log({"loss": 0.9})
    with sdk.init(project=project, id="job-7", resume="allow", config={"phase": 2}) as again:
        assert again.id == "job-7"
        again.log({"loss": 0.8})
        with pytest.raises(ValidationError, match="before step 2, where this resumed run"):
            again.log({"other": 1.0}, step=1)
    assert steps(again, "loss") == [0, 1, 2]
    assert info(again).config == {"lr": 0.1, "phase": 2}
    assert [r.id for r in sdk.Api().runs(project)] == ["job-7"]


def test_must_needs_an_existing_run(project):
    with pytest.raises(NotFoundError, match=f"run {project}/nope does not exist"):
        sdk.init(project=project, id="nope", resume="must")
    with pytest.raises(NotFoundError, match="a run named 'ghost'"):
        sdk.init(project=project, name="ghost", resume="must")
    with sdk.init(project=project, id="here"):
        pass
    with sdk.init(project=project, id="here", resume="must") as run:
        assert run.state == "running"
    assert info(run).state == "finished"


def test_never_refuses_a_taken_id(project):
    with sdk.init(project=project, id="once", resume="never"):
        pass
    with pytest.raises(ConflictError, match="already exists"):
        sdk.init(project=project, id="once", resume="never")
    with pytest.raises(ConflictError):
        sdk.init(project=project, id="once")  # never is the default


def test_resume_by_name_continues_the_latest_run_of_that_name(project):
    with sdk.init(project=project, name="train") as older:
        older.log({"loss": 1.0})
    with sdk.init(project=project, name="train") as newer:  # names need not be unique
        newer.log({"loss": 2.0})
        newer.log({"loss": 1.5})
    assert newer.id != older.id

    with sdk.init(project=project, name="train", resume="must") as resumed:
        assert resumed.id == newer.id
        resumed.log({"loss": 1.2})
    assert steps(newer, "loss") == [0, 1, 2]
    assert steps(older, "loss") == [0]

    with sdk.init(project=project, name="fresh", resume="allow") as started:
        started.log({"loss": 3.0})
    assert started.name == "fresh" and started.id not in (older.id, newer.id)


@pytest.mark.parametrize("bad", ["always", "yes", 1])
def test_an_unknown_resume_mode_is_refused(project, bad):
    with pytest.raises(ValidationError, match="resume must be one of allow, must, never"):
        sdk.init(project=project, id="r", resume=bad)


def test_the_service_refuses_an_unknown_resume_mode_and_must_without_a_run(server, project):
    with server.api() as api:
        response = api.post(f"/projects/{project}/runs", json={"id": "r", "resume": "maybe"})
        assert response.status_code == 422
        response = api.post(f"/projects/{project}/runs", json={"resume": "must"})
        assert response.status_code == 422 and "id or the name" in response.text


@pytest.mark.parametrize("state", ["finished", "failed", "killed"])
def test_finish_records_the_state_given(project, state):
    run = sdk.init(project=project)
    run.log({"loss": 0.1})
    run.finish(state=state)
    assert info(run).state == state
    assert info(run).summary == {"loss": 0.1}


def test_finish_refuses_an_unknown_state_and_the_run_stays_open(project):
    run = sdk.init(project=project)
    with pytest.raises(ValidationError, match="not 'done'"):
        run.finish(state="done")
    run.log({"loss": 0.1})
    run.finish(exit_code=3)
    assert info(run).state == "failed"
