"""`strata` as a user runs it: a subprocess against the test's server.

Exit codes: 0 ok, 1 error with exactly one line on stderr, 2 usage.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_tree

FILES = {"train.csv": b"x,y\n1,2\n", "sub/labels.txt": b"cat\ndog\n", "empty": b""}


def strata(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the CLI with the test's environment (STRATA_URL, STRATA_CACHE_DIR, ...)."""
    return subprocess.run(
        [sys.executable, "-m", "registry", *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(*args: str, **kwargs: dict[str, str]) -> str:
    result = strata(*args, **kwargs)
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    return result.stdout


def ok_json(*args: str) -> object:
    return json.loads(ok(*args, "--json"))


def fails(code: int, *args: str, env: dict[str, str] | None = None) -> str:
    """Assert exit `code`; for errors (1), exactly one line on stderr. Returns stderr."""
    result = strata(*args, env=env)
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    if code == 1:
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].strip(), f"stderr is not one line: {result.stderr!r}"
        assert "Traceback" not in result.stderr
    return result.stderr


def tree(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}


@pytest.fixture
def logged(tmp_path, project):
    """A directory put as `<project>/mnist:v0` with alias best, tag t and metadata."""
    data = make_tree(tmp_path / "data", FILES)
    summary = ok_json(
        "artifact", "put", str(data),
        "--project", project, "--name", "mnist", "--type", "dataset",
        "--alias", "best", "--tag", "t", "--metadata", '{"a": 1}',
    )  # fmt: skip
    return data, summary


def test_put_prints_the_version_as_json(logged, project):
    _, summary = logged
    assert summary["name"] == f"{project}/mnist:v0"
    assert summary["version"] == "v0"
    assert summary["type"] == "dataset"
    assert set(summary["aliases"]) >= {"best"}
    assert summary["tags"] == ["t"]
    assert summary["metadata"] == {"a": 1}
    assert summary["file_count"] == len(FILES)
    assert summary["size"] == sum(len(v) for v in FILES.values())
    assert len(summary["digest"]) == 32


def test_put_of_unchanged_content_makes_no_new_version(logged, project):
    data, first = logged
    again = ok_json("artifact", "put", str(data), "--project", project, "--name", "mnist")
    assert (again["version"], again["digest"]) == ("v0", first["digest"])
    (data / "new.txt").write_bytes(b"new")
    changed = ok_json("artifact", "put", str(data), "--project", project, "--name", "mnist")
    assert changed["version"] == "v1"


def test_put_of_a_single_file(tmp_path, project):
    path = tmp_path / "model.bin"
    path.write_bytes(b"weights")
    summary = ok_json("artifact", "put", str(path), "--project", project, "--type", "model")
    assert summary["name"] == f"{project}/model.bin:v0"
    assert (summary["type"], summary["file_count"]) == ("model", 1)


def test_get_downloads_identical_files(logged, project, tmp_path):
    data, _ = logged
    out = tmp_path / "out"
    ok("artifact", "get", f"{project}/mnist:best", "-o", str(out))
    assert tree(out) == tree(data) == FILES


def test_ls_lists_the_project_collections(logged, project):
    rows = ok_json("artifact", "ls", project)
    assert rows == [{"project": project, "name": "mnist", "type": "dataset", "versions": 1}]
    assert f"{project}/mnist" in ok("artifact", "ls", project)


def test_show_describes_a_version(logged, project):
    _, summary = logged
    shown = ok_json("artifact", "show", f"{project}/mnist:v0")
    assert shown["name"] == f"{project}/mnist:v0"
    assert shown["digest"] == summary["digest"]
    assert "best" in shown["aliases"]
    assert shown["metadata"] == {"a": 1}
    assert summary["digest"] in ok("artifact", "show", f"{project}/mnist:v0")


def test_alias_set_and_rm(logged, project, server):
    ok("alias", "set", f"{project}/mnist:v0", "prod")
    assert "prod" in ok_json("artifact", "show", f"{project}/mnist:prod")["aliases"]
    with server.api() as api:
        version = api.get(f"/projects/{project}/collections/mnist/versions/prod").json()
        assert version["version"] == "v0"

    ok("alias", "rm", f"{project}/mnist", "prod")
    assert "prod" not in ok_json("artifact", "show", f"{project}/mnist:v0")["aliases"]
    stderr = fails(1, "artifact", "show", f"{project}/mnist:prod")
    assert "prod" in stderr


# ---- errors ---------------------------------------------------------------------------


def test_unknown_artifact_is_one_line_exit_1(logged, project, tmp_path):
    assert "nope" in fails(1, "artifact", "show", f"{project}/nope:v0")
    assert "no-such-project" in fails(1, "artifact", "show", "no-such-project/mnist:v0")
    assert "nope" in fails(1, "artifact", "get", f"{project}/nope:best", "-o", str(tmp_path / "o"))
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_unknown_version_and_alias(logged, project):
    assert "v9" in fails(1, "artifact", "show", f"{project}/mnist:v9")
    assert "missing-alias" in fails(1, "alias", "rm", f"{project}/mnist", "missing-alias")
    assert "v7" in fails(1, "alias", "set", f"{project}/mnist:v7", "prod")


def test_invalid_alias_is_one_line_exit_1(logged, project):
    assert "v3" in fails(1, "alias", "set", f"{project}/mnist:v0", "v3")
    assert "latest" in fails(1, "alias", "set", f"{project}/mnist:v0", "latest")


@pytest.mark.parametrize("metadata", ["{not json", "[1, 2]"])
def test_bad_metadata_is_one_line_exit_1(tmp_path, project, server, metadata):
    data = make_tree(tmp_path / "data", FILES)
    stderr = fails(
        1, "artifact", "put", str(data), "--project", project, "--name", "m", "--metadata", metadata
    )
    assert "--metadata" in stderr
    with server.api() as api:
        assert api.get(f"/projects/{project}/collections/m").status_code == 404


def test_unreachable_server_is_one_line_exit_1(tmp_path, project):
    # No retrying for a server restart (STRATA_RETRY_SECONDS): nothing listens there.
    unreachable = {"STRATA_URL": "http://127.0.0.1:1", "STRATA_RETRY_SECONDS": "0"}
    data = make_tree(tmp_path / "data", FILES)
    for args in (
        ("artifact", "ls", project),
        ("artifact", "show", f"{project}/mnist:v0"),
        ("artifact", "put", str(data), "--project", project, "--name", "m"),
        ("alias", "set", f"{project}/mnist:v0", "prod"),
    ):
        assert "127.0.0.1:1" in fails(1, *args, env=unreachable)


def test_invalid_project_name_is_one_line_exit_1(tmp_path):
    data = make_tree(tmp_path / "data", FILES)
    stderr = fails(1, "artifact", "put", str(data), "--project", "bad name!", "--name", "m")
    assert "bad name!" in stderr


@pytest.mark.parametrize(
    "args",
    [
        ("artifact", "put"),
        ("artifact", "put", "/no/such/dir"),
        ("artifact", "get"),
        ("artifact", "ls", "--no-such-option"),
        ("alias", "set", "p/c:v0"),
        ("no-such-command",),
    ],
)
def test_usage_errors_exit_2(args):
    stderr = fails(2, *args)
    assert "Usage" in stderr or "Error" in stderr


def test_help_exits_0():
    assert "artifact" in ok("--help")


def test_cli_talks_to_the_server_named_by_strata_url(logged, server, project):
    """The JSON the CLI prints matches what the API holds."""
    _, summary = logged
    version = httpx.get(
        f"{server.url}/api/v1/projects/{project}/collections/mnist/versions/best"
    ).json()
    assert (version["digest"], version["version"]) == (summary["digest"], "v0")


def test_progress_bar_goes_to_a_terminal_stderr_and_keeps_stdout_parseable(tmp_path, project):
    """On a terminal, a transfer shows bytes, files and rate on stderr; stdout stays JSON."""
    import pty

    source = make_tree(tmp_path / "data", {f"f{i}.bin": os.urandom(50_000) for i in range(40)})
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "registry",
            "artifact",
            "put",
            str(source),
            "--project",
            project,
            "--name",
            "bar",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=follower,
        env={**os.environ, "COLUMNS": "120"},
    )
    os.close(follower)
    terminal = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        terminal += chunk
    stdout, _ = process.communicate(timeout=60)
    os.close(leader)
    assert process.returncode == 0
    assert json.loads(stdout)["file_count"] == 40
    shown = terminal.decode(errors="replace")
    assert "files" in shown and "upload" in shown
