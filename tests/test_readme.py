"""README.md is executable: its two commands, its quick start and its shell commands."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def indented_commands(text: str) -> list[str]:
    """Indented (4-space) code lines outside fenced blocks, comments stripped."""
    commands, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and line.startswith("    ") and line.strip():
            commands.append(line.split("#", 1)[0].strip())
    return commands


def python_block(text: str) -> str:
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)
    assert len(blocks) == 1, f"expected one ```python block in README.md, found {len(blocks)}"
    return blocks[0]


def test_the_first_two_commands_are_make_serve_and_make_test():
    assert indented_commands(README)[:2] == ["make serve", "make test"]


def test_make_targets_exist_and_test_runs_the_suite():
    for target in ("serve", "test"):
        result = subprocess.run(
            ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
    dry_run = subprocess.run(
        ["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, timeout=60
    ).stdout
    assert "pytest" in dry_run


def test_ci_runs_make_test():
    ci = ROOT / ".ci" / "run"
    assert os.access(ci, os.X_OK), ".ci/run is not executable"
    lines = [ln.split("#", 1)[0].strip() for ln in ci.read_text().splitlines()]
    assert any(re.search(r"(^|\s)make test$", ln) for ln in lines), ci.read_text()


def test_quick_start_and_shell_commands_run(fresh_server, tmp_path):
    """The python block, then the shell commands, in an empty folder against a service."""
    # No PYTHONPATH: `import sdk` must work from the installed package, as for a user.
    env = {**os.environ, "STRATA_URL": fresh_server.url}
    script = tmp_path / "quickstart.py"
    script.write_text(python_block(README))
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "artifacts" / "mnist:v0" / "train.csv").read_text() == "x,y\n1,2\n"

    shell = [c for c in indented_commands(README) if c.startswith("strata ")]
    assert [c.split()[1:3] for c in shell][:2] == [["artifact", "put"], ["artifact", "get"]]
    for command in shell:
        argv = [sys.executable, "-m", "registry", *shlex.split(command)[1:]]
        ran = subprocess.run(
            argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        assert ran.returncode == 0, (command, ran.stdout, ran.stderr)
    assert (tmp_path / "out" / "train.csv").read_text() == "x,y\n1,2\n"
    with fresh_server.api() as api:
        version = api.get("/projects/demo/collections/mnist/versions/production").json()
    assert version["version"] == "v0"
    assert set(version["aliases"]) >= {"best", "production", "latest"}
