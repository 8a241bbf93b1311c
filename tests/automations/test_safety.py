"""Acceptance 6: webhook targets in private, loopback and link-local ranges are refused at
save and at connect time unless allowlisted, redirects are never followed, secrets
never leave the service, and an automation cannot trigger itself in a loop."""

import socket
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import MetaData, create_engine

from automations.egress import EgressPolicy, EgressRefused, guarded_client
from tests.automations.conftest import (
    CHAIN_HEADER,
    Strata,
    new_secret,
    start_strata,
    stop_strata,
    unique,
)
from tests.automations.receiver import Receiver, Reply
from tests.conftest import Server

pytestmark = pytest.mark.timeout(60)


class Strict:
    """A service without an allowlist, over a store whose integration was saved while
    127.0.0.1 was still allowlisted."""

    def __init__(self, strata: Strata, receiver: Receiver, registry: str, automation: str):
        self.strata, self.receiver = strata, receiver
        self.registry, self.automation = registry, automation


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Strict]:
    home = tmp_path_factory.mktemp("strict") / "home"
    receiver = Receiver()
    allowing = start_strata(home)
    try:
        registry = allowing.registry()
        allowing.models("p-strict", registry, 1)
        automation = allowing.on_alias(registry, allowing.webhook(receiver.url))
    finally:
        stop_strata(allowing)
    strata = start_strata(home, {"STRATA_WEBHOOK_ALLOWED_HOSTS": ""})
    yield Strict(strata, receiver, registry, automation)
    stop_strata(strata)
    receiver.close()


# ---- refused when saved -----------------------------------------------------------------


def _private_targets(port: int) -> list[str]:
    return [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://10.0.0.1/",
        f"http://localhost:{port}/hook",  # a host name resolving to 127.0.0.1
        f"http://127.0.0.1:{port}/hook",
        "http://[::1]/",
        "http://192.168.1.10/",
        "http://100.64.0.1/",  # shared address space
        "http://0.0.0.0/",
    ]


def test_private_targets_are_refused_when_not_allowlisted(strict):
    api = strict.strata.http
    for url in _private_targets(strict.receiver.port):
        for body in (
            {"kind": "webhook", "name": unique("hook"), "url": url, "secret": new_secret()},
            {"kind": "slack", "name": unique("slack"), "webhook_url": url},
        ):
            response = api.post("/integrations", json=body)
            assert response.status_code == 422, (url, response.text)
            assert "STRATA_WEBHOOK_ALLOWED_HOSTS" in response.json()["detail"], response.text
            assert api.get(f"/integrations/{body['name']}").status_code == 404
    for url in (
        "ftp://example.com/",
        "http://user:pw@example.com/",
        "http://no-such-host.invalid/",
    ):
        body = {"kind": "webhook", "name": unique("hook"), "url": url}
        assert api.post("/integrations", json=body).status_code == 422, url


def test_the_allowlist_admits_only_what_it_names(strata, receiver):
    assert strata.webhook(receiver.url)  # 127.0.0.1 is allowlisted here
    for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://[::1]/"):
        body = {"kind": "webhook", "name": unique("hook"), "url": url}
        response = strata.http.post("/integrations", json=body)
        assert response.status_code == 422, (url, response.text)


def test_the_egress_policy_parses_hosts_and_networks():
    policy = EgressPolicy.parse(" 10.0.0.0/8 , Metadata.Internal. ,192.168.1.10")
    policy.check_url("http://10.1.2.3/")
    policy.check_url("http://192.168.1.10:8080/")
    for url in ("http://192.168.1.11/", "http://169.254.169.254/", "http://127.0.0.1/"):
        with pytest.raises(EgressRefused):
            policy.check_url(url)
    with pytest.raises(EgressRefused):
        EgressPolicy().check_url("http://[::ffff:127.0.0.1]/")  # IPv4-mapped loopback


# ---- refused when connecting --------------------------------------------------------------


def test_the_guarded_client_refuses_loopback_at_connect_time(receiver):
    with guarded_client(EgressPolicy(), httpx.Timeout(2)) as client:
        for url in (receiver.url, f"http://localhost:{receiver.port}/"):
            with pytest.raises(httpx.ConnectError, match="loopback"):
                client.post(url, content=b"{}")
    assert receiver.count == 0
    with guarded_client(EgressPolicy.parse("127.0.0.1"), httpx.Timeout(2)) as client:
        assert client.post(receiver.url, content=b"{}").status_code == 200
    assert receiver.count == 1


def test_a_name_that_re_resolves_to_loopback_is_refused_at_connect_time(receiver, monkeypatch):
    """DNS rebinding: the name passed the check at save, then points at 127.0.0.1."""
    real = socket.getaddrinfo
    answer = {"address": "93.184.216.34"}

    def fake(host, port, *args, **kwargs):
        if host == "rebind.test":
            return real(answer["address"], port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    policy = EgressPolicy()
    policy.check_url(f"http://rebind.test:{receiver.port}/")  # public when saved
    answer["address"] = "127.0.0.1"
    with guarded_client(policy, httpx.Timeout(2)) as client:
        with pytest.raises(httpx.ConnectError, match="loopback"):
            client.post(f"http://rebind.test:{receiver.port}/", content=b"{}")
    assert receiver.count == 0


def test_the_service_refuses_at_connect_time_a_target_saved_while_allowlisted(strict):
    strict.strata.move_alias(strict.registry, "x", "production", "v0")
    [delivery] = strict.strata.wait_deliveries(
        strict.automation, lambda rows: len(rows) == 1 and rows[0]["status"] == "failed"
    )
    assert delivery["attempt_count"] == 1
    assert delivery["last_status_code"] is None
    assert "loopback" in delivery["last_error"]
    assert strict.receiver.settle(0.5) == []


@pytest.mark.parametrize("where", ["private", "allowlisted"])
def test_redirects_are_not_followed(strata, make_receiver, project, where):
    receiver, elsewhere = make_receiver(), make_receiver()
    location = "http://10.0.0.1/" if where == "private" else f"{elsewhere.url}/followed"
    receiver.always(Reply(302, headers={"Location": location}))
    registry = strata.registry()
    strata.models(project, registry, 1)
    name = strata.on_alias(registry, strata.webhook(receiver.url))
    strata.move_alias(registry, "x", "production", "v0")

    [delivery] = strata.wait_status(name, "failed")
    assert delivery["attempt_count"] == 1
    assert delivery["last_status_code"] == 302
    assert "redirect" in delivery["last_error"]
    assert "10.0.0.1" not in delivery["last_error"]  # no attempt to connect there
    assert len(receiver.settle(0.6)) == 1
    assert elsewhere.requests == []


# ---- secrets --------------------------------------------------------------------------


def test_api_responses_never_contain_a_secret(strata, receiver, project):
    secret, token = new_secret(), "tok-" + unique("access")
    slack_path = f"/services/T0SECRET/B0SECRET/{unique('slacktoken')}"
    api = strata.http
    registry = strata.registry()
    strata.models(project, registry, 1)
    responses = []

    hook_body = {
        "kind": "webhook",
        "name": unique("hook"),
        "url": f"{receiver.url}/hook",
        "secret": secret,
        "access_token": token,
    }
    slack_body = {
        "kind": "slack",
        "name": unique("slack"),
        "webhook_url": receiver.url + slack_path,
    }
    for body in (hook_body, slack_body):
        responses.append(api.post("/integrations", json=body))
        assert responses[-1].status_code == 201, responses[-1].text
    hook, slack = responses[0].json(), responses[1].json()
    assert (hook["has_secret"], hook["has_access_token"]) == (True, True)
    assert hook["url"] == f"{receiver.url}/hook"
    assert slack["url"] == "127.0.0.1"  # the Slack URL is a secret: only its host shows

    scope = {"type": "registry", "name": registry}
    event = {"event": "alias.added", "scope": scope}
    automations = [
        {
            "name": unique("auto"),
            "event": event,
            "action": {"action": "webhook", "integration": hook["name"]},
        },
        {
            "name": unique("auto"),
            "event": event,
            "action": {"action": "notification", "integration": slack["name"], "title": "t"},
        },
    ]
    for body in automations:
        responses.append(api.post("/automations", json=body))
        assert responses[-1].status_code == 201, responses[-1].text
    strata.move_alias(registry, "x", "production", "v0")
    receiver.wait_for(2)
    for body in automations:
        [delivery] = strata.wait_status(body["name"], "delivered")
        responses.append(api.get(f"/deliveries/{delivery['id']}"))
        responses.append(api.get("/deliveries", params={"automation": body["name"]}))
        responses.append(api.get(f"/automations/{body['name']}"))
    for name in (hook["name"], slack["name"]):
        responses.append(api.get(f"/integrations/{name}"))
    responses += [api.get("/integrations"), api.get("/automations"), api.get("/deliveries")]

    secrets = [secret, secret.removeprefix("whsec_"), token, slack_path, "slacktoken", "0SECRET"]
    for response in responses:
        assert response.status_code in (200, 201), response.text
        for value in secrets:
            assert value not in response.text, (value, response.request.url)

    # And not in the clear at rest either.
    stored = stored_bytes(strata.server)
    assert hook["name"].encode() in stored  # the integration is there...
    for value in (secret, token, slack_path):
        assert value.encode() not in stored  # ...its secrets only encrypted


def stored_bytes(server: Server) -> bytes:
    """What the service's database holds: the SQLite files, or on PostgreSQL every value
    of every row (binary columns as their bytes, the rest as text)."""
    if server.database_url.startswith("sqlite"):
        return b"".join(p.read_bytes() for p in server.home.glob("registry.db*"))
    engine = create_engine(server.database_url)
    tables = MetaData()
    tables.reflect(engine)
    chunks: list[bytes] = []
    with engine.connect() as connection:
        for table in tables.sorted_tables:
            for row in connection.execute(table.select()):
                chunks += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    engine.dispose()
    return b"\n".join(chunks)


# ---- loop guard ---------------------------------------------------------------------------


def test_an_automation_cannot_trigger_itself_through_its_receiver(strata, make_receiver, project):
    """The receiver of `deploy` acts on each webhook by moving the alias that fires it,
    echoing the chain header as documented; without the guard this never ends."""
    registry = strata.registry()
    strata.models(project, registry, 2)
    looping, watcher = make_receiver(), make_receiver()
    payload = {"version": "${artifact_version}"}
    deploy = strata.on_alias(registry, strata.webhook(looping.url), payload=payload)
    watch = strata.on_alias(registry, strata.webhook(watcher.url), payload=payload)
    callbacks: list[httpx.Response] = []

    def act(request):
        other = "v1" if request.json()["version"] == "v0" else "v0"
        callbacks.append(
            httpx.put(
                f"{strata.url}/api/v1/registries/{registry}/collections/x/aliases/production",
                json={"version": other},
                headers={CHAIN_HEADER: request.headers[CHAIN_HEADER]},
                timeout=10,
            )
        )

    looping.hook = act
    strata.move_alias(registry, "x", "production", "v0")

    assert len(looping.wait_for(1)) == 1
    watched = watcher.wait_for(2)  # the original move, and the receiver's
    assert len(looping.settle(1.0)) == 1
    assert [r.status_code for r in callbacks] == [200]
    chains = {r.json()["version"]: r.headers[CHAIN_HEADER] for r in watched}
    ids = {a["name"]: str(a["id"]) for a in strata.http.get("/automations").json()}
    assert looping.requests[0].headers[CHAIN_HEADER] == ids[deploy]
    # The other automation is not in the chain, so it fires, carrying the chain on.
    assert chains == {"v0": ids[watch], "v1": f"{ids[deploy]},{ids[watch]}"}
    assert len(watcher.settle(0.3)) == 2
    assert len(strata.deliveries(deploy)) == 1

    # The guard is per chain: a move by anyone else fires `deploy` again (once).
    looping.hook = None
    strata.move_alias(registry, "x", "production", "v0")
    assert len(looping.wait_for(2)) == 2
