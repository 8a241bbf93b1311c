"""Lineage: dataset -> train run -> model -> eval run -> report, walked both ways."""

import pytest

import sdk
from sdk.errors import ConflictError, ValidationError


def log_text(run: sdk.Run, name: str, type_: str, text: str) -> sdk.Artifact:
    art = sdk.Artifact(name, type=type_)
    with art.new_file(f"{name}.txt") as f:
        f.write(text)
    return run.log_artifact(art)


@pytest.fixture
def pipeline(project):
    with sdk.init(project=project, name="prep", job_type="prep") as prep:
        dataset = log_text(prep, "dataset", "dataset", "rows")
    with sdk.init(project=project, name="train", job_type="train") as train:
        train.use_artifact(dataset.qualified_name)
        model = log_text(train, "model", "model", "weights")
    with sdk.init(project=project, name="eval", job_type="eval") as evaluate:
        evaluate.use_artifact(model.qualified_name)
        report = log_text(evaluate, "report", "report", "auc 0.97")
    return {
        "prep": f"run:{project}/{prep.id}",
        "dataset": f"version:{dataset.qualified_name}",
        "train": f"run:{project}/{train.id}",
        "model": f"version:{model.qualified_name}",
        "eval": f"run:{project}/{evaluate.id}",
        "report": f"version:{report.qualified_name}",
        "artifacts": (dataset, model, report),
        "runs": (train, evaluate),
    }


def edges(graph: sdk.Lineage) -> set[tuple[str, str, str]]:
    return {(e.source, e.target, e.kind) for e in graph.edges}


def test_upstream_of_the_report_at_depth_two_and_at_full_depth(pipeline):
    p = pipeline
    report = p["artifacts"][2]

    near = report.lineage(direction="upstream", depth=2)
    assert near.root == p["report"]
    assert {(n.id, n.depth) for n in near.nodes} == {
        (p["report"], 0),
        (p["eval"], 1),
        (p["model"], 2),
    }
    assert edges(near) == {(p["eval"], p["report"], "logs"), (p["model"], p["eval"], "uses")}

    full = report.lineage(direction="upstream")
    assert {(n.id, n.depth) for n in full.nodes} == {
        (p["report"], 0),
        (p["eval"], 1),
        (p["model"], 2),
        (p["train"], 3),
        (p["dataset"], 4),
        (p["prep"], 5),
    }
    assert edges(full) == {
        (p["eval"], p["report"], "logs"),
        (p["model"], p["eval"], "uses"),
        (p["train"], p["model"], "logs"),
        (p["dataset"], p["train"], "uses"),
        (p["prep"], p["dataset"], "logs"),
    }
    assert not full.truncated


def test_downstream_and_both_directions(pipeline):
    p = pipeline
    dataset, model, _ = p["artifacts"]
    down = dataset.lineage(direction="downstream")
    assert {n.id for n in down.nodes} == {
        p["dataset"],
        p["train"],
        p["model"],
        p["eval"],
        p["report"],
    }
    both = model.lineage(depth=1)
    assert {n.id for n in both.nodes} == {p["model"], p["train"], p["eval"]}
    kinds = {n.id: (n.kind, n.type) for n in both.nodes}
    assert kinds[p["train"]] == ("run", "train") and kinds[p["model"]] == ("version", "model")


def test_the_graph_cannot_form_a_cycle(pipeline):
    train, evaluate = pipeline["runs"]
    _, model, report = pipeline["artifacts"]
    with sdk.init(project=train.project, id=train.id, resume=True) as resumed:
        # train -> model -> eval -> report: train using the report would close a loop.
        with pytest.raises(ConflictError, match="cycle"):
            resumed.use_artifact(report.qualified_name)
        with pytest.raises(ConflictError, match="cycle"):
            resumed.use_artifact(model.qualified_name)
    upstream = report.lineage(direction="upstream")
    assert len(upstream.nodes) == 6


def test_lineage_through_a_registry_link_is_the_source_s(pipeline):
    api = sdk.Api()
    _, model, _ = pipeline["artifacts"]
    registry = api.create_registry(f"lineage-{model.project}")
    link = model.link(f"@{registry.name}/model", aliases=["production"])
    graph = api.artifact(f"@{registry.name}/model:production").lineage(depth=1)
    assert graph.root == pipeline["model"]
    assert link.logged_by().id == pipeline["runs"][0].id


def test_bad_lineage_requests_are_refused(pipeline):
    report = pipeline["artifacts"][2]
    with pytest.raises(ValidationError, match="direction"):
        report.lineage(direction="sideways")
    with pytest.raises(ValidationError):
        report.lineage(depth=-1)
