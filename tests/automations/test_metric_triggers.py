"""Acceptance 2: metric automations fire when their condition becomes true for a run, once,
and again only after it has been false; change filters compare the current window with
the prior one; a disabled automation does not fire."""

import pytest

from automations.filters import RunEvent
from automations.schema import OnRunMetric, Scope, SendWebhook

pytestmark = pytest.mark.timeout(60)

PAYLOAD = {
    "project": "${project_name}",
    "run": "${run_id}",
    "run_name": "${run_name}",
    "metric": "${metric_name}",
    "value": "${metric_value}",
    "step": "${metric_step}",
    "event": "${event_type}",
}


def metric_automation(strata, project, condition, integration, payload=PAYLOAD):
    trigger = OnRunMetric(scope=Scope(type="project", name=project), filter=condition)
    return strata.automation(trigger >> SendWebhook(integration=integration, payload=payload))


@pytest.mark.parametrize("batch", [False, True], ids=["point-per-request", "one-batch"])
def test_avg_threshold_fires_on_becoming_true_and_re_arms_after_false(
    strata, receiver, project, batch
):
    name = metric_automation(
        strata, project, RunEvent.metric("loss").avg(2) < 0.1, strata.webhook(receiver.url)
    )
    run = strata.start_run(project, name="trainer")

    step = strata.log(project, run, "loss", [1.0, 0.5, 0.09, 0.08, 0.07], batch=batch)
    first = receiver.wait_for(1)[0].json()
    assert first == {
        "project": project,
        "run": run,
        "run_name": "trainer",
        "metric": "loss",
        "value": pytest.approx(0.085),  # avg(0.09, 0.08): the step it became true
        "step": 3,
        "event": "run.metric.threshold",
    }
    assert len(receiver.settle(0.4)) == 1  # 0.07 keeps it true: no second firing

    step = strata.log(project, run, "loss", [0.5, 0.5], first_step=step, batch=batch)
    assert len(receiver.settle(0.4)) == 1  # false now, nothing sent
    strata.log(project, run, "loss", [0.05, 0.05, 0.04], first_step=step, batch=batch)
    requests = receiver.wait_for(2)
    assert requests[1].json()["step"] == 8
    assert requests[1].json()["value"] == pytest.approx(0.05)
    assert len(receiver.settle(0.4)) == 2

    deliveries = strata.wait_status(name, "delivered", n=2)
    assert {d["event_type"] for d in deliveries} == {"run.metric.threshold"}


def test_each_run_has_its_own_firing_state(strata, receiver, project):
    metric_automation(
        strata, project, RunEvent.metric("loss").min(1) <= 0.1, strata.webhook(receiver.url)
    )
    other_key = strata.start_run(project)
    strata.log(project, other_key, "val_loss", [0.01])  # not the watched metric
    runs = [strata.start_run(project) for _ in range(2)]
    for run in runs:
        strata.log(project, run, "loss", [0.5, 0.1, 0.05])
    requests = receiver.wait_for(2)
    assert sorted(r.json()["run"] for r in requests) == sorted(runs)
    assert {r.json()["step"] for r in requests} == {1}
    assert len(receiver.settle(0.4)) == 2


def test_change_filters_compare_the_current_window_with_the_prior_one(
    strata, make_receiver, project
):
    decrease, increase = make_receiver(), make_receiver()
    payload = {**PAYLOAD, "previous": "${metric_previous_value}"}
    condition = RunEvent.metric("loss").decreases_by(frac=0.5)
    name = metric_automation(strata, project, condition, strata.webhook(decrease.url), payload)
    condition = RunEvent.metric("loss").increases_by(frac=0.5)
    metric_automation(strata, project, condition, strata.webhook(increase.url), payload)
    run = strata.start_run(project)

    # Relative drops: 10 %, 56 % (fires), 75 % (still true), 0 % (false), 60 % (fires).
    strata.log(project, run, "loss", [1.0, 0.9, 0.4, 0.1, 0.1, 0.04])
    requests = decrease.wait_for(2)
    firings = sorted((r.json()["step"], r.json()["value"], r.json()["previous"]) for r in requests)
    assert firings == [
        (2, pytest.approx(0.4), pytest.approx(0.9)),
        (5, pytest.approx(0.04), pytest.approx(0.1)),
    ]
    assert requests[0].json()["event"] == "run.metric.change"
    assert len(decrease.settle(0.4)) == 2
    assert increase.requests == []
    assert len(strata.wait_status(name, "delivered", n=2)) == 2


def test_windowed_change_needs_two_full_windows(strata, receiver, project):
    condition = RunEvent.metric("acc").avg(2).increases_by(diff=0.2)
    metric_automation(strata, project, condition, strata.webhook(receiver.url))
    run = strata.start_run(project)
    # Up 0.3 from step 1 to 2, but avg(2) has no prior window until step 3, where
    # avg(0.6, 0.6) = 0.6 vs avg(0.1, 0.3) = 0.2: +0.4 fires; at step 4, +0.15 does not.
    strata.log(project, run, "acc", [0.1, 0.3, 0.6, 0.6, 0.6])
    [request] = receiver.wait_for(1)
    assert (request.json()["step"], request.json()["value"]) == (3, pytest.approx(0.6))
    assert len(receiver.settle(0.4)) == 1


def test_a_disabled_automation_does_not_fire(strata, make_receiver, project):
    enabled_rx, disabled_rx = make_receiver(), make_receiver()
    condition = RunEvent.metric("loss").avg(2) < 0.1
    enabled = metric_automation(strata, project, condition, strata.webhook(enabled_rx.url))
    disabled = metric_automation(strata, project, condition, strata.webhook(disabled_rx.url))
    strata.set_enabled(disabled, False)

    run = strata.start_run(project)
    strata.log(project, run, "loss", [1.0, 0.5, 0.09, 0.08, 0.07])
    assert len(enabled_rx.wait_for(1)) == 1
    assert disabled_rx.settle(0.4) == []
    assert strata.deliveries(disabled) == []
    assert len(strata.deliveries(enabled)) == 1

    # Enabled again, it fires for a run whose condition becomes true from then on.
    strata.set_enabled(disabled, True)
    run = strata.start_run(project)
    strata.log(project, run, "loss", [1.0, 0.09, 0.09])
    assert len(disabled_rx.wait_for(1)) == 1
    assert len(enabled_rx.wait_for(2)) == 2


def test_re_enabled_automation_judges_the_last_n_logged_values(strata, receiver, project):
    condition = RunEvent.metric("loss").avg(2) < 0.1
    name = metric_automation(strata, project, condition, strata.webhook(receiver.url))
    run = strata.start_run(project)
    step = strata.log(project, run, "loss", [0.05])  # one value: avg(2) cannot hold yet
    strata.set_enabled(name, False)
    step = strata.log(project, run, "loss", [1.0, 1.0], first_step=step)
    strata.set_enabled(name, True)
    # The last two logged values are 1.0 and 0.05: avg 0.525, the condition is false.
    strata.log(project, run, "loss", [0.05], first_step=step)
    assert receiver.settle(0.6) == []
