"""The key role each route needs when auth is on: the one table of it.

- `public`: no key (`/healthz` only, so load balancers can probe).
- `read`: anything that only reads, including POST searches and the blob routes that
  only report or send bytes; also `/metrics` and the API documentation (`/docs`,
  `/redoc`, `/openapi.json`), which describe the service to whoever holds a key.
- `write`: anything that changes artifacts, runs, aliases or links. Inside a
  registry the key must also be a registry member (services/access.py).
- `admin`: keys, registries themselves (create, edit, delete, membership), and
  automations, integrations and deliveries: integrations hold secrets, automations
  send data out of the service through them, and the delivery log holds payloads
  of every registry, restricted ones included.

A route missing from the table needs `admin` (closed by default), and
tests/api/test_authorization.py fails until the table names it.
"""

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute

ROLES = ("public", "read", "write", "admin")
API = "/api/v1"
PROJECT_COLLECTION = f"{API}/projects/{{project}}/collections/{{collection}}"
REGISTRY_COLLECTION = f"{API}/registries/{{registry}}/collections/{{collection}}"


def _version_routes(prefix: str) -> dict[tuple[str, str], str]:
    """Routes shared by project collections and registry portfolios (routes/versions.py)."""
    return {
        ("GET", f"{prefix}/versions"): "read",
        ("GET", f"{prefix}/versions/{{selector}}"): "read",
        ("PATCH", f"{prefix}/versions/{{selector}}"): "write",
        ("DELETE", f"{prefix}/versions/{{selector}}"): "write",
        ("GET", f"{prefix}/versions/{{selector}}/files"): "read",
        ("GET", f"{prefix}/versions/{{selector}}/consumers"): "read",
        ("GET", f"{prefix}/versions/{{selector}}/lineage"): "read",
        ("PUT", f"{prefix}/aliases/{{alias}}"): "write",
        ("DELETE", f"{prefix}/aliases/{{alias}}"): "write",
        ("GET", f"{prefix}/alias-history"): "read",
    }


def _page_routes() -> dict[tuple[str, str], str]:
    pages = {
        ("GET", "/"): "read",
        ("GET", "/login"): "public",
        ("POST", "/login"): "public",
        ("POST", "/logout"): "public",
        ("GET", "/search"): "read",
        ("GET", "/projects/{project}"): "read",
        ("GET", "/projects/{project}/runs"): "read",
        ("GET", "/projects/{project}/runs/{run_id}"): "read",
        ("GET", "/projects/{project}/runs/{run_id}/lineage"): "read",
        ("GET", "/registries"): "read",
        ("GET", "/registries/{registry}"): "read",
        ("GET", "/automations"): "admin",
        ("GET", "/automations/{name}"): "admin",
        ("POST", "/automations/{name}/enabled"): "admin",
        ("POST", "/deliveries/{delivery_id}/redeliver"): "admin",
    }
    for prefix in ("/projects/{project}", "/registries/{registry}"):
        collection = f"{prefix}/collections/{{collection}}"
        pages |= {
            ("GET", collection): "read",
            ("POST", f"{collection}/aliases"): "write",
            ("POST", f"{collection}/aliases/confirm"): "write",
            ("GET", f"{collection}/versions/{{selector}}"): "read",
            ("GET", f"{collection}/versions/{{selector}}/lineage"): "read",
        }
    return pages


ROUTE_ROLES: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "public",
    ("GET", "/metrics"): "read",
    ("GET", "/openapi.json"): "read",
    ("GET", "/docs"): "read",
    ("GET", "/redoc"): "read",
    # Blobs: bytes by content digest.
    ("POST", f"{API}/blobs/missing"): "read",
    ("PUT", f"{API}/blobs/{{digest}}"): "write",
    ("POST", f"{API}/blobs/batch"): "write",
    ("POST", f"{API}/blobs/fetch"): "read",
    ("GET", f"{API}/blobs/{{digest}}"): "read",
    ("POST", f"{API}/blobs/uploads"): "write",
    ("POST", f"{API}/blobs/uploads/complete"): "write",
    ("POST", f"{API}/blobs/downloads"): "read",
    # Projects, their collections and versions.
    ("GET", f"{API}/projects"): "read",
    ("GET", f"{API}/projects/{{project}}"): "read",
    ("GET", f"{API}/projects/{{project}}/types"): "read",
    ("GET", f"{API}/projects/{{project}}/usage"): "read",
    ("GET", f"{API}/projects/{{project}}/collections"): "read",
    ("GET", PROJECT_COLLECTION): "read",
    ("PATCH", PROJECT_COLLECTION): "write",
    ("DELETE", PROJECT_COLLECTION): "write",
    ("POST", f"{PROJECT_COLLECTION}/versions"): "write",
    **_version_routes(PROJECT_COLLECTION),
    # Registries and their portfolios.
    ("POST", f"{API}/registries"): "admin",
    ("GET", f"{API}/registries"): "read",
    ("GET", f"{API}/registries/{{registry}}"): "read",
    ("PATCH", f"{API}/registries/{{registry}}"): "admin",
    ("DELETE", f"{API}/registries/{{registry}}"): "admin",
    ("GET", f"{API}/registries/{{registry}}/members"): "read",
    ("PUT", f"{API}/registries/{{registry}}/members/{{key}}"): "admin",
    ("DELETE", f"{API}/registries/{{registry}}/members/{{key}}"): "admin",
    ("GET", f"{API}/registries/{{registry}}/collections"): "read",
    ("GET", REGISTRY_COLLECTION): "read",
    ("PATCH", REGISTRY_COLLECTION): "write",
    ("DELETE", REGISTRY_COLLECTION): "write",
    ("POST", f"{REGISTRY_COLLECTION}/links"): "write",
    **_version_routes(REGISTRY_COLLECTION),
    # Resolving names and searching.
    ("GET", f"{API}/resolve"): "read",
    ("POST", f"{API}/query/registries"): "read",
    ("POST", f"{API}/query/collections"): "read",
    ("POST", f"{API}/query/versions"): "read",
    ("POST", f"{API}/query/runs"): "read",
    # Runs.
    ("POST", f"{API}/projects/{{project}}/runs"): "write",
    ("GET", f"{API}/projects/{{project}}/runs"): "read",
    ("GET", f"{API}/projects/{{project}}/runs/{{run_id}}"): "read",
    ("PATCH", f"{API}/projects/{{project}}/runs/{{run_id}}"): "write",
    ("POST", f"{API}/projects/{{project}}/runs/{{run_id}}/metrics"): "write",
    ("GET", f"{API}/projects/{{project}}/runs/{{run_id}}/metrics"): "read",
    ("POST", f"{API}/projects/{{project}}/runs/{{run_id}}/inputs"): "write",
    ("GET", f"{API}/projects/{{project}}/runs/{{run_id}}/lineage"): "read",
    ("GET", f"{API}/projects/{{project}}/runs/{{run_id}}/artifacts"): "read",
    # Automations, integrations, deliveries.
    ("POST", f"{API}/automations"): "admin",
    ("GET", f"{API}/automations"): "admin",
    ("GET", f"{API}/automations/{{name}}"): "admin",
    ("PATCH", f"{API}/automations/{{name}}"): "admin",
    ("DELETE", f"{API}/automations/{{name}}"): "admin",
    ("POST", f"{API}/integrations"): "admin",
    ("GET", f"{API}/integrations"): "admin",
    ("GET", f"{API}/integrations/{{name}}"): "admin",
    ("DELETE", f"{API}/integrations/{{name}}"): "admin",
    ("GET", f"{API}/deliveries"): "admin",
    ("GET", f"{API}/deliveries/{{delivery_id}}"): "admin",
    ("POST", f"{API}/deliveries/{{delivery_id}}/redeliver"): "admin",
    # API keys.
    ("POST", f"{API}/keys"): "admin",
    ("GET", f"{API}/keys"): "admin",
    ("DELETE", f"{API}/keys/{{key}}"): "admin",
    # Web pages (registry/web): the roles of the API routes they stand for. Signing in
    # and out needs no key; the static assets are files, not routes.
    **_page_routes(),
}


def app_routes(app: FastAPI) -> list[tuple[str, str, BaseRoute]]:
    """(method, path, route) of every route the app serves (HEAD aside: it follows GET)."""
    found = []
    for context in iter_route_contexts(app.routes):
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                found.append((method, context.path_format or "", context.original_route))
    return found


def route_roles(app: FastAPI) -> dict[int, str]:
    """The role each route needs, by the id of its route object (what `scope["route"]`
    holds during a request; routes are not hashable); `admin` for one the table lacks."""
    roles: dict[int, str] = {}
    for method, path, route in app_routes(app):
        role = ROUTE_ROLES.get((method, path), "admin")
        # One route object serving several methods needs the strongest of their roles.
        roles[id(route)] = max(role, roles.get(id(route), "public"), key=ROLES.index)
    return roles
