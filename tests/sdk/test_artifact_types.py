"""Typed artifacts: the well-known types and any custom type name, in the SDK and the service."""

import pytest

import sdk
from sdk.artifact_types import WELL_KNOWN_TYPES
from sdk.errors import ValidationError

CUSTOM = ["eval-results", "my_type.v2", "_internal", "3d.mesh", "A" * 64]
BAD = ["", "two words", "a/b", "x:y", "ü", "a" * 65, "tab\t"]


def test_well_known_and_custom_types_are_accepted_and_listed(project):
    types = [*WELL_KNOWN_TYPES, *CUSTOM]
    with sdk.init(project=project) as run:
        for i, type_name in enumerate(types):
            art = sdk.Artifact(f"a{i}", type=type_name)
            with art.new_file("x.txt") as handle:
                handle.write(type_name)
            assert run.log_artifact(art).type == type_name

    api = sdk.Api()
    listed = api.artifact_types(project)
    assert sorted(t.name for t in listed) == sorted(types)
    assert {t.name for t in listed if t.well_known} == set(WELL_KNOWN_TYPES)
    assert {t.project for t in listed} == {project}
    assert api.artifact(f"{project}/a{len(WELL_KNOWN_TYPES)}:v0").type == CUSTOM[0]
    assert [c.name for c in api.artifact_collections(project, "my_type.v2")] == [
        f"a{len(WELL_KNOWN_TYPES) + 1}"
    ]


@pytest.mark.parametrize("bad", BAD)
def test_a_malformed_type_is_refused_by_the_sdk(bad):
    with pytest.raises(ValidationError, match="invalid artifact type"):
        sdk.Artifact("name", type=bad)


def test_a_malformed_type_is_refused_by_the_service(server, project):
    """A client that skips the SDK's check still gets a 422 naming the type."""
    with server.api() as api:
        for bad in BAD[1:]:
            body = {"type": bad, "manifest_digest": "0" * 32}
            response = api.post(f"/projects/{project}/collections/c/versions", json=body)
            assert response.status_code == 422, (bad, response.text)
            assert "invalid artifact type" in response.json()["detail"]
            response = api.post("/registries", json={"name": "r", "allowed_types": [bad]})
            assert response.status_code == 422, (bad, response.text)


def test_a_registry_may_allow_custom_types(tmp_path, project):
    api = sdk.Api()
    registry = api.create_registry(f"evals-{project}", allowed_types=["eval-results"])
    assert registry.allowed_types == ["eval-results"]
    with sdk.init(project=project) as run:
        art = sdk.Artifact("scores", type="eval-results")
        art.add_object({"f1": 0.8}, "scores.json")
        linked = run.link_artifact(art, f"@evals-{project}/scores")
    assert linked.type == "eval-results"
