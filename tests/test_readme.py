"""README.md is executable: its two commands, its quick start, its shell commands and
every ```python example."""

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


def python_blocks(text: str) -> list[str]:
    """Every ```python block, in order: the first is the quick start, the rest are examples."""
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


def run_python(code: str, script: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script.write_text(code)
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=script.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


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
    result = run_python(python_blocks(README)[0], tmp_path / "quickstart.py", env)
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


def test_every_python_example_runs(fresh_server, tmp_path):
    """Each ```python block after the quick start, in README order, as its own program
    in one folder (a block may use files an earlier one wrote) against one service."""
    examples = python_blocks(README)[1:]
    assert examples, "README.md has no ```python examples besides the quick start"
    env = {**os.environ, "STRATA_URL": fresh_server.url}
    for number, code in enumerate(examples, start=1):
        result = run_python(code, tmp_path / f"example_{number}.py", env)
        assert result.returncode == 0, f"example {number}:\n{code}\n{result.stderr}"
