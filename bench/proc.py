"""Process helpers: timed child processes with peak RSS, servers, idleness, disk usage."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")

# On Linux a child's ru_maxrss starts from its parent's high-water RSS at fork/exec time, so
# a child forked straight from the driver (which holds dataset buffers) would report the
# driver's peak. A tiny launcher process sits in between: it runs the command, reaps it with
# wait4 and writes the command's own ru_maxrss (KiB; it includes the descendants the command
# waited for) to the file named by its first argument.
LAUNCHER = (
    "import os,subprocess,sys\n"
    "p=subprocess.Popen(sys.argv[2:])\n"
    "_,s,u=os.wait4(p.pid,0)\n"
    "p.returncode=0\n"
    "open(sys.argv[1],'w').write(str(u.ru_maxrss))\n"
    "sys.exit(os.waitstatus_to_exitcode(s))\n"
)


class ChildError(RuntimeError):
    pass


@dataclass
class ChildResult:
    returncode: int
    stdout: str
    stderr: str
    wall_s: float
    maxrss_mib: float  # high-water RSS of cmd and the descendants it waited for
    other_cores: float  # mean CPU (cores) used meanwhile by processes other than ours

    def json(self) -> dict:
        """The last stdout line that is a JSON object (the op scripts print one)."""
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)
        raise ChildError(f"no JSON result on stdout; stderr tail:\n{self.stderr[-2000:]}")


def run_child(
    cmd: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 1800,
    servers: tuple[int, ...] = (),
) -> ChildResult:
    """Run ``cmd`` to completion through LAUNCHER and return its output and peak RSS.

    The launcher gets its own process group so a timeout kills everything it started.
    ``servers``: pids of server processes whose CPU belongs to the measurement, not to
    the "other load".
    """
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as rss,
    ):
        with LoadMeter(servers) as load:
            t0 = time.perf_counter()
            p = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", LAUNCHER, rss.name, *cmd],
                env=env,
                cwd=cwd,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
            killer = threading.Timer(timeout, _kill_group, args=(p.pid,))
            killer.start()
            try:
                p.wait()
            finally:
                killer.cancel()
            wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        kib = rss.read().strip()
        return ChildResult(
            p.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            wall,
            int(kib) / 1024 if kib else float("nan"),
            load.other_cores,
        )


def run_json(
    cmd: list[str],
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 1800,
    servers: tuple[int, ...] = (),
) -> dict:
    """Run an op script; return its JSON result plus ``maxrss_mib`` and ``other_cores``;
    raise on failure."""
    r = run_child(cmd, env=env, cwd=cwd, timeout=timeout, servers=servers)
    if r.returncode != 0:
        tail = (r.stderr.strip() or r.stdout.strip())[-1500:]
        raise ChildError(f"{' '.join(map(str, cmd[:4]))} ... exited {r.returncode}: {tail}")
    res = r.json()
    res["maxrss_mib"] = round(r.maxrss_mib, 1)
    res["other_cores"] = round(r.other_cores, 2)
    return res


def busy_cpu_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores; iowait counts as idle)."""
    f = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = f
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def _own_cpu_s() -> float:
    """CPU of this driver and every child it has reaped (launchers include their commands)."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class LoadMeter:
    """Mean cores used during a span by processes that are not part of the measurement.

    Ours = this driver, the children it reaped, and the live process trees of ``servers``.
    A shared machine shows up here; a large value means the numbers beside it are suspect.
    """

    def __init__(self, servers: tuple[int, ...] = ()) -> None:
        self.servers = tuple(p for p in servers if p)
        self.other_cores = 0.0

    def _servers_cpu(self) -> float:
        return sum(tree_cpu_s(p) for p in self.servers)

    def __enter__(self) -> LoadMeter:
        self.t0, self.b0 = time.perf_counter(), busy_cpu_s()
        self.o0, self.s0 = _own_cpu_s(), self._servers_cpu()
        return self

    def __exit__(self, *_exc) -> None:
        wall = time.perf_counter() - self.t0
        other = (
            (busy_cpu_s() - self.b0) - (_own_cpu_s() - self.o0) - (self._servers_cpu() - self.s0)
        )
        self.other_cores = max(0.0, other / wall) if wall > 0 else 0.0


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
    """Child pids of every thread of ``pid`` (a child belongs to the thread that forked it)."""
    kids: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tasks:
        try:
            kids += [int(x) for x in Path(f"/proc/{pid}/task/{tid}/children").read_text().split()]
        except OSError:
            continue
    return kids


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


def wait_tree_idle(
    pid: int, timeout: float = 180, quiet_s: float = 3.0, max_cpu_per_s: float = 0.05
) -> float:
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
