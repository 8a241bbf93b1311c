"""Models: log_model, use_model (a local path) and link_model into the `models` registry."""

from pathlib import Path

import pytest

import sdk


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """use_model downloads under ./artifacts, as for a user: here, the test's folder."""
    monkeypatch.chdir(tmp_path)


def test_a_model_folder_is_logged_used_as_a_folder_and_linked(tmp_path, project):
    model_dir = tmp_path / "bert-small"
    (model_dir / "tokenizer").mkdir(parents=True)
    (model_dir / "weights.bin").write_bytes(b"\x01" * 64)
    (model_dir / "tokenizer" / "vocab.txt").write_text("[CLS]\n[SEP]\n")
    registered = f"bert-{project}"

    with sdk.init(project=project) as run:
        logged = run.log_model(str(model_dir), aliases=["candidate"])
        linked = run.link_model(str(model_dir), registered, aliases=["staging"])
    assert (logged.name, logged.type) == ("bert-small:v0", "model")
    assert set(logged.aliases) >= {"candidate", "latest"}
    assert linked.qualified_name == f"@models/{registered}:v0"
    assert linked.source_name == f"{project}/bert-small:v0"
    assert "model" in sdk.Api().registry("models").allowed_types

    with sdk.init(project=project) as consumer:
        for name in (f"{project}/bert-small:candidate", f"@models/{registered}:staging"):
            path = Path(consumer.use_model(name))
            assert (path / "weights.bin").read_bytes() == b"\x01" * 64
            assert (path / "tokenizer" / "vocab.txt").read_text() == "[CLS]\n[SEP]\n"
    assert [r.id for r in logged.used_by()] == [consumer.id]


def test_linking_a_new_model_version_moves_the_registry_alias(tmp_path, project):
    registered = f"clf-{project}"
    weights = tmp_path / "clf.pt"
    for content in (b"epoch-1", b"epoch-2"):
        weights.write_bytes(content)
        with sdk.init(project=project) as run:
            run.link_model(str(weights), registered, aliases=["production"])
    production = sdk.Api().artifact(f"@models/{registered}:production")
    assert production.version == "v1"
    with sdk.init(project=project) as consumer:
        assert Path(consumer.use_model(f"@models/{registered}:production")).read_bytes() == (
            b"epoch-2"
        )
