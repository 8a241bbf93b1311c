"""Many clients committing to one collection at once: gap-free, unique version indices."""

import multiprocessing
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import sdk

CLIENTS = 20
RESULT_TIMEOUT = 120


def log_one(url: str, project: str, content: bytes, barrier: Any) -> tuple[str, str]:
    """One client: its own run and connection, logging `content` to the shared collection."""
    with tempfile.TemporaryDirectory() as directory:
        source = Path(directory, "data.bin")
        source.write_bytes(content)
        with sdk.init(project=project, url=url) as run:
            art = sdk.Artifact("shared", type="dataset")
            art.add_file(source)
            if barrier is not None:
                barrier.wait(RESULT_TIMEOUT)  # commit all at once, not one after another
            run.log_artifact(art)
    return art.version, art.digest  # type: ignore[return-value]


def _process_main(url: str, project: str, content: bytes, barrier: Any, results: Any) -> None:
    try:
        results.put(("ok", *log_one(url, project, content, barrier)))
    except BaseException as exc:  # reported to the parent, which fails the test
        results.put(("error", repr(exc), ""))


def log_in_processes(url: str, project: str, contents: list[bytes]) -> list[tuple[str, str]]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(contents))
    results = context.Queue()
    processes = [
        context.Process(target=_process_main, args=(url, project, content, barrier, results))
        for content in contents
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=RESULT_TIMEOUT) for _ in processes]
    finally:
        for process in processes:
            process.join(RESULT_TIMEOUT)
            if process.is_alive():
                process.kill()
    errors = [outcome[1] for outcome in outcomes if outcome[0] == "error"]
    assert not errors, errors
    return [(version, digest) for _, version, digest in outcomes]


def distinct_contents() -> list[bytes]:
    return [f"client {i}\n".encode() * (i + 1) for i in range(CLIENTS)]


def test_concurrent_processes_get_each_version_exactly_once(server, project):
    results = log_in_processes(server.url, project, distinct_contents())

    versions = sorted((version for version, _ in results), key=lambda v: int(v[1:]))
    assert versions == [f"v{i}" for i in range(CLIENTS)]
    api = sdk.Api()
    stored = api.artifacts("dataset", f"{project}/shared")
    assert [a.version for a in stored] == [f"v{i}" for i in range(CLIENTS)]
    assert {a.version: a.digest for a in stored} == dict(results)
    assert api.artifact(f"{project}/shared:latest").version == f"v{CLIENTS - 1}"
    assert sum("latest" in a.aliases for a in stored) == 1


def test_concurrent_processes_logging_identical_content_share_one_version(server, project):
    results = log_in_processes(server.url, project, [b"the same bytes"] * CLIENTS)

    assert {version for version, _ in results} == {"v0"}
    assert len(sdk.Api().artifacts("dataset", f"{project}/shared")) == 1


def test_concurrent_threads_each_with_their_own_run(server, project):
    contents = distinct_contents()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda c: log_one(server.url, project, c, None), contents))

    assert sorted(int(version[1:]) for version, _ in results) == list(range(CLIENTS))
    assert sdk.Api().artifact(f"{project}/shared:latest").version == f"v{CLIENTS - 1}"
