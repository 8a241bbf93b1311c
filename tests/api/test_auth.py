"""API keys and registry roles on a service with auth on: the `strata keys` commands,
revocation, the STRATA_AUTH default, keys naming the author, protected aliases, the
alias audit trail, and the SDK's handling of keys."""

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import sdk
from sdk.errors import NotFoundError, UnauthorizedError
from tests.api.auth_helpers import AuthServer, start_auth_server, strata
from tests.api.helpers import commit
from tests.conftest import Server, databases, free_port, stop_server, wait_healthy


@pytest.fixture(scope="module")
def auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    yield from start_auth_server(tmp_path_factory.mktemp("auth") / "home")


def test_keys_commands_show_the_secret_once_and_revocation_takes_effect(auth: AuthServer) -> None:
    name = f"ci-{uuid.uuid4().hex[:6]}"
    made = strata(auth.server, "keys", "create", "--name", name, "--role", "write")
    assert made.returncode == 0, made.stderr
    secret = next(line for line in made.stdout.splitlines() if line.startswith("strata_"))
    assert "cannot be shown again" in made.stdout
    with auth.client(secret) as api:
        assert api.get("/projects").status_code == 200
        assert api.get("/keys").status_code == 403  # a write key is no admin

    listed = strata(auth.server, "keys", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows[name]["role"] == "write" and rows[name]["revoked_at"] is None
    assert rows[name]["last_used_at"] is not None, "the first use is recorded"
    assert secret not in listed.stdout and secret[20:] not in listed.stdout
    text = strata(auth.server, "keys", "list").stdout
    assert name in text and secret not in text

    duplicate = strata(auth.server, "keys", "create", "--name", name)
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    bad_role = strata(auth.server, "keys", "create", "--name", "x", "--role", "root")
    assert bad_role.returncode == 2

    revoked = strata(auth.server, "keys", "revoke", name)
    assert revoked.returncode == 0, revoked.stderr
    with auth.client(secret) as api:
        refused = api.get("/projects")
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert refused.headers["www-authenticate"] == "Bearer"
    unknown = strata(auth.server, "keys", "revoke", "nobody")
    assert unknown.returncode == 1 and "does not exist" in unknown.stderr


def test_revoking_through_the_api_and_by_id(auth: AuthServer) -> None:
    name, secret = auth.make_key("read")
    with auth.admin as api:
        key_id = next(k["id"] for k in api.get("/keys").json() if k["name"] == name)
        revoked = api.delete(f"/keys/{key_id}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    with auth.client(secret) as api:
        assert api.get("/projects").status_code == 401


def test_requests_without_a_valid_key(auth: AuthServer) -> None:
    with auth.client(None) as api:
        response = api.get("/projects")
        assert response.status_code == 401 and "API key" in response.json()["detail"]
        assert httpx.get(f"{auth.server.url}/healthz").status_code == 200
    for header in ("Bearer", "Bearer strata_nope", "Basic abc", auth.admin_secret):
        with auth.server.api(headers={"Authorization": header}) as api:
            assert api.get("/projects").status_code == 401, header
    tampered = auth.admin_secret[:-1] + ("A" if auth.admin_secret[-1] != "A" else "B")
    with auth.client(tampered) as api:
        assert api.get("/projects").status_code == 401


def test_the_key_names_the_author_not_the_header(auth: AuthServer) -> None:
    name, secret = auth.make_key("write")
    project = f"p-{uuid.uuid4().hex[:8]}"
    with auth.client(secret) as api:
        api.headers["strata-author"] = "someone-else"
        commit(api, project, "data", {"a": b"1"})
        commit(api, project, "data", {"a": b"2"})
        assert (
            api.put(
                f"/projects/{project}/collections/data/aliases/best", json={"version": "v0"}
            ).status_code
            == 200
        )
        assert (
            api.put(
                f"/projects/{project}/collections/data/aliases/best", json={"version": "v1"}
            ).status_code
            == 200
        )
        history = api.get(f"/projects/{project}/collections/data/alias-history").json()
    assert [(m["alias"], m["from_version"], m["to_version"], m["actor"]) for m in history] == [
        ("best", "v0", "v1", name),
        ("best", None, "v0", name),
    ]


def registry_with_members(auth: AuthServer) -> tuple[str, dict[str, str]]:
    """A restricted registry protecting `production`, and keys of each registry role."""
    registry = f"models-{uuid.uuid4().hex[:6]}"
    with auth.admin as api:
        body = {"name": registry, "visibility": "restricted", "protected_aliases": ["production"]}
        assert api.post("/registries", json=body).status_code == 201
    secrets = {}
    for role in ("viewer", "member", "admin"):
        name, secrets[role] = auth.make_key("write")
        with auth.admin as api:
            url = f"/registries/{registry}/members/{name}"
            assert api.put(url, json={"role": role}).status_code == 200
    secrets["outsider"] = auth.make_key("write")[1]
    return registry, secrets


def test_protected_aliases_move_only_for_registry_admins(auth: AuthServer) -> None:
    registry, secrets = registry_with_members(auth)
    project = f"p-{uuid.uuid4().hex[:8]}"
    portfolio = f"/registries/{registry}/collections/clf"
    with auth.admin as api:
        commit(api, project, "clf", {"m": b"1"}, type="model")
        commit(api, project, "clf", {"m": b"2"}, type="model")

    def link(who: str, version: str, aliases: list[str]) -> httpx.Response:
        body = {"project": project, "collection": "clf", "version": version, "aliases": aliases}
        with auth.client(secrets[who]) as api:
            return api.post(f"{portfolio}/links", json=body)

    assert link("viewer", "v0", []).status_code == 403
    assert link("outsider", "v0", []).status_code == 404
    assert link("member", "v0", ["staging"]).status_code == 201
    refused = link("member", "v1", ["production"])
    assert refused.status_code == 403 and "protected" in refused.json()["detail"]
    assert link("admin", "v1", ["production"]).status_code == 201

    def move(who: str, alias: str, version: str) -> int:
        with auth.client(secrets[who]) as api:
            return api.put(f"{portfolio}/aliases/{alias}", json={"version": version}).status_code

    assert move("member", "production", "v0") == 403
    assert move("viewer", "staging", "v1") == 403
    assert move("member", "staging", "v1") == 200
    assert move("admin", "production", "v0") == 200
    with auth.client(secrets["member"]) as api:
        assert api.delete(f"{portfolio}/aliases/production").status_code == 403
        # Aliases set through a version update are checked alike.
        update = api.patch(f"{portfolio}/versions/v1", json={"aliases": ["production"]})
        assert update.status_code == 403
        # Unlinking the version holding `production` would remove it too.
        assert api.delete(f"{portfolio}/versions/v0").status_code == 403
        history = api.get(f"{portfolio}/alias-history", params={"alias": "production"}).json()
    with auth.admin as api:
        assert api.get(f"{portfolio}/versions/production").json()["version"] == "v0"
    # The trail of `production`: who, from which version to which, newest first.
    assert [(m["from_version"], m["to_version"]) for m in history] == [("v1", "v0"), (None, "v1")]
    assert all(m["collection"] == f"@{registry}/clf" for m in history)
    assert len({m["actor"] for m in history}) == 1 and history[0]["actor"] != ""


def test_an_organization_registry_is_read_by_all_and_changed_by_members(auth: AuthServer) -> None:
    registry = f"open-{uuid.uuid4().hex[:6]}"
    project = f"p-{uuid.uuid4().hex[:8]}"
    with auth.admin as api:
        assert api.post("/registries", json={"name": registry}).status_code == 201
        commit(api, project, "clf", {"m": b"1"}, type="model")
    _, secret = auth.make_key("write")
    body = {"project": project, "collection": "clf", "version": "v0"}
    with auth.client(secret) as api:
        assert api.get(f"/registries/{registry}").status_code == 200
        refused = api.post(f"/registries/{registry}/collections/clf/links", json=body)
    assert refused.status_code == 403 and "not a member" in refused.json()["detail"]


def test_sdk_sends_the_key_and_raises_unauthorized(
    auth: AuthServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry, secrets = registry_with_members(auth)
    project = f"p-{uuid.uuid4().hex[:8]}"
    with pytest.raises(UnauthorizedError, match="API key"):
        sdk.Api(url=auth.server.url, project=project).projects()
    reader_name, reader = auth.make_key("read")
    api = sdk.Api(url=auth.server.url, api_key=reader, project=project)
    with pytest.raises(UnauthorizedError, match="role admin"):
        api.create_registry(f"r-{uuid.uuid4().hex[:6]}")
    with pytest.raises(NotFoundError):
        api.registry(registry)
    admin = sdk.Api(url=auth.server.url, api_key=auth.admin_secret, project=project)
    found = admin.registry(registry)
    found.add_member(reader_name, "viewer")
    assert {m["key"]: m["role"] for m in found.members()}[reader_name] == "viewer"
    assert api.registry(registry).name == registry
    found.remove_member(reader_name)
    with pytest.raises(NotFoundError):
        api.registry(registry)
    # STRATA_API_KEY is the key when none is passed.
    monkeypatch.setenv("STRATA_API_KEY", auth.admin_secret)
    assert [i.name for i in sdk.Api(url=auth.server.url).integrations()] == []


def test_registry_member_and_alias_history_commands(auth: AuthServer) -> None:
    registry, _ = registry_with_members(auth)
    name, _ = auth.make_key("read")
    env = {"STRATA_API_KEY": auth.admin_secret}
    added = run_cli(auth.server, env, "registry", "add-member", registry, name, "--role", "viewer")
    assert added.returncode == 0, added.stderr
    listed = run_cli(auth.server, env, "registry", "members", registry, "--json")
    assert {m["key"]: m["role"] for m in json.loads(listed.stdout)}[name] == "viewer"
    removed = run_cli(auth.server, env, "registry", "remove-member", registry, name)
    assert removed.returncode == 0, removed.stderr
    no_key = run_cli(auth.server, {}, "registry", "members", registry)
    assert no_key.returncode == 1 and "API key" in no_key.stderr


def run_cli(server: Server, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "STRATA_API_KEY"}
    environment.update({"STRATA_URL": server.url, **env})
    return subprocess.run(
        [sys.executable, "-m", "registry", *args], env=environment, capture_output=True, text=True
    )


def test_auth_defaults_to_on_beyond_loopback(tmp_path: Path) -> None:
    """Bound to 0.0.0.0 with STRATA_AUTH unset, the service requires keys and says so;
    on loopback it is open and says that."""
    for host, auth_on in (("0.0.0.0", True), ("127.0.0.1", False)):
        home = tmp_path / host
        home.mkdir()
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if k != "STRATA_AUTH"},
            "STRATA_HOME": str(home),
            "STRATA_DATABASE_URL": databases.url(home),
            "STRATA_HOST": host,
            "STRATA_PORT": str(port),
        }
        log = tmp_path / f"{host}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "registry", "serve"], env=env, stdout=out, stderr=out
            )
        server = Server(f"http://127.0.0.1:{port}", home, process, env["STRATA_DATABASE_URL"])
        try:
            wait_healthy(server, timeout=30)
            status = httpx.get(f"{server.url}/api/v1/projects").status_code
            line = log.read_text().splitlines()[0]
        finally:
            stop_server(server)
        assert status == (401 if auth_on else 200), host
        assert ("auth on" in line) == auth_on and ("auth OFF" in line) != auth_on, line
