"""Registries through the SDK: linking, promotion by alias, types, resolution."""

import uuid
from pathlib import Path

import pytest

import sdk
from sdk.errors import ConflictError, NotFoundError, ValidationError


def registry_name() -> str:
    return f"r-{uuid.uuid4().hex[:8]}"


def log_model(run: sdk.Run, tmp_path: Path, content: str, name: str = "fraud") -> sdk.Artifact:
    path = tmp_path / f"{uuid.uuid4().hex}.pt"
    path.write_text(content)
    art = sdk.Artifact(name, type="model", metadata={"content": content})
    art.add_file(path, name="model.pt")
    return run.log_artifact(art)


def test_promotion_moves_production_across_versions_without_touching_the_source(tmp_path, project):
    api = sdk.Api()
    models = api.create_registry(registry_name(), allowed_types=["model"])
    target = f"@{models.name}/fraud"
    with sdk.init(project=project) as run:
        versions = [log_model(run, tmp_path, f"weights {i}") for i in range(3)]
        run.link_artifact(versions[0], target, aliases=["staging"])
    source_aliases = {v.version: api.artifact(v.qualified_name).aliases for v in versions}

    for promoted in versions:
        link = promoted.link(target, aliases=["production"])
        resolved = api.artifact(f"{target}:production")
        assert resolved.source_name == promoted.qualified_name
        assert resolved.digest == promoted.digest
        holders = [a for a in api.artifacts("model", target) if "production" in a.aliases]
        assert [h.version for h in holders] == [link.version]

    # Registry-local numbering and `latest`; the source collection is unchanged.
    linked = list(api.artifacts("model", target))
    assert [a.version for a in linked] == ["v0", "v1", "v2"]
    assert [a.source_name for a in linked] == [v.qualified_name for v in versions]
    assert api.artifact(f"{target}:latest").source_name == versions[2].qualified_name
    assert api.artifact(f"{target}:staging").source_name == versions[0].qualified_name
    assert {v.version: api.artifact(v.qualified_name).aliases for v in versions} == source_aliases
    assert "production" not in api.artifact(f"{project}/fraud:latest").aliases


def test_linking_the_same_version_twice_keeps_one_membership(tmp_path, project):
    api = sdk.Api()
    models = api.create_registry(registry_name())
    with sdk.init(project=project) as run:
        model = log_model(run, tmp_path, "once")
    first = model.link(f"@{models.name}/fraud", aliases=["staging"])
    second = model.link(f"@{models.name}/fraud", aliases=["candidate"])
    assert first.version == second.version == "v0"
    assert sorted(second.aliases) == ["candidate", "latest", "staging"]
    assert len(api.artifacts("model", f"@{models.name}/fraud")) == 1
    # Linking a link links what it points at.
    assert second.link(f"@{models.name}/fraud").version == "v0"


def test_a_registry_refuses_types_it_does_not_allow(tmp_path, project):
    api = sdk.Api()
    models = api.create_registry(registry_name(), allowed_types=["model"])
    with sdk.init(project=project) as run:
        data = tmp_path / "rows.csv"
        data.write_text("a,b\n")
        dataset = run.log_artifact(str(data), name="rows", type="dataset")
        with pytest.raises(ValidationError, match="accepts artifact types \\[model\\].*'dataset'"):
            run.link_artifact(dataset, f"@{models.name}/rows")
    assert list(models.collections()) == []


def test_registry_artifacts_download_verify_and_record_lineage(tmp_path, project):
    api = sdk.Api()
    models = api.create_registry(registry_name())
    with sdk.init(project=project, job_type="train") as trainer:
        model = log_model(trainer, tmp_path, "deployable")
        model.link(f"@{models.name}/fraud", aliases=["production"])
    with sdk.init(project=project, job_type="serve") as server_run:
        used = server_run.use_artifact(f"@{models.name}/fraud:production")
        root = used.download(tmp_path / "out")
        used.verify(root)
        assert (Path(root) / "model.pt").read_text() == "deployable"
    # Lineage belongs to the project version the link points at.
    assert used.logged_by().id == trainer.id
    assert [r.id for r in api.artifact(model.qualified_name).used_by()] == [server_run.id]
    assert [r.id for r in used.used_by()] == [server_run.id]


def test_unlink_removes_the_membership_and_keeps_the_source(tmp_path, project):
    api = sdk.Api()
    models = api.create_registry(registry_name())
    with sdk.init(project=project) as run:
        first, second = (log_model(run, tmp_path, f"m{i}") for i in range(2))
    first.link(f"@{models.name}/fraud", aliases=["production"])
    second.link(f"@{models.name}/fraud")
    api.artifact(f"@{models.name}/fraud:production").unlink()
    with pytest.raises(NotFoundError):
        api.artifact(f"@{models.name}/fraud:production")
    assert api.artifact(first.qualified_name).state == "COMMITTED"
    assert api.artifact(f"@{models.name}/fraud:latest").source_name == second.qualified_name
    with pytest.raises(ValidationError, match="not a registry link"):
        api.artifact(first.qualified_name).unlink()
    # Linked again, it comes back as the newest member.
    assert first.link(f"@{models.name}/fraud").version == "v2"


def test_metadata_edits_follow_the_source_and_links_refuse_their_own(tmp_path, project):
    api = sdk.Api()
    models = api.create_registry(registry_name())
    with sdk.init(project=project) as run:
        model = log_model(run, tmp_path, "m")
    link = model.link(f"@{models.name}/fraud")
    model.metadata = {"auc": 0.97}
    model.save()
    assert api.artifact(link.qualified_name).metadata == {"auc": 0.97}
    link = api.artifact(link.qualified_name)
    link.metadata = {"auc": 0.5}
    with pytest.raises(ValidationError, match="belong to the version it links to"):
        link.save()
    link = api.artifact(link.qualified_name)
    link.aliases = [*link.aliases, "reviewed"]
    assert "reviewed" in link.save().aliases


def test_deleting_a_linked_version_needs_delete_aliases_then_unlinks_it(tmp_path, project):
    api = sdk.Api()
    models = api.create_registry(registry_name())
    with sdk.init(project=project) as run:
        model = log_model(run, tmp_path, "short-lived")
    model.link(f"@{models.name}/fraud", aliases=["production"])
    with pytest.raises(ConflictError, match="production"):
        model.delete()
    model.delete(delete_aliases=True)
    assert list(api.artifacts("model", f"@{models.name}/fraud")) == []


def test_log_use_and_link_model(tmp_path, project):
    weights = tmp_path / "net.pt"
    weights.write_bytes(b"\x00weights")
    with sdk.init(project=project) as run:
        logged = run.log_model(str(weights), name="net", aliases=["best"])
        linked = run.link_model(str(weights), f"net-{project}", aliases=["staging"], name="net")
    assert logged.type == "model" and "best" in logged.aliases
    assert linked.qualified_name == f"@models/net-{project}:v0"
    assert linked.source_name == logged.qualified_name  # same content, same version
    assert sdk.Api().registry("models").allowed_types == ["model"]
    with sdk.init(project=project) as consumer:
        path = consumer.use_model(f"@models/net-{project}:staging")
        assert Path(path).read_bytes() == b"\x00weights"
        with pytest.raises(ValidationError, match="type 'dataset', not 'model'"):
            data = tmp_path / "d.txt"
            data.write_text("d")
            consumer.use_model(consumer.log_artifact(str(data), type="dataset").qualified_name)


def test_registry_crud_and_chained_queries(tmp_path, project):
    api = sdk.Api()
    tag = uuid.uuid4().hex[:6]
    vision = api.create_registry(f"vision-{tag}", description="vision models")
    api.create_registry(f"text-{tag}", description="text models")
    with sdk.init(project=project) as run:
        for i, acc in enumerate([0.8, 0.95, 0.99]):
            art = sdk.Artifact("resnet", type="model", metadata={"acc": acc})
            with art.new_file("w.txt") as f:
                f.write(str(i))
            run.log_artifact(art).link(f"@vision-{tag}/resnet")
    good = (
        api.registries({"name": {"$regex": f"^vision-{tag}$"}})
        .collections({"name": "resnet"})
        .versions({"metadata.acc": {"$gt": 0.9}})
    )
    assert [a.qualified_name for a in good] == [
        f"@vision-{tag}/resnet:v1",
        f"@vision-{tag}/resnet:v2",
    ]
    assert len(good) == 2 and good[1].metadata == {"acc": 0.99}
    assert [
        r.name
        for r in api.registries({"description": {"$contains": "text"}, "name": {"$regex": tag}})
    ] == [f"text-{tag}"]

    vision.description = "computer vision"
    vision.protected_aliases = ["production"]
    vision.save()
    assert api.registry(vision.name).protected_aliases == ["production"]
    api.registry(f"text-{tag}").delete()
    with pytest.raises(NotFoundError):
        api.registry(f"text-{tag}")
    with pytest.raises(ConflictError):
        api.create_registry(vision.name)
    with pytest.raises(ValidationError, match="visibility"):
        api.create_registry(f"x-{tag}", visibility="public")
