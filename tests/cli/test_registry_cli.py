"""`strata registry|link|lineage|query` against the test's server."""

import json
import uuid

import sdk
from tests.cli.test_cli import fails, ok, ok_json


def log_pipeline(tmp_path, project: str) -> tuple[sdk.Artifact, sdk.Artifact]:
    with sdk.init(project=project, name="prep") as prep:
        data = sdk.Artifact("rows", type="dataset", metadata={"n": 10})
        with data.new_file("rows.csv") as f:
            f.write("a\n")
        prep.log_artifact(data, tags=["tabular"])
    with sdk.init(project=project, name="train") as train:
        train.use_artifact(data.qualified_name)
        weights = tmp_path / "w.pt"
        weights.write_text("w")
        model = train.log_model(str(weights), name="fraud")
    return data, model


def test_registry_link_alias_and_resolution(tmp_path, project):
    name = f"models-{uuid.uuid4().hex[:6]}"
    assert f"created registry @{name}" in ok("registry", "create", name, "--type", "model")
    data, model = log_pipeline(tmp_path, project)

    out = ok("link", model.qualified_name, f"@{name}/fraud", "--alias", "staging")
    assert out.strip() == f"{model.qualified_name} -> @{name}/fraud:v0 (latest, staging)"
    ok("alias", "set", f"@{name}/fraud:v0", "production")
    shown = ok_json("artifact", "show", f"@{name}/fraud:production")
    assert shown["links_to"] == model.qualified_name
    assert sorted(shown["aliases"]) == ["latest", "production", "staging"]
    assert f"@{name}" in ok("registry", "ls")
    assert ok_json("registry", "show", name)["collections"] == ["fraud"]

    err = fails(1, "link", data.qualified_name, f"@{name}/rows")
    assert "accepts artifact types [model]" in err and "'dataset'" in err
    assert "does not exist" in fails(1, "link", model.qualified_name, "@nowhere/fraud")
    assert "registry collection" in fails(1, "link", model.qualified_name, f"{project}/x")
    ok("alias", "rm", f"@{name}/fraud", "production")
    assert "does not exist" in fails(1, "artifact", "show", f"@{name}/fraud:production")


def test_lineage_prints_a_tree(tmp_path, project):
    data, model = log_pipeline(tmp_path, project)
    out = ok("lineage", model.qualified_name, "--direction", "upstream")
    lines = out.splitlines()
    assert lines[0] == f"{model.qualified_name} [model]"
    assert any("run " in line and "(train, finished)" in line for line in lines)
    assert any(f"{data.qualified_name} [dataset]" in line for line in lines)
    assert any("(prep, finished)" in line for line in lines)
    shallow = ok_json("lineage", model.qualified_name, "--depth", "1")
    assert {n["kind"] for n in shallow["nodes"]} == {"version", "run"}
    assert len(shallow["nodes"]) == 2
    assert "depth" in fails(2, "lineage", model.qualified_name, "--depth", "-1")


def test_query_finds_versions_and_collections(tmp_path, project):
    data, model = log_pipeline(tmp_path, project)
    found = ok_json("query", '{"metadata.n": {"$gte": 10}, "tag": "tabular"}', "--project", project)
    assert [v["qualified_name"] for v in found] == [data.qualified_name]
    text = ok("query", "--collections", '{"type": "model"}', "--project", project)
    assert text.strip().startswith(f"{project}/fraud\tmodel")
    runs = ok_json("query", "--runs", '{"name": {"$in": ["train"]}}', "--project", project)
    assert [r["name"] for r in runs] == ["train"]
    assert "unknown operator '$gt3'" in fails(1, "query", '{"size": {"$gt3": 1}}')
    assert "not valid JSON" in fails(1, "query", "{nope")
    assert json.loads(ok("query", "{}", "--project", project, "--json", "--limit", "1"))
