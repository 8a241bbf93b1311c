"""Process helpers: timed child processes with peak RSS, servers, idleness, disk usage."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


class ChildError(RuntimeError):
    pass


@dataclass
class ChildResult:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    maxrss_mib: float  # high-water RSS of the child and the descendants it waited for

    def json(self) -> dict:
        """The last stdout line that is a JSON object (the op scripts print one)."""
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)
        raise ChildError(f"no JSON result on stdout; stderr tail:\n{self.stderr[-2000:]}")


def run_child(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
              timeout: float = 1800) -> ChildResult:
    """Run ``cmd`` to completion; reap it with wait4 to read its own rusage (peak RSS).

    The child gets its own process group so a timeout kills everything it started.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        killer = threading.Timer(timeout, _kill_group, args=(p.pid,))
        killer.start()
        try:
            _pid, status, usage = os.wait4(p.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildResult(p.returncode, out.read().decode(errors="replace"),
                           err.read().decode(errors="replace"), wall, usage.ru_maxrss / 1024)


def run_json(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
             timeout: float = 1800) -> dict:
    """Run an op script; return its JSON result plus ``maxrss_mib``; raise on failure."""
    r = run_child(cmd, env=env, cwd=cwd, timeout=timeout)
    if r.returncode != 0:
        tail = (r.stderr.strip() or r.stdout.strip())[-1500:]
        raise ChildError(f"{' '.join(map(str, cmd[:4]))} ... exited {r.returncode}: {tail}")
    res = r.json()
    res["maxrss_mib"] = round(r.maxrss_mib, 1)
    return res


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def wait_http(url: str, proc: subprocess.Popen, timeout: float, what: str) -> float:
    """Poll ``url`` until it answers 200; return seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            raise ChildError(f"{what} exited with {proc.returncode} before becoming healthy")
        if http_ok(url):
            return time.monotonic() - t0
        time.sleep(0.2)
    raise ChildError(f"{what} not healthy at {url} after {timeout:.0f} s")


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def tree_cpu_s(pid: int) -> float:
    """User+system CPU seconds used so far by ``pid`` and all its live descendants."""
    total, stack = 0.0, [pid]
    while stack:
        p = stack.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
        except (OSError, IndexError, ValueError):
            continue
        stack.extend(_children(p))
    return total


def wait_tree_idle(pid: int, timeout: float = 180, quiet_s: float = 3.0,
                   max_cpu_per_s: float = 0.05) -> float:
    """Wait until the process tree of ``pid`` uses < max_cpu_per_s CPU-s/s for quiet_s.

    Returns seconds waited. (MLflow keeps importing in its job-runner processes for
    ~35 s after /health says OK; measuring before that would charge its start-up to it.)
    """
    t0 = time.monotonic()
    quiet_since = None
    last = tree_cpu_s(pid)
    while time.monotonic() - t0 < timeout:
        time.sleep(0.5)
        now = tree_cpu_s(pid)
        busy = (now - last) / 0.5 >= max_cpu_per_s
        last = now
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return time.monotonic() - t0
    return time.monotonic() - t0


def stop(proc: subprocess.Popen, grace: float = 10) -> None:
    """Terminate a server started with start_new_session=True, and its whole group."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        proc.wait(5)


def dir_usage(root: Path, exclude_top: tuple[str, ...] = ()) -> tuple[int, int]:
    """(files, bytes) of regular files under root; top-level names in exclude_top skipped."""
    files = size = 0
    if not root.exists():
        return 0, 0
    for dirpath, dirs, names in os.walk(root):
        if Path(dirpath) == root:
            dirs[:] = [d for d in dirs if d not in exclude_top]
        for n in names:
            st = os.lstat(os.path.join(dirpath, n))
            files += 1
            size += st.st_size
    return files, size


def base_env(**extra: str) -> dict[str, str]:
    """The environment for every child: loopback only, no telemetry, no cloud metadata probes."""
    env = dict(os.environ)
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        MLFLOW_DISABLE_TELEMETRY="true",
        DO_NOT_TRACK="true",
        DVC_NO_ANALYTICS="1",
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    env.pop("VIRTUAL_ENV", None)
    env.update(extra)
    return env
