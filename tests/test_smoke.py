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


def test_service_on_memory_storage_round_trips(tmp_path, monkeypatch):
    """Nothing in the service assumes local paths: the same flow works on memory://."""
    from tests.conftest import start_server, stop_server

    srv = start_server(tmp_path / "home", env={"STRATA_STORAGE_URL": "memory://strata-e2e"})
    try:
        monkeypatch.setenv("STRATA_URL", srv.url)
        data = make_tree(tmp_path / "data", {"a.txt": b"in memory", "b/c.bin": b"\x00" * 3_000_000})
        with sdk.init(project="mem") as run:
            art = sdk.Artifact("ds", type="dataset")
            art.add_dir(data)
            run.log_artifact(art)
        fetched = sdk.Api().artifact("mem/ds:latest")
        root = fetched.download(tmp_path / "out")
        fetched.verify(root)
        assert not (tmp_path / "home" / "blobs").exists(), "blobs must not touch the local disk"
    finally:
        stop_server(srv)
