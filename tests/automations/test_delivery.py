"""Acceptance 1 and 3: an alias move becomes one signed, templated webhook; deliveries are
retried per the schedule, dead-lettered after it, final on other 4xx, and redelivered
with the same webhook-id on request."""

import socket
import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from automations.filters import ArtifactEvent
from automations.schema import OnAddArtifactAlias, Scope, SendNotification, SendWebhook
from tests.automations.conftest import RETRY_SCHEDULE, new_secret
from tests.automations.receiver import Reply

pytestmark = pytest.mark.timeout(60)

TEMPLATE = {
    "model": "${artifact_collection_name}",
    "version": "${artifact_version}",
    "version_string": "${artifact_version_string}",
    "alias": "${alias}",
    "previous_version": "${previous_version}",
    "registry": "${registry_name}",
    "event": "${event_type}",
    "accuracy": "${artifact_metadata.accuracy}",
    "text": "${artifact_collection_name} is now ${artifact_version}, was ${previous_version}",
    "static": ["kept", 1, None],
}


def test_alias_added_in_a_registry_sends_one_signed_templated_webhook(strata, receiver, project):
    registry = strata.registry()
    for i in range(2):
        strata.commit_model(project, "x", f"weights {i}", metadata={"accuracy": 0.5 + i / 10})
        strata.link(registry, "x", project, "x", f"v{i}")
    secret = new_secret()
    hook = strata.webhook(f"{receiver.url}/deploy", secret=secret, access_token="tok-123")
    trigger = OnAddArtifactAlias(
        scope=Scope(type="registry", name=registry), filter=ArtifactEvent.alias.eq("production")
    )
    name = strata.automation(trigger >> SendWebhook(integration=hook, payload=TEMPLATE))

    # Added for the first time: there was no previous version.
    started = time.monotonic()
    strata.move_alias(registry, "x", "production", "v0")
    first = receiver.wait_for(1, timeout=1.0)[0]
    assert first.monotonic - started < 1.0
    assert Webhook(secret).verify(first.body, first.webhook_headers)["previous_version"] is None

    # Moved v0 -> v1: exactly one more POST, carrying the version it left.
    started = time.monotonic()
    strata.move_alias(registry, "x", "production", "v1")
    requests = receiver.wait_for(2, timeout=1.0)
    second = requests[1]
    assert second.monotonic - started < 1.0
    assert (second.method, second.path) == ("POST", "/deploy")
    assert second.headers["content-type"] == "application/json"
    assert second.headers["authorization"] == "Bearer tok-123"
    body = Webhook(secret).verify(second.body, second.webhook_headers)
    assert body == {
        "model": "x",
        "version": "v1",
        "version_string": f"@{registry}/x:v1",
        "alias": "production",
        "previous_version": "v0",
        "registry": registry,
        "event": "alias.added",
        "accuracy": 0.6,
        "text": "x is now v1, was v0",
        "static": ["kept", 1, None],
    }
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(second.body, second.webhook_headers)
    with pytest.raises(WebhookVerificationError):  # the body is what was signed
        Webhook(secret).verify(second.body.replace(b"v0", b"v2"), second.webhook_headers)

    # Nothing else fires: not the same move again, another alias, or a new `latest`.
    strata.move_alias(registry, "x", "production", "v1")
    strata.move_alias(registry, "x", "staging", "v0")
    strata.commit_model(project, "x", "weights 2")
    strata.link(registry, "x", project, "x", "v2")
    assert len(receiver.settle(0.6)) == 2

    deliveries = strata.wait_status(name, "delivered", n=2)
    assert [d["id"] for d in deliveries] == [
        second.headers["webhook-id"],
        first.headers["webhook-id"],
    ]
    assert deliveries[0]["payload"] == body
    assert deliveries[0]["event_type"] == "alias.added"
    assert [a["status_code"] for a in deliveries[0]["attempts"]] == [200]


def test_the_alias_filter_and_the_scope_select_what_fires(strata, make_receiver, project):
    watched, other = strata.registry(), strata.registry()
    strata.models(project, watched, 1)
    strata.link(other, "x", project, "x", "v0")
    production, any_alias = make_receiver(), make_receiver()
    strata.on_alias(watched, strata.webhook(production.url), alias="production")
    trigger = OnAddArtifactAlias(scope=Scope(type="collection", name="x", registry=watched))
    strata.automation(trigger >> SendWebhook(integration=strata.webhook(any_alias.url)))

    strata.move_alias(other, "x", "production", "v0")  # another registry
    strata.move_alias(watched, "x", "staging", "v0")
    strata.move_alias(watched, "x", "production", "v0")
    assert len(production.wait_for(1)) == 1
    # No filter: every alias of the collection; no payload template: every variable.
    requests = any_alias.wait_for(2)  # sent concurrently: in either order
    by_alias = {r.json()["alias"]: r for r in requests}
    assert sorted(by_alias) == ["production", "staging"]
    variables = by_alias["production"].json()
    assert variables["artifact_version_string"] == f"@{watched}/x:v0"
    assert variables["registry_name"] == watched
    assert variables["previous_version"] is None
    assert "webhook-signature" not in by_alias["production"].headers  # no secret, no signature
    assert len(production.settle(0.4)) == 1
    assert len(any_alias.requests) == 2


def test_a_template_naming_an_unknown_variable_is_refused_when_saved(strata, receiver):
    registry = strata.registry()
    hook = strata.webhook(receiver.url)
    for payload in ({"x": "${no_such_variable}"}, {"x": "run ${metric_value}"}):
        body = {
            "name": "bad-template",
            "event": {"event": "alias.added", "scope": {"type": "registry", "name": registry}},
            "action": {"action": "webhook", "integration": hook, "payload": payload},
        }
        response = strata.http.post("/automations", json=body)
        assert response.status_code == 422, response.text
        assert "unknown template variable" in response.text
    assert strata.http.get("/automations/bad-template").status_code == 404


# ---- acceptance 3: retries, dead letters, redelivery --------------------------------------


def _webhook_automation(strata, project, target_url, secret=None):
    """An automation on a fresh registry whose `production` alias is then added once."""
    registry = strata.registry()
    strata.models(project, registry, 1)
    name = strata.on_alias(registry, strata.webhook(target_url, secret=secret))
    strata.move_alias(registry, "x", "production", "v0")
    return name


def test_500_500_200_is_delivered_on_the_third_attempt(strata, receiver, project):
    receiver.reply(500, 500)
    secret = new_secret()
    name = _webhook_automation(strata, project, receiver.url, secret)

    [delivery] = strata.wait_status(name, "delivered")
    assert delivery["attempt_count"] == 3
    assert [a["number"] for a in delivery["attempts"]] == [1, 2, 3]
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
    assert all(a["latency_ms"] is not None for a in delivery["attempts"])
    assert delivery["last_status_code"] == 200

    requests = receiver.settle(0.5)
    assert len(requests) == 3
    # One message: the same webhook-id on every attempt, each attempt signed afresh.
    assert {r.headers["webhook-id"] for r in requests} == {delivery["id"]}
    for request in requests:
        Webhook(secret).verify(request.body, request.webhook_headers)
    gaps = [b.monotonic - a.monotonic for a, b in zip(requests, requests[1:], strict=False)]
    assert all(gap >= 0.3 * 0.9 - 0.01 for gap in gaps), gaps  # the schedule, minus jitter


def test_always_500_is_dead_after_the_schedule_then_redelivered_with_the_same_id(
    strata, receiver, project
):
    receiver.always(500)
    name = _webhook_automation(strata, project, receiver.url)

    [dead] = strata.wait_status(name, "dead")
    assert dead["attempt_count"] == len(RETRY_SCHEDULE)
    assert [a["status_code"] for a in dead["attempts"]] == [500] * len(RETRY_SCHEDULE)
    assert dead["next_attempt_at"] is None
    assert len(receiver.settle(0.8)) == len(RETRY_SCHEDULE)  # nothing after the schedule
    assert [d["id"] for d in strata.deliveries(name, status="dead")] == [dead["id"]]

    receiver.always(200)
    response = strata.http.post(f"/deliveries/{dead['id']}/redeliver")
    assert response.status_code == 200, response.text
    assert response.json()["id"] == dead["id"]
    [delivered] = strata.wait_status(name, "delivered")
    assert delivered["id"] == dead["id"]
    assert [a["status_code"] for a in delivered["attempts"]] == [500, 500, 500, 200]
    requests = receiver.settle(0.3)
    assert len(requests) == len(RETRY_SCHEDULE) + 1
    assert requests[-1].headers["webhook-id"] == dead["id"]
    assert requests[-1].body == requests[0].body


def test_redelivery_is_refused_while_the_delivery_is_in_flight(strata, receiver, project):
    receiver.reply(Reply(200, delay=1.2))
    name = _webhook_automation(strata, project, receiver.url)
    receiver.wait_for(1)
    [delivery] = strata.deliveries(name)
    assert delivery["status"] == "delivering"
    response = strata.http.post(f"/deliveries/{delivery['id']}/redeliver")
    assert response.status_code == 409, response.text
    strata.wait_status(name, "delivered")
    assert strata.http.post("/deliveries/msg_nonexistent/redeliver").status_code == 404


@pytest.mark.parametrize("status", [400, 410])
def test_other_4xx_answers_are_final_at_once(strata, receiver, project, status):
    receiver.always(status)
    name = _webhook_automation(strata, project, receiver.url)
    [delivery] = strata.wait_status(name, "failed")
    assert delivery["attempt_count"] == 1
    assert delivery["last_status_code"] == status
    assert f"HTTP {status}" in delivery["last_error"]
    assert len(receiver.settle(0.8)) == 1


@pytest.mark.parametrize("status", [408, 429, 503])
def test_408_429_and_5xx_are_retried(strata, receiver, project, status):
    receiver.reply(status)
    name = _webhook_automation(strata, project, receiver.url)
    [delivery] = strata.wait_status(name, "delivered")
    assert [a["status_code"] for a in delivery["attempts"]] == [status, 200]


def test_retry_after_is_honoured_when_longer_than_the_schedule(strata, receiver, project):
    receiver.reply(Reply(503, headers={"Retry-After": "1"}))  # the schedule says 0.3 s
    name = _webhook_automation(strata, project, receiver.url)
    first, second = receiver.wait_for(2, timeout=5)
    assert second.monotonic - first.monotonic >= 1.0
    [delivery] = strata.wait_status(name, "delivered")
    assert [a["status_code"] for a in delivery["attempts"]] == [503, 200]


def test_connection_errors_are_retried_then_dead(strata, project):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    name = _webhook_automation(strata, project, f"http://127.0.0.1:{port}/")
    [dead] = strata.wait_status(name, "dead")
    assert [a["status_code"] for a in dead["attempts"]] == [None] * len(RETRY_SCHEDULE)
    assert all("connect" in a["error"].lower() for a in dead["attempts"]), dead["attempts"]


def test_a_receiver_slower_than_the_timeout_is_retried(strata, receiver, project):
    receiver.reply(Reply(200, delay=3))  # the service waits 2 s (conftest)
    name = _webhook_automation(strata, project, receiver.url)
    [delivery] = strata.wait_status(name, "delivered", timeout=8)
    first, second = delivery["attempts"]
    assert first["status_code"] is None and "timeout" in first["error"].lower()
    assert second["status_code"] == 200
    requests = receiver.requests
    assert requests[0].headers["webhook-id"] == requests[1].headers["webhook-id"]


# ---- acceptance 4: Slack -----------------------------------------------------------------


def _slack_automations(strata, project, receiver, n=1, **notification):
    """`n` notification automations on one Slack integration, all firing when
    `production` is added in a fresh registry; returns (registry, automation names)."""
    registry = strata.registry()
    strata.models(project, registry, 1)
    slack = strata.slack(f"{receiver.url}/services/T0001/B0001/slacktoken", channel="#deploys")
    trigger = OnAddArtifactAlias(
        scope=Scope(type="registry", name=registry), filter=ArtifactEvent.alias.eq("production")
    )
    names = [
        strata.automation(trigger >> SendNotification(integration=slack, **notification))
        for _ in range(n)
    ]
    return registry, names


def test_slack_receives_incoming_webhook_json_within_block_kit_limits(strata, receiver, project):
    title = "Promoted ${artifact_version_string} " + "T" * 300
    text = "*${artifact_collection_name}* is in production (was ${previous_version}) " + "x" * 5000
    registry, [name] = _slack_automations(
        strata, project, receiver, title=title, text=text, severity="warning"
    )
    strata.move_alias(registry, "x", "production", "v0")

    [request] = receiver.wait_for(1)
    assert (request.method, request.path) == ("POST", "/services/T0001/B0001/slacktoken")
    assert request.headers["content-type"].startswith("application/json")
    message = request.json()
    assert isinstance(message["text"], str) and message["text"]
    assert f"@{registry}/x:v0" in message["text"]
    assert message["channel"] == "#deploys"
    blocks = message["blocks"]
    assert isinstance(blocks, list) and 1 <= len(blocks) <= 50
    kinds = [block["type"] for block in blocks]
    assert kinds[0] == "header"
    header = blocks[0]["text"]
    assert header["type"] == "plain_text"
    assert header["text"].startswith(f"Promoted @{registry}/x:v0 ")
    assert len(header["text"]) <= 150
    [section] = [block for block in blocks if block["type"] == "section"]
    assert section["text"]["type"] == "mrkdwn"
    assert section["text"]["text"].startswith("*x* is in production (was ) ")
    assert len(section["text"]["text"]) <= 3000
    for block in blocks:
        if block["type"] == "context":
            assert all(len(element["text"]) <= 2000 for element in block["elements"])
    assert len(message["text"]) <= 40_000
    [delivery] = strata.wait_status(name, "delivered")
    assert delivery["event_type"] == "alias.added"


def test_slack_429_retry_after_delays_the_next_attempt(strata, receiver, project):
    receiver.reply(Reply(429, headers={"Retry-After": "2"}, body=b"rate_limited"))
    registry, [name] = _slack_automations(strata, project, receiver, title="t", text="x")
    strata.move_alias(registry, "x", "production", "v0")

    first, second = receiver.wait_for(2, timeout=6)
    assert second.monotonic - first.monotonic >= 2.0
    assert second.body == first.body
    [delivery] = strata.wait_status(name, "delivered")
    assert [a["status_code"] for a in delivery["attempts"]] == [429, 200]
    assert len(receiver.settle(0.3)) == 2


def test_slack_gets_at_most_one_message_per_second_per_integration(strata, receiver, project):
    registry, names = _slack_automations(strata, project, receiver, n=3, title="t")
    strata.move_alias(registry, "x", "production", "v0")  # three messages at once

    requests = receiver.wait_for(3, timeout=6)
    gaps = [b.monotonic - a.monotonic for a, b in zip(requests, requests[1:], strict=False)]
    assert all(gap >= 0.9 for gap in gaps), gaps
    for name in names:
        [delivery] = strata.wait_status(name, "delivered")
        assert delivery["attempt_count"] == 1  # held back, not failed and retried
