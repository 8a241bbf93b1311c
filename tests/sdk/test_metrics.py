"""Metrics: what run.log accepts, non-finite values on request, steps per key, summary,
history(keys=), api.runs(filters=) and compare_runs."""

import math
import time

import numpy as np
import pytest

import sdk
from automations import DoNothing, OnRunMetric, RunEvent
from sdk.errors import ValidationError
from tests.sdk.test_automations import project_scope, unique, wait_for_deliveries


def history(run: sdk.Run, keys: list[str] | None = None) -> list[tuple[str, int, float]]:
    points = sdk.Api().run(run.path).history(keys=keys)
    return [(p["key"], p["step"], p["value"]) for p in points]


@pytest.mark.parametrize(
    ("value", "shown"), [(math.nan, "nan"), (math.inf, "inf"), (-math.inf, "-inf")]
)
def test_non_finite_values_are_refused_naming_the_key(project, value, shown):
    with sdk.init(project=project) as run:
        with pytest.raises(ValidationError, match=f"metric 'val/loss' is {shown}"):
            run.log({"acc": 0.5, "val/loss": value})
        run.log({"acc": 0.6})
    # Nothing of the refused call was kept, and it did not use up a step.
    assert history(run) == [("acc", 0, 0.6)]


@pytest.mark.parametrize("value", ["0.5", None, [1.0], {"x": 1}, True, 1 + 2j])
def test_non_numeric_values_are_refused_naming_the_key(project, value):
    with sdk.init(project=project) as run:
        with pytest.raises(ValidationError, match="metric 'grad_norm' must be a number"):
            run.log({"grad_norm": value})


@pytest.mark.parametrize("key", ["", "k" * 257, 3])
def test_malformed_keys_are_refused_before_anything_is_sent(project, key):
    with sdk.init(project=project) as run:
        with pytest.raises(ValidationError, match="metric key"):
            run.log({key: 1.0})


def test_numpy_numbers_are_metric_values(project):
    with sdk.init(project=project) as run:
        run.log({"a": np.float32(0.25), "b": np.int64(3)})
    assert history(run) == [("a", 0, 0.25), ("b", 0, 3.0)]
    assert sdk.Api().run(run.path).summary == {"a": 0.25, "b": 3.0}


def test_allow_nonfinite_stores_nan_and_infinities_and_the_summary_keeps_finite_values(project):
    with sdk.init(project=project) as run:
        run.log({"loss": 0.5})
        run.log({"loss": math.nan, "scale": math.inf}, allow_nonfinite=True)
        run.log({"scale": -math.inf}, allow_nonfinite=True)
        assert run.summary == {"loss": 0.5}
    points = history(run)
    assert [(k, s) for k, s, _ in points] == [("loss", 0), ("loss", 1), ("scale", 1), ("scale", 2)]
    values = [v for _, _, v in points]
    assert values[0] == 0.5 and math.isnan(values[1]) and values[2:] == [math.inf, -math.inf]
    assert sdk.Api().run(run.path).summary == {"loss": 0.5}


def test_the_service_stores_non_finite_values_only_when_asked(server, project):
    run = sdk.init(project=project)
    run.finish()
    url = f"/projects/{project}/runs/{run.id}/metrics"
    point = {"key": "loss", "step": 0, "value": "NaN", "timestamp": "2026-01-01T00:00:00Z"}
    with server.api() as api:
        refused = api.post(url, json={"points": [point]})
        assert refused.status_code == 422 and "allow_nonfinite" in refused.text
        stored = api.post(url, json={"points": [point], "allow_nonfinite": True})
        assert stored.status_code == 204, stored.text
        assert api.get(url).json()[0]["value"] == "NaN"


def test_metric_automations_ignore_non_finite_values(project):
    """An infinite loss is above every threshold and a NaN poisons every average: neither
    may fire an automation nor stop a later finite value from firing it."""
    api = sdk.Api()
    scope = project_scope(api, project)
    diverged, converged = unique("diverged"), unique("converged")
    api.create_automation(
        OnRunMetric(scope=scope, filter=RunEvent.metric("loss") > 10) >> DoNothing(), name=diverged
    )
    api.create_automation(
        OnRunMetric(scope=scope, filter=RunEvent.metric("loss").avg(2) < 0.1) >> DoNothing(),
        name=converged,
    )
    with sdk.init(project=project) as run:
        for value in (1.0, math.inf, math.nan, 0.05, -math.inf, 0.05):
            run.log({"loss": value}, allow_nonfinite=True)
    assert len(wait_for_deliveries(api, converged, 1)) == 1
    time.sleep(0.5)  # a wrongful firing would have been delivered by now as well
    assert api.deliveries(diverged) == []
    assert len(api.deliveries(converged)) == 1
    assert len(history(run)) == 6


def test_steps_only_increase_per_key(project):
    with sdk.init(project=project) as run:
        run.log({"loss": 1.0}, step=5)
        with pytest.raises(ValidationError, match="'loss' was logged at step 5; step 3"):
            run.log({"loss": 0.9}, step=3)
        with pytest.raises(ValidationError, match="'loss' was logged at step 5; step 5"):
            run.log({"loss": 0.9}, step=5)
        run.log({"val": 0.1}, step=2)  # another key has steps of its own
        run.log({"loss": 0.8})
    assert history(run) == [("loss", 5, 1.0), ("loss", 6, 0.8), ("val", 2, 0.1)]


def test_commit_false_keeps_the_step_open_for_more_values(project):
    with sdk.init(project=project) as run:
        run.log({"loss": 1.0}, commit=False)
        run.log({"acc": 0.5}, commit=False)
        run.log({"loss": 0.9})  # same step, still open: allowed (the later value counts)
        with pytest.raises(ValidationError, match="step 0 does not follow"):
            run.log({"acc": 0.6}, step=0)
        run.log({"acc": 0.7})
    assert history(run, ["acc"]) == [("acc", 0, 0.5), ("acc", 1, 0.7)]
    assert sdk.Api().run(run.path).summary == {"loss": 0.9, "acc": 0.7}


@pytest.mark.parametrize("step", [-1, 1.5, "3", True])
def test_a_step_must_be_a_non_negative_int(project, step):
    with sdk.init(project=project) as run:
        with pytest.raises(ValidationError, match="non-negative integer"):
            run.log({"loss": 1.0}, step=step)


def test_summary_is_a_dict_that_persists_on_finish(project):
    with sdk.init(project=project) as run:
        run.log({"loss": 0.4})
        run.log({"loss": 0.2})
        run.summary["best_loss"] = 0.2
        run.summary.update({"epochs": 2, "notes": {"early_stop": True}})
        assert sdk.Api().run(run.path).summary.get("best_loss") is None  # not yet sent
    assert sdk.Api().run(run.path).summary == {
        "loss": 0.2,
        "best_loss": 0.2,
        "epochs": 2,
        "notes": {"early_stop": True},
    }


def test_history_returns_the_points_of_the_keys_asked_for(project):
    with sdk.init(project=project) as run:
        for i in range(3):
            run.log({"loss": 1.0 - i / 10, "acc": i / 10, "lr": 0.1})
    info = sdk.Api().run(f"{project}/{run.id}")
    points = info.history(keys=["loss", "acc"])
    assert [(p["key"], p["step"], p["value"]) for p in points] == [
        ("acc", 0, 0.0),
        ("acc", 1, 0.1),
        ("acc", 2, 0.2),
        ("loss", 0, 1.0),
        ("loss", 1, 0.9),
        ("loss", 2, 0.8),
    ]
    assert all(isinstance(p["timestamp"], str) for p in points)
    assert len(info.history()) == 9 and len(info.history("lr")) == 3
    assert info.history(keys=["never-logged"]) == []


def test_runs_filters_and_compare_runs(project):
    ids = {}
    for lr, losses in ((0.1, [1.0, 0.5]), (0.01, [1.0, 0.8, 0.6])):
        with sdk.init(project=project, config={"lr": lr}, name=f"lr-{lr}") as run:
            for loss in losses:
                run.log({"loss": loss})
            run.log({"acc": 1 - losses[-1]})
        ids[lr] = run.id
    api = sdk.Api()
    fast = api.runs(project, filters={"config.lr": {"$gte": 0.05}})
    assert [r.id for r in fast] == [ids[0.1]]
    finished = api.runs(project, filters={"state": "finished", "summary.loss": {"$lt": 0.7}})
    assert sorted(r.id for r in finished) == sorted(ids.values())

    compared = api.compare_runs([ids[0.1], f"{project}/{ids[0.01]}"], keys=["loss", "acc"])
    assert list(compared) == [ids[0.1], f"{project}/{ids[0.01]}"]
    slow = compared[f"{project}/{ids[0.01]}"]
    assert (slow["loss"].steps, slow["loss"].values) == ([0, 1, 2], [1.0, 0.8, 0.6])
    assert (slow["acc"].steps, slow["acc"].values) == ([3], [pytest.approx(0.4)])
    assert compared[ids[0.1]]["loss"].values == [1.0, 0.5]
    assert sdk.compare_runs([ids[0.1]], ["missing"])[ids[0.1]]["missing"].steps == []
