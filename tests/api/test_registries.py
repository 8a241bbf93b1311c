"""Registries over REST: validation, links, resolution and deletion."""

import uuid

import pytest

from tests.api.helpers import assert_refused, commit


@pytest.fixture
def api(server):
    with server.api() as client:
        yield client


@pytest.fixture
def registry(api):
    name = f"r-{uuid.uuid4().hex[:8]}"
    body = {"name": name, "allowed_types": ["model"], "protected_aliases": ["production"]}
    response = api.post("/registries", json=body)
    assert response.status_code == 201, response.text
    return name


def link(api, registry, portfolio, **body):
    return api.post(f"/registries/{registry}/collections/{portfolio}/links", json=body)


def test_registry_fields_are_validated(api, registry):
    assert_refused(api.post("/registries", json={"name": registry}), "already exists", status=409)
    assert_refused(api.post("/registries", json={"name": "bad name!"}), "invalid registry name")
    for body, mention in (
        ({"visibility": "public"}, "visibility must be one of organization, restricted"),
        ({"allowed_types": ["no spaces"]}, "invalid artifact type 'no spaces'"),
        ({"protected_aliases": ["v3"]}, "looks like a version"),
    ):
        assert_refused(api.post("/registries", json={"name": "ok-name", **body}), mention)
        assert_refused(api.patch(f"/registries/{registry}", json=body), mention)
    assert api.get("/registries/ok-name").status_code == 404
    stored = api.get(f"/registries/{registry}").json()
    assert stored["protected_aliases"] == ["production"]
    assert stored["visibility"] == "organization"


def test_links_and_their_errors(api, registry, project):
    model = commit(api, project, "m", {"w": b"1"}, type="model")["version"]
    data = commit(api, project, "d", {"x": b"1"}, type="dataset")["version"]
    assert_refused(link(api, "nowhere", "c", project=project, collection="m"), "does not exist")
    assert_refused(link(api, registry, "c", project=project, collection="zz"), "does not exist")
    assert_refused(link(api, registry, "c", project=project, collection="d"), "'dataset'")
    created = link(api, registry, "c", project=project, collection="m", aliases=["staging"])
    assert created.status_code == 201 and created.json()["created"] is True
    member = created.json()["version"]
    assert member["registry"] == registry and member["project"] is None
    assert member["qualified_name"] == f"@{registry}/c:v0"
    assert member["source"] == model["qualified_name"] == f"{project}/m:v0"
    again = link(api, registry, "c", project=project, collection="m", version="v0")
    assert again.json()["created"] is False
    assert (
        api.get("/resolve", params={"path": f"@{registry}/c:staging"}).json()["id"] == member["id"]
    )
    assert api.get("/resolve", params={"path": f"{project}/d"}).json()["id"] == data["id"]
    assert_refused(api.get("/resolve", params={"path": "no-project"}), "names no project")
    assert_refused(api.get("/resolve", params={"path": "@/c"}), "names no registry")
    url = f"/registries/{registry}/collections/c"
    assert_refused(api.put(f"{url}/aliases/latest", json={"version": "v0"}), "automatically")
    assert_refused(api.post(f"{url}/versions", json={}), "Method Not Allowed", status=405)


def test_deleting_a_registry_keeps_the_linked_versions(api, registry, project):
    commit(api, project, "m", {"w": b"2"}, type="model")
    assert link(api, registry, "c", project=project, collection="m").status_code == 201
    assert api.delete(f"/registries/{registry}").status_code == 204
    assert api.get(f"/registries/{registry}").status_code == 404
    assert api.get(f"/projects/{project}/collections/m/versions/v0").status_code == 200
    # The name is free again.
    assert api.post("/registries", json={"name": registry}).status_code == 201


def test_run_lineage_endpoint(api, project):
    run = api.post(f"/projects/{project}/runs", json={"id": "train"}).json()["run"]
    commit(api, project, "m", {"w": b"3"}, type="model", run={"project": project, "id": run["id"]})
    graph = api.get(f"/projects/{project}/runs/train/lineage", params={"depth": 1}).json()
    assert graph["root"] == f"run:{project}/train"
    assert graph["edges"] == [
        {"source": f"run:{project}/train", "target": f"version:{project}/m:v0", "kind": "logs"}
    ]
    assert_refused(api.get(f"/projects/{project}/runs/train/lineage", params={"depth": -1}))
