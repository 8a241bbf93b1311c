"""Acceptance 5: events are written in the transaction of the change (outbox): a change
that fails after its alias write fires nothing, and a committed one is delivered even
when the service is killed before (or while) delivering it."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from automations.models import Event
from registry.db import make_engine, read_only, session_scope
from tests.automations.conftest import Strata, start_strata, stop_strata
from tests.automations.receiver import Reply

pytestmark = pytest.mark.timeout(90)


def alias_events(strata: Strata, registry: str) -> list[dict]:
    """The `alias.added` events of `registry` in the outbox table, read from the store."""
    engine = make_engine(strata.server.database_url)
    try:
        with session_scope(read_only(engine), read_only=True) as session:
            query = select(Event.variables).where(Event.type == "alias.added")
            variables = list(session.exec(query))
    finally:
        engine.dispose()
    return [v for v in variables if v.get("registry_name") == registry]


def test_a_transaction_failing_after_the_alias_write_fires_nothing(strata, receiver, project):
    registry = strata.registry()
    strata.models(project, registry, 2)
    name = strata.on_alias(registry, strata.webhook(receiver.url))
    version = f"/registries/{registry}/collections/x/versions/v0"

    # update_version writes the aliases, then refuses the tag: the whole PATCH rolls back.
    response = strata.http.patch(version, json={"aliases": ["production"], "tags": ["not ok!"]})
    assert 400 <= response.status_code < 500, response.text
    assert "tag" in response.text
    assert "production" not in strata.http.get(version).json()["aliases"]
    assert receiver.settle(0.6) == []
    assert strata.deliveries(name) == []
    assert [e["alias"] for e in alias_events(strata, registry) if e["alias"] != "latest"] == []

    # The same PATCH with a valid tag commits, and fires exactly once.
    response = strata.http.patch(version, json={"aliases": ["production"], "tags": ["ok"]})
    assert response.status_code == 200, response.text
    [request] = receiver.wait_for(1)
    assert request.json()["alias"] == "production"
    assert len(receiver.settle(0.4)) == 1
    assert len(strata.wait_status(name, "delivered")) == 1


def test_a_patch_fires_only_for_the_aliases_it_adds_or_moves(strata, receiver, project):
    """Replacing a version's aliases with a set that keeps `production` where it is
    publishes nothing for it; moving it by a PATCH of another version publishes once."""
    registry = strata.registry()
    strata.models(project, registry, 2)
    strata.move_alias(registry, "x", "production", "v0")
    name = strata.on_alias(
        registry, strata.webhook(receiver.url), payload={"prev": "${previous_version}"}
    )
    versions = f"/registries/{registry}/collections/x/versions"
    response = strata.http.patch(f"{versions}/v0", json={"aliases": ["production", "staging"]})
    assert response.status_code == 200, response.text
    assert sorted(response.json()["aliases"]) == ["production", "staging"]
    response = strata.http.patch(f"{versions}/v0", json={"aliases": ["production"]})
    assert response.status_code == 200, response.text
    assert receiver.settle(0.6) == []
    assert strata.deliveries(name) == []

    response = strata.http.patch(f"{versions}/v1", json={"aliases": ["production"]})
    assert response.status_code == 200, response.text
    [request] = receiver.wait_for(1)
    assert request.json() == {"prev": "v0"}
    assert len(receiver.settle(0.4)) == 1


# ---- killed service -----------------------------------------------------------------------


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Callable[..., Strata]]:
    """Start services on one STRATA_HOME (restarts share the store); all stopped after."""
    started: list[Strata] = []

    def start(**env: str) -> Strata:
        started.append(start_strata(tmp_path / "home", env))
        return started[-1]

    yield start
    for service in started:
        stop_strata(service)


def kill(strata: Strata) -> None:
    strata.server.process.kill()  # SIGKILL: no shutdown, nothing flushed by the service
    strata.server.process.wait(10)
    strata.close()


def test_a_committed_alias_move_is_delivered_after_sigkill_and_restart(services, receiver, project):
    first = services(STRATA_SERVE_WORKER="false")  # commits events, never delivers
    registry = first.registry()
    first.models(project, registry, 2)
    name = first.on_alias(
        registry, first.webhook(receiver.url), payload={"prev": "${previous_version}"}
    )
    first.move_alias(registry, "x", "production", "v0")
    first.move_alias(registry, "x", "production", "v1")
    queued = first.deliveries(name)
    assert [(d["status"], d["attempt_count"]) for d in queued] == [("pending", 0)] * 2
    assert receiver.settle(0.6) == []
    kill(first)

    second = services()  # the same store, with the delivery worker
    requests = receiver.wait_for(2, timeout=5)
    assert len(receiver.settle(0.6)) == 2  # each exactly once
    assert sorted(r.headers["webhook-id"] for r in requests) == sorted(d["id"] for d in queued)
    assert sorted(str(r.json()["prev"]) for r in requests) == ["None", "v0"]
    assert len(second.wait_status(name, "delivered", n=2)) == 2


def test_a_delivery_in_flight_when_killed_is_sent_again_after_restart(services, receiver, project):
    receiver.reply(Reply(200, delay=10))  # the first attempt hangs until the kill
    first = services(STRATA_DELIVERY_LEASE_SECONDS="1", STRATA_DELIVERY_TIMEOUT_SECONDS="20")
    registry = first.registry()
    first.models(project, registry, 1)
    name = first.on_alias(registry, first.webhook(receiver.url))
    first.move_alias(registry, "x", "production", "v0")
    [hung] = receiver.wait_for(1)
    kill(first)

    second = services(STRATA_DELIVERY_LEASE_SECONDS="1")
    requests = receiver.wait_for(2, timeout=10)
    assert requests[1].headers["webhook-id"] == hung.headers["webhook-id"]
    assert requests[1].body == hung.body
    [delivery] = second.wait_status(name, "delivered")
    assert delivery["id"] == hung.headers["webhook-id"]
    assert delivery["attempts"][-1]["status_code"] == 200
    assert len(receiver.settle(1.5)) == 2  # delivered: its lease no longer returns it
