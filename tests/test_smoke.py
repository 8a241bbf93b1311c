import sdk
from tests.conftest import make_tree


def test_log_and_download_round_trip(tmp_path, project):
    data = make_tree(tmp_path / "data", {"a.txt": b"alpha", "sub/b.bin": bytes(range(256))})
    with sdk.init(project=project) as run:
        art = sdk.Artifact("ds", type="dataset")
        art.add_dir(data)
        run.log_artifact(art)
    fetched = sdk.Api().artifact(f"{project}/ds:latest")
    root = fetched.download(tmp_path / "out")
    assert (tmp_path / "out" / "sub" / "b.bin").read_bytes() == bytes(range(256))
    fetched.verify(root)
