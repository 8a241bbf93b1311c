"""Automations through the SDK (W&B names) and the CLI, on the session's service.

Delivery over HTTP is covered in tests/automations/; these use DoNothing, whose firings
are recorded as deliveries without a request, so every firing is countable here.
"""

import time
import uuid

import pydantic
import pytest

import sdk
from automations import (
    ArtifactEvent,
    DoNothing,
    OnAddArtifactAlias,
    OnCreateArtifact,
    OnLinkArtifact,
    OnRunMetric,
    RunEvent,
    SendNotification,
    SendWebhook,
)
from tests.cli.test_cli import fails, ok, ok_json


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def wait_for_deliveries(api: sdk.Api, automation: str, count: int) -> list:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = api.deliveries(automation)
        if len(found) >= count and all(d.status == "delivered" for d in found):
            return found
        time.sleep(0.05)
    return api.deliveries(automation)


def project_scope(api: sdk.Api, project: str) -> object:
    """`api.project(name)`, the scope object of the spec (the project must exist)."""
    sdk.init(project=project).finish()
    return api.project(project)


def log_version(run: sdk.Run, name: str, content: str, **kwargs) -> sdk.Artifact:
    art = sdk.Artifact(name, type="model")
    with art.new_file("w.txt") as handle:
        handle.write(content)
    return run.log_artifact(art, **kwargs)


def test_scopes_are_the_api_objects_and_each_event_fires_once(project):
    api = sdk.Api()
    registry = api.create_registry(unique("models"), allowed_types=["model"])
    created, linked, moved = unique("created"), unique("linked"), unique("moved")
    with sdk.init(project=project) as run:
        first = log_version(run, "clf", "a")
        api.create_automation(
            OnCreateArtifact(scope=api.artifact_collection("model", f"{project}/clf"))
            >> DoNothing(),
            name=created,
        )
        api.create_automation(
            OnLinkArtifact(scope=registry, filter=ArtifactEvent.alias.in_(["staging"]))
            >> DoNothing(),
            name=linked,
        )
        api.create_automation(
            OnAddArtifactAlias(scope=registry, filter=ArtifactEvent.alias.regex("^prod"))
            >> DoNothing(),
            name=moved,
        )
        second = log_version(run, "clf", "b")
        log_version(run, "other", "c")  # another collection: not in the scope
        first.link(registry.path + "/clf", aliases=["staging"])
        second.link(registry.path + "/clf")  # no staging alias: filtered out
        assert "staging" in api.artifact(f"{registry.path}/clf:v0").aliases  # reads fire nothing
        sdk.Api().artifact(f"{registry.path}/clf:v1").link(registry.path + "/clf", ["production"])

    [creation] = wait_for_deliveries(api, created, 1)
    assert creation.payload is None and creation.event_type == "artifact.created"
    assert [d.event_type for d in wait_for_deliveries(api, linked, 1)] == ["artifact.linked"]
    [move] = wait_for_deliveries(api, moved, 1)
    assert move.attempts[0].number == 1
    assert len(api.deliveries(created)) == 1 and len(api.deliveries(linked)) == 1


def test_metric_automation_fires_on_transitions_and_can_be_disabled(project):
    api = sdk.Api()
    name = unique("converged")
    automation = api.create_automation(
        OnRunMetric(scope=project_scope(api, project), filter=RunEvent.metric("loss").avg(2) < 0.1)
        >> DoNothing(),
        name=name,
        description="loss below 0.1",
    )
    assert automation.event.event == "run.metric.threshold" and automation.enabled
    with sdk.init(project=project) as run:
        for value in (1.0, 0.5, 0.09, 0.08, 0.07):
            run.log({"loss": value})
    assert len(wait_for_deliveries(api, name, 1)) == 1

    automation.enabled = False
    assert api.update_automation(automation).enabled is False
    with sdk.init(project=project) as run:
        for value in (0.05, 0.05, 0.05):
            run.log({"loss": value})
    time.sleep(0.3)
    assert len(api.deliveries(name)) == 1

    renamed = api.update_automation(name, name=name + "-x", enabled=True)
    assert renamed.name == name + "-x" and api.automation(name + "-x").enabled
    api.delete_automation(renamed)
    with pytest.raises(sdk.errors.NotFoundError):
        api.automation(name + "-x")


def test_bad_automations_are_refused_before_anything_is_saved(project):
    api = sdk.Api()
    scope = project_scope(api, project)
    with pytest.raises(pydantic.ValidationError, match="alias"):
        OnRunMetric(scope=scope, filter=RunEvent.metric("loss") < 1) >> SendWebhook(
            integration="x", payload={"a": "${alias}"}
        )
    with pytest.raises(ValueError, match="exactly one of diff"):
        RunEvent.metric("loss").changes_by(diff=1, frac=0.1)
    with pytest.raises(sdk.errors.NotFoundError, match="integration 'nope'"):
        api.create_automation(
            OnCreateArtifact(scope=scope) >> SendWebhook(integration="nope"), name=unique("a")
        )
    with pytest.raises(sdk.errors.ValidationError, match="needs a name"):
        api.create_automation(OnCreateArtifact(scope=scope) >> DoNothing())
    with pytest.raises(sdk.errors.ValidationError, match="private"):
        api.create_webhook_integration(unique("hook"), "http://10.0.0.1/hook")
    with pytest.raises(sdk.errors.ValidationError, match="whsec_"):
        api.create_webhook_integration(unique("hook"), "http://127.0.0.1:9/x", secret="plain")
    name = unique("a")
    api.create_automation(OnCreateArtifact(scope=scope) >> DoNothing(), name=name)
    with pytest.raises(sdk.errors.ConflictError):
        api.create_automation(OnCreateArtifact(scope=scope) >> DoNothing(), name=name)


def test_integrations_hide_their_secrets(project):
    api = sdk.Api()
    name = unique("hook")
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    hook = api.create_webhook_integration(name, "http://127.0.0.1:9/x", secret, "token-123")
    assert hook.has_secret and hook.has_access_token
    slack = api.create_slack_integration(unique("slack"), "http://127.0.0.1:9/services/T/B/xyz")
    assert slack.url == "127.0.0.1" and not slack.has_secret
    listed = repr(api.integrations())
    assert secret not in listed and "token-123" not in listed and "xyz" not in listed
    notify = SendNotification.from_integration(hook, title="t", text="${project_name}")
    with pytest.raises(sdk.errors.ValidationError, match="need a slack integration"):
        api.create_automation(
            OnCreateArtifact(scope=project_scope(api, project)) >> notify, name=unique("a")
        )


def test_cli_lists_switches_and_redelivers(project):
    api = sdk.Api()
    name = unique("cli")
    api.create_automation(
        OnCreateArtifact(scope=project_scope(api, project)) >> DoNothing(), name=name
    )
    assert name in ok("automation", "ls")
    assert ok_json("automation", "show", name)["event"]["scope"]["name"] == project
    assert f"disabled {name}" in ok("automation", "disable", name)
    assert ok_json("automation", "show", name)["enabled"] is False
    ok("automation", "enable", name)
    with sdk.init(project=project) as run:
        log_version(run, "clf", "z")
    [delivery] = wait_for_deliveries(api, name, 1)
    assert delivery.id in ok("automation", "deliveries", name)
    assert f"queued {delivery.id} again" in ok("automation", "redeliver", delivery.id)
    deadline = time.monotonic() + 10
    while api.deliveries(name)[0].attempt_count < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [a.number for a in api.deliveries(name)[0].attempts] == [1, 2]
    assert "does not exist" in fails(1, "automation", "show", "no-such-automation")
    assert "does not exist" in fails(1, "automation", "redeliver", "msg_nothing")
