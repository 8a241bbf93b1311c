"""The authorization matrix (issue 6, acceptance 1): every route of the app x {no key,
read, write, admin, a write key that is not a member of a restricted registry}, on a
service with STRATA_AUTH=on. The expected key role of each route is written here, apart
from the service's own table (registry/api/access.py): a route the app serves that has
no case here fails the test, and so does a case for a route that no longer exists.

Then: a restricted registry is invisible (404, as if missing) to the non-member in
routes, searches, resolve and lineage; and no response carries a key's secret or its
hash, or an integration's secrets.
"""

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from registry.api.access import app_routes
from registry.main import create_app
from registry.settings import Settings
from sdk.digest import hash_bytes
from tests.api.auth_helpers import AuthServer, start_auth_server
from tests.api.helpers import commit, frames, manifest_of, put_blob

API = "/api/v1"
WHO = ("none", "read", "write", "admin", "outsider")
WEBHOOK_SECRET = "whsec_" + "c2VjcmV0LXRoYXQtbXVzdC1uZXZlci1sZWFr"
ACCESS_TOKEN = "token-that-must-never-leak-" + uuid.uuid4().hex


@dataclass
class World:
    """What the cases act on, made with the admin key."""

    auth: AuthServer
    keys: dict[str, str]  # who -> key name
    project: str
    secret: str  # a restricted registry: `read` is a viewer, `write` a member
    open: str  # an organization registry: `write` and `outsider` are members
    delivery: str
    responses: list[httpx.Response]

    @property
    def admin(self) -> httpx.Client:
        return self.auth.admin

    def fresh(self, prefix: str = "x") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def commit(self, collection: str = "data") -> dict[str, Any]:
        with self.admin as api:
            return commit(api, self.project, collection, {"f": uuid.uuid4().bytes})["version"]

    def link(self, registry: str, source: str) -> dict[str, Any]:
        with self.admin as api:
            body = {"project": self.project, "collection": "data", "version": source}
            response = api.post(f"/registries/{registry}/collections/models/links", json=body)
        assert response.status_code == 201, response.text
        return response.json()["version"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    env = {"STRATA_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "STRATA_DELIVERY_POLL_SECONDS": "0.2"}
    home = tmp_path_factory.mktemp("auth") / "home"
    for auth in start_auth_server(home, env):
        keys = {
            who: auth.make_key(role)[0]
            for who, role in (("read", "read"), ("write", "write"), ("outsider", "write"))
        }
        keys["admin"] = "root"
        project, secret, open_ = (f"{p}-{uuid.uuid4().hex[:8]}" for p in ("p", "secret", "open"))
        with auth.admin as api:
            for name, visibility in ((secret, "restricted"), (open_, "organization")):
                body = {"name": name, "visibility": visibility, "protected_aliases": ["production"]}
                assert api.post("/registries", json=body).status_code == 201
            memberships = [
                (secret, keys["read"], "viewer"),
                (secret, keys["write"], "member"),
                (open_, keys["write"], "member"),
                (open_, keys["outsider"], "member"),
            ]
            for registry, key, role in memberships:
                url = f"/registries/{registry}/members/{key}"
                assert api.put(url, json={"role": role}).status_code == 200
            hook = {
                "kind": "webhook",
                "name": "hook",
                "url": "http://127.0.0.1:9/hook",
                "secret": WEBHOOK_SECRET,
                "access_token": ACCESS_TOKEN,
            }
            assert api.post("/integrations", json=hook).status_code == 201
            assert api.post("/automations", json=automation(project, "watch")).status_code == 201
            commit(api, project, "data", {"a": b"first"})
            commit(api, project, "data", {"a": b"second"})
            assert api.post(f"{run_url(project)}", json={"id": "r1"}).status_code == 201
            used = {"project": project, "collection": "data", "version": "v0"}
            assert api.post(f"{run_url(project)}/r1/inputs", json=used).status_code == 201
            delivery = api.get("/deliveries").json()[0]["id"]
        made = World(auth, keys, project, secret, open_, delivery, [])
        made.link(secret, "v0")
        made.link(open_, "v0")
        yield made


def automation(project: str, name: str) -> dict[str, Any]:
    return {
        "name": name,
        "event": {"event": "artifact.created", "scope": {"type": "project", "name": project}},
        "action": {"action": "no_op"},
    }


def run_url(project: str) -> str:
    return f"/projects/{project}/runs"


# ---- the cases -------------------------------------------------------------------------

Call = tuple[str, dict[str, Any]]  # (url under /api/v1 or absolute from "/", httpx kwargs)


@dataclass
class Case:
    method: str
    path: str  # the route's path template, as the app declares it
    role: str  # public | read | write | admin
    ok: int  # the status of a permitted call
    call: Callable[[World], Call]  # builds one call (setting up what it needs as admin)
    hidden: bool = False  # acts inside the restricted registry: the outsider gets 404

    @property
    def page(self) -> bool:
        """A web page: without a key it sends the browser to sign in."""
        return not self.path.startswith(API) and self.path not in NOT_PAGES


CASES: list[Case] = []
NOT_PAGES = ("/healthz", "/metrics", "/openapi.json", "/docs", "/redoc")


def case(method: str, path: str, role: str, ok: int, hidden: bool = False) -> Callable[..., Any]:
    def register(call: Callable[[World], Call]) -> Callable[[World], Call]:
        CASES.append(Case(method, path, role, ok, call, hidden))
        return call

    return register


def simple(
    method: str,
    path: str,
    role: str,
    ok: int,
    url: Callable[[World], str],
    body: Any = None,
    hidden: bool = False,
) -> None:
    kwargs = {} if body is None else {"json": body}
    CASES.append(Case(method, path, role, ok, lambda w: (url(w), dict(kwargs)), hidden))


PC = API + "/projects/{project}/collections/{collection}"
RC = API + "/registries/{registry}/collections/{collection}"
DIGEST = hash_bytes(b"first")

simple("GET", "/healthz", "public", 200, lambda w: "/healthz")
simple("GET", "/metrics", "read", 200, lambda w: "/metrics")
simple("GET", "/openapi.json", "read", 200, lambda w: "/openapi.json")
simple("GET", "/docs", "read", 200, lambda w: "/docs")
simple("GET", "/redoc", "read", 200, lambda w: "/redoc")

simple(
    "POST", API + "/blobs/missing", "read", 200, lambda w: "blobs/missing", {"digests": [DIGEST]}
)
simple("POST", API + "/blobs/fetch", "read", 200, lambda w: "blobs/fetch", {"digests": [DIGEST]})
simple("GET", API + "/blobs/{digest}", "read", 200, lambda w: f"blobs/{DIGEST}")
simple(
    "POST",
    API + "/blobs/downloads",
    "read",
    200,
    lambda w: "blobs/downloads",
    {"digests": [DIGEST]},
)
simple("POST", API + "/blobs/uploads", "write", 200, lambda w: "blobs/uploads", {"count": 1})
simple(
    "POST",
    API + "/blobs/uploads/complete",
    "write",
    201,
    lambda w: "blobs/uploads/complete",
    {"blobs": [], "packs": []},
)


@case("PUT", API + "/blobs/{digest}", "write", 201)
def _put_blob(w: World) -> Call:
    return f"blobs/{hash_bytes(b'put')}", {"content": b"put"}


@case("POST", API + "/blobs/batch", "write", 201)
def _batch(w: World) -> Call:
    return "blobs/batch", {"content": frames(b"batched")}


simple("GET", API + "/projects", "read", 200, lambda w: "projects")
simple("GET", API + "/projects/{project}", "read", 200, lambda w: f"projects/{w.project}")
simple(
    "GET", API + "/projects/{project}/usage", "read", 200, lambda w: f"projects/{w.project}/usage"
)
simple(
    "GET", API + "/projects/{project}/types", "read", 200, lambda w: f"projects/{w.project}/types"
)
simple(
    "GET",
    API + "/projects/{project}/collections",
    "read",
    200,
    lambda w: f"projects/{w.project}/collections",
)
simple("GET", PC, "read", 200, lambda w: f"projects/{w.project}/collections/data")
simple(
    "PATCH",
    PC,
    "write",
    200,
    lambda w: f"projects/{w.project}/collections/data",
    {"description": "d"},
)


@case("DELETE", PC, "write", 204)
def _delete_collection(w: World) -> Call:
    name = w.fresh("c")
    w.commit(name)
    return f"projects/{w.project}/collections/{name}", {}


@case("DELETE", RC, "write", 204, hidden=True)
def _delete_portfolio(w: World) -> Call:
    name = w.fresh("p")
    body = {"project": w.project, "collection": "data", "version": w.commit()["version"]}
    with w.admin as api:
        linked = api.post(f"/registries/{w.secret}/collections/{name}/links", json=body)
    assert linked.status_code == 201, linked.text
    return f"registries/{w.secret}/collections/{name}", {}


@case("POST", PC + "/versions", "write", 201)
def _commit(w: World) -> Call:
    manifest = manifest_of({"a": b"first"}).to_bytes()
    with w.admin as api:
        assert put_blob(api, manifest).status_code == 201
    body = {"type": "dataset", "manifest_digest": hash_bytes(manifest)}
    return f"projects/{w.project}/collections/data/versions", {"json": body}


def version_cases(prefix: str, hidden: bool) -> None:
    """The routes of routes/versions.py under a project collection or a portfolio (of the
    restricted registry)."""

    def base(w: World) -> str:
        return (
            f"registries/{w.secret}/collections/models"
            if hidden
            else (f"projects/{w.project}/collections/data")
        )

    simple("GET", prefix + "/versions", "read", 200, lambda w: f"{base(w)}/versions", hidden=hidden)
    for tail in ("", "/files", "/consumers", "/lineage"):
        simple(
            "GET",
            prefix + "/versions/{selector}" + tail,
            "read",
            200,
            lambda w, tail=tail: f"{base(w)}/versions/v0{tail}",
            hidden=hidden,
        )
    simple(
        "PATCH",
        prefix + "/versions/{selector}",
        "write",
        200,
        lambda w: f"{base(w)}/versions/v0",
        {"tags": ["checked"]},
        hidden=hidden,
    )
    simple(
        "PUT",
        prefix + "/aliases/{alias}",
        "write",
        200,
        lambda w: f"{base(w)}/aliases/staging",
        {"version": "v0"},
        hidden=hidden,
    )
    simple(
        "GET",
        prefix + "/alias-history",
        "read",
        200,
        lambda w: f"{base(w)}/alias-history",
        hidden=hidden,
    )

    @case("DELETE", prefix + "/versions/{selector}", "write", 204, hidden)
    def _delete(w: World) -> Call:
        version = w.commit()
        if hidden:
            version = w.link(w.secret, version["version"])
        return f"{base(w)}/versions/{version['version']}", {}

    @case("DELETE", prefix + "/aliases/{alias}", "write", 204, hidden)
    def _remove_alias(w: World) -> Call:
        alias = w.fresh("a")
        with w.admin as api:
            set_ = api.put(f"{base(w)}/aliases/{alias}", json={"version": "v0"})
        assert set_.status_code == 200, set_.text
        return f"{base(w)}/aliases/{alias}", {}


version_cases(PC, hidden=False)
version_cases(RC, hidden=True)


@case("POST", API + "/registries", "admin", 201)
def _create_registry(w: World) -> Call:
    return "registries", {"json": {"name": w.fresh("r")}}


simple("GET", API + "/registries", "read", 200, lambda w: "registries")
simple(
    "GET",
    API + "/registries/{registry}",
    "read",
    200,
    lambda w: f"registries/{w.secret}",
    hidden=True,
)
simple(
    "PATCH",
    API + "/registries/{registry}",
    "admin",
    200,
    lambda w: f"registries/{w.secret}",
    {"description": "d"},
    hidden=True,
)


@case("DELETE", API + "/registries/{registry}", "admin", 204, hidden=True)
def _delete_registry(w: World) -> Call:
    name = w.fresh("r")
    with w.admin as api:
        body = {"name": name, "visibility": "restricted"}
        assert api.post("/registries", json=body).status_code == 201
    return f"registries/{name}", {}


simple(
    "GET",
    API + "/registries/{registry}/members",
    "read",
    200,
    lambda w: f"registries/{w.secret}/members",
    hidden=True,
)
simple(
    "PUT",
    API + "/registries/{registry}/members/{key}",
    "admin",
    200,
    lambda w: f"registries/{w.secret}/members/{w.keys['read']}",
    {"role": "viewer"},
    hidden=True,
)


@case("DELETE", API + "/registries/{registry}/members/{key}", "admin", 204, hidden=True)
def _remove_member(w: World) -> Call:
    name, _ = w.auth.make_key("read")
    with w.admin as api:
        added = api.put(f"/registries/{w.secret}/members/{name}", json={"role": "viewer"})
    assert added.status_code == 200, added.text
    return f"registries/{w.secret}/members/{name}", {}


simple(
    "GET",
    API + "/registries/{registry}/collections",
    "read",
    200,
    lambda w: f"registries/{w.secret}/collections",
    hidden=True,
)
simple("GET", RC, "read", 200, lambda w: f"registries/{w.secret}/collections/models", hidden=True)
simple(
    "PATCH",
    RC,
    "write",
    200,
    lambda w: f"registries/{w.secret}/collections/models",
    {"tags": ["vision"]},
    hidden=True,
)
simple(
    "POST",
    RC + "/links",
    "write",
    201,
    lambda w: f"registries/{w.secret}/collections/models/links",
    {"project": "PROJECT", "collection": "data", "version": "v1"},
    hidden=True,
)

simple(
    "GET",
    API + "/resolve",
    "read",
    200,
    lambda w: f"resolve?path=@{w.secret}/models:v0",
    hidden=True,
)
simple("POST", API + "/query/registries", "read", 200, lambda w: "query/registries", {})
simple("POST", API + "/query/runs", "read", 200, lambda w: "query/runs", {})
simple(
    "POST",
    API + "/query/collections",
    "read",
    200,
    lambda w: "query/collections",
    {"registry": "SECRET"},
    hidden=True,
)
simple(
    "POST",
    API + "/query/versions",
    "read",
    200,
    lambda w: "query/versions",
    {"registry": "SECRET"},
    hidden=True,
)

RUN = API + "/projects/{project}/runs"


@case("POST", RUN, "write", 201)
def _start_run(w: World) -> Call:
    return f"projects/{w.project}/runs", {"json": {"name": "train"}}


simple("GET", RUN, "read", 200, lambda w: f"projects/{w.project}/runs")
simple("GET", RUN + "/{run_id}", "read", 200, lambda w: f"projects/{w.project}/runs/r1")
simple(
    "PATCH",
    RUN + "/{run_id}",
    "write",
    200,
    lambda w: f"projects/{w.project}/runs/r1",
    {"summary": {"acc": 0.9}},
)
simple(
    "POST",
    RUN + "/{run_id}/metrics",
    "write",
    204,
    lambda w: f"projects/{w.project}/runs/r1/metrics",
    {"points": [{"key": "loss", "step": 1, "value": 0.5, "timestamp": "2026-01-01T00:00:00"}]},
)
simple(
    "GET", RUN + "/{run_id}/metrics", "read", 200, lambda w: f"projects/{w.project}/runs/r1/metrics"
)
simple(
    "POST",
    RUN + "/{run_id}/inputs",
    "write",
    201,
    lambda w: f"projects/{w.project}/runs/r1/inputs",
    {"registry": "SECRET", "collection": "models", "version": "v0"},
    hidden=True,
)
simple(
    "GET", RUN + "/{run_id}/lineage", "read", 200, lambda w: f"projects/{w.project}/runs/r1/lineage"
)
simple(
    "GET",
    RUN + "/{run_id}/artifacts",
    "read",
    200,
    lambda w: f"projects/{w.project}/runs/r1/artifacts",
)


@case("POST", API + "/automations", "admin", 201)
def _create_automation(w: World) -> Call:
    return "automations", {"json": automation(w.project, w.fresh("auto"))}


simple("GET", API + "/automations", "admin", 200, lambda w: "automations")
simple("GET", API + "/automations/{name}", "admin", 200, lambda w: "automations/watch")
simple(
    "PATCH",
    API + "/automations/{name}",
    "admin",
    200,
    lambda w: "automations/watch",
    {"description": "d"},
)


@case("DELETE", API + "/automations/{name}", "admin", 204)
def _delete_automation(w: World) -> Call:
    name = w.fresh("auto")
    with w.admin as api:
        assert api.post("/automations", json=automation(w.project, name)).status_code == 201
    return f"automations/{name}", {}


@case("POST", API + "/integrations", "admin", 201)
def _create_integration(w: World) -> Call:
    body = {
        "kind": "webhook",
        "name": w.fresh("hook"),
        "url": "http://127.0.0.1:9/x",
        "secret": WEBHOOK_SECRET,
    }
    return "integrations", {"json": body}


simple("GET", API + "/integrations", "admin", 200, lambda w: "integrations")
simple("GET", API + "/integrations/{name}", "admin", 200, lambda w: "integrations/hook")


@case("DELETE", API + "/integrations/{name}", "admin", 204)
def _delete_integration(w: World) -> Call:
    name = w.fresh("hook")
    body = {"kind": "webhook", "name": name, "url": "http://127.0.0.1:9/x"}
    with w.admin as api:
        assert api.post("/integrations", json=body).status_code == 201
    return f"integrations/{name}", {}


simple("GET", API + "/deliveries", "admin", 200, lambda w: "deliveries")
simple("GET", API + "/deliveries/{delivery_id}", "admin", 200, lambda w: f"deliveries/{w.delivery}")


@case("POST", API + "/deliveries/{delivery_id}/redeliver", "admin", 200)
def _redeliver(w: World) -> Call:
    deadline = time.monotonic() + 30
    with w.admin as api:
        while api.get(f"/deliveries/{w.delivery}").json()["status"] != "delivered":
            assert time.monotonic() < deadline, "the no-op delivery never completed"
            time.sleep(0.1)
    return f"deliveries/{w.delivery}/redeliver", {}


@case("POST", API + "/keys", "admin", 201)
def _create_key(w: World) -> Call:
    return "keys", {"json": {"name": w.fresh("k"), "role": "read"}}


simple("GET", API + "/keys", "admin", 200, lambda w: "keys")


@case("DELETE", API + "/keys/{key}", "admin", 200)
def _revoke_key(w: World) -> Call:
    return f"keys/{w.auth.make_key('read')[0]}", {}


# ---- web pages (registry/web): the same key, from the sign-in cookie or the header ------

simple("GET", "/", "read", 200, lambda w: "/")
simple("GET", "/login", "public", 200, lambda w: "/login")
simple("POST", "/logout", "public", 303, lambda w: "/logout")
simple("GET", "/search", "read", 200, lambda w: '/search?q={"tag": "x"}')
simple("GET", "/projects/{project}", "read", 200, lambda w: f"/projects/{w.project}")
simple("GET", "/projects/{project}/runs", "read", 200, lambda w: f"/projects/{w.project}/runs")
for tail in ("", "/lineage"):
    simple(
        "GET",
        "/projects/{project}/runs/{run_id}" + tail,
        "read",
        200,
        lambda w, tail=tail: f"/projects/{w.project}/runs/r1{tail}",
    )
simple("GET", "/registries", "read", 200, lambda w: "/registries")
simple(
    "GET", "/registries/{registry}", "read", 200, lambda w: f"/registries/{w.secret}", hidden=True
)
simple("GET", "/automations", "admin", 200, lambda w: "/automations")
simple("GET", "/automations/{name}", "admin", 200, lambda w: "/automations/watch")


@case("POST", "/login", "public", 303)
def _sign_in(w: World) -> Call:
    return "/login", {"data": {"key": w.auth.secrets[w.keys["read"]]}}


@case("POST", "/automations/{name}/enabled", "admin", 303)
def _switch(w: World) -> Call:
    return "/automations/watch/enabled", {"data": {"enabled": "on"}}


@case("POST", "/deliveries/{delivery_id}/redeliver", "admin", 303)
def _redeliver_page(w: World) -> Call:
    url, _ = _redeliver(w)
    return f"/{url}", {}


def page_cases(prefix: str, hidden: bool) -> None:
    """The pages of a project collection or of a portfolio (of the restricted registry)."""

    def base(w: World) -> str:
        return (
            f"/registries/{w.secret}/collections/models"
            if hidden
            else (f"/projects/{w.project}/collections/data")
        )

    simple("GET", prefix, "read", 200, lambda w: base(w), hidden=hidden)
    for tail in ("", "/lineage"):
        simple(
            "GET",
            prefix + "/versions/{selector}" + tail,
            "read",
            200,
            lambda w, tail=tail: f"{base(w)}/versions/v0{tail}",
            hidden=hidden,
        )
    for tail, ok in (("", 200), ("/confirm", 303)):  # review, then the move itself

        @case("POST", f"{prefix}/aliases{tail}", "write", ok, hidden)
        def _move(w: World, tail: str = tail) -> Call:
            return f"{base(w)}/aliases{tail}", {"data": {"alias": w.fresh("a"), "version": "v0"}}


page_cases("/projects/{project}/collections/{collection}", hidden=False)
page_cases("/registries/{registry}/collections/{collection}", hidden=True)


# ---- the tests -------------------------------------------------------------------------


def test_every_route_has_exactly_one_case() -> None:
    served = {(method, path) for method, path, _ in app_routes(create_app(Settings()))}
    covered = [(c.method, c.path) for c in CASES]
    assert len(covered) == len(set(covered)), "a route has two cases"
    assert served - set(covered) == set(), "routes without an authorization case"
    assert set(covered) - served == set(), "cases for routes the app does not serve"


def expected(case: Case, who: str) -> int:
    if case.role == "public":
        return case.ok
    if who == "none":
        return 303 if case.page else 401
    role = "write" if who == "outsider" else who
    order = ("read", "write", "admin")
    if order.index(role) < order.index(case.role):
        return 403
    return 404 if case.hidden and who == "outsider" else case.ok


def send(world: World, case: Case, who: str) -> httpx.Response:
    url, kwargs = case.call(world)
    if "json" in kwargs and isinstance(kwargs["json"], dict):
        replaced = {"SECRET": world.secret, "PROJECT": world.project}
        kwargs["json"] = {
            k: replaced.get(v, v) if isinstance(v, str) else v for k, v in kwargs["json"].items()
        }
    secret = None if who == "none" else world.auth.secrets[world.keys[who]]
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    if url.startswith("/"):
        url = world.auth.server.url + url
    with world.auth.server.api(headers=headers) as api:
        response = api.request(case.method, url, **kwargs)
    world.responses.append(response)
    return response


@pytest.mark.parametrize("who", WHO)
def test_authorization_matrix(world: World, who: str) -> None:
    wrong = []
    for case in CASES:
        response = send(world, case, who)
        want = expected(case, who)
        if response.status_code != want:
            wrong.append(
                f"{case.method} {case.path}: {response.status_code} != {want} "
                f"({response.text[:200]})"
            )
        if response.status_code == 401:
            assert response.headers["www-authenticate"] == "Bearer"
        if case.page and who == "none" and case.role != "public":
            assert response.headers["location"].startswith("/login?next=")
        elif response.status_code == 403 and case.page:
            assert "needs a key of role" in response.text, "a refusal says why"
        elif response.status_code in (401, 403):
            assert response.json()["detail"], "a refusal says why"
    assert not wrong, "\n".join(wrong)


def test_a_restricted_registry_is_invisible_to_a_non_member(world: World) -> None:
    outsider = world.auth.secrets[world.keys["outsider"]]
    secret = world.secret
    with world.auth.client(outsider) as api:
        missing = api.get("/registries/no-such-registry")
        hidden = api.get(f"/registries/{secret}")
        assert (hidden.status_code, missing.status_code) == (404, 404)
        assert hidden.json()["detail"] == f"registry {secret!r} does not exist"
        listed = [r["name"] for r in api.get("/registries").json()]
        assert world.open in listed and secret not in listed
        for kind in ("registries", "collections", "versions"):
            page = api.post(f"/query/{kind}", json={}).json()
            assert secret not in str(page["items"]), kind
        filtered = {"registry_filter": {"name": secret}}
        assert api.post("/query/versions", json=filtered).json()["items"] == []
        assert api.post("/query/collections", json=filtered).json()["items"] == []
        assert api.get("/resolve", params={"path": f"@{secret}/models:v0"}).status_code == 404
        assert api.get("/resolve", params={"path": f"@{secret}/models"}).status_code == 404
        assert api.get("/resolve", params={"path": f"@{world.open}/models"}).status_code == 200
        # Lineage of the linked project version names no portfolio of it.
        lineage = api.get(f"/projects/{world.project}/collections/data/versions/v0/lineage")
        assert lineage.status_code == 200 and secret not in lineage.text
        # Deleting the project version would unlink it from the hidden registry too.
        refused = api.delete(
            f"/projects/{world.project}/collections/data/versions/v0",
            params={"delete_aliases": "true"},
        )
        assert refused.status_code == 403 and secret not in refused.text
        # Deleting its collection is refused for the links, naming only what it can see.
        linked = api.delete(f"/projects/{world.project}/collections/data")
        assert linked.status_code == 409, linked.text
        assert f"@{world.open}/models" in linked.text and secret not in linked.text
    with world.auth.client(world.auth.secrets[world.keys["read"]]) as api:
        listed = [r["name"] for r in api.get("/registries").json()]
        assert secret in listed, "a viewer sees the restricted registry"
        page = api.post("/query/versions", json={"registry": secret}).json()
        assert page["items"], "and its versions"
    with world.admin as api:
        assert secret in [r["name"] for r in api.get("/registries").json()]


def test_no_response_carries_a_secret(world: World) -> None:
    """Over every response of the matrix and the listings: no key secret, no hash of
    one, and neither of the integration's secrets."""
    if not world.responses:  # run alone: answer every case as admin first
        for case in CASES:
            send(world, case, "admin")
    with world.admin as api:
        world.responses += [
            api.get("/keys"),
            api.get("/integrations"),
            api.get("/integrations/hook"),
        ]
    assert len(world.responses) > len(CASES)
    secrets = list(world.auth.secrets.values())
    forbidden = [
        *secrets,
        *(hashlib.sha256(s.encode()).hexdigest() for s in secrets),
        WEBHOOK_SECRET,
        ACCESS_TOKEN,
        WEBHOOK_SECRET.removeprefix("whsec_"),
    ]
    for response in world.responses:
        body = response.content.decode(errors="replace")
        created = response.request.url.path == "/api/v1/keys" and response.request.method == "POST"
        for secret in forbidden:
            if created and response.status_code == 201 and secret == response.json()["secret"]:
                continue  # the one place a secret is shown: its own creation
            assert secret not in body, (response.request.method, response.request.url)
