"""Storage benchmark: artifacts on S3 (moto's server) and GCS (fake-gcs-server), with
blob bytes proxied through the service or moved by the client through presigned URLs,
beside plain s3fs / gcsfs `put` and `get` of the same files on the same server (the floor).

    .venv/bin/python bench/storage_bench.py [--datasets few-large,many-small]
                                            [--backends s3,gcs] [--repeat N]

Writes its own section of bench/RESULTS.md (between `<!-- storage-bench:start -->` and
`<!-- storage-bench:end -->`; the rest of the file is kept) and raw figures to
bench/_work/storage/results.json. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import datasets  # noqa: E402
from bench.proc import base_env, free_port, run_json, stop, wait_http  # noqa: E402
from bench.report import write_section  # noqa: E402
from bench.scenario import check_download, fresh_dir, settle  # noqa: E402
from tests.registry.signing import write_service_account_key  # noqa: E402
from tests.servers import CLOUD_ENV, Service, start_fake_gcs, start_moto  # noqa: E402

BENCH = Path(__file__).resolve().parent
PYTHON = BENCH.parent / ".venv" / "bin" / "python"
STRATA = BENCH.parent / ".venv" / "bin" / "strata"
OPS = BENCH / "strata_ops.py"
SECTION = "storage-bench"
START, END = f"<!-- {SECTION}:start -->", f"<!-- {SECTION}:end -->"
DATASETS = ["few-large", "many-small"]
BACKENDS = {"s3": start_moto, "gcs": start_fake_gcs}
MODES = ["proxy", "presigned"]
TARGET = 0.8  # presigned throughput / floor throughput
RECEIVED = re.compile(r'strata_request_body_bytes_total\{resource="blobs"\} ([\d.e+]+)')


def log(message: str) -> None:
    print(f"[storage-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Backend:
    """One emulator, its buckets, and how Strata and the floor reach it."""

    def __init__(self, kind: str, work: Path) -> None:
        self.kind = kind
        self.service: Service = BACKENDS[kind]()
        os.environ.update(self.service.env)  # before gcsfs is first imported
        self.options = {"project": "test", "token": "anon"} if kind == "gcs" else {}
        self.scheme = "gs" if kind == "gcs" else "s3"
        self.key_file = write_service_account_key(work / "gcs-key.json") if kind == "gcs" else None
        import fsspec

        self.fs = fsspec.filesystem(self.scheme, skip_instance_cache=True, **self.options)

    def new_bucket(self) -> str:
        name = f"bench-{uuid.uuid4().hex[:10]}"
        self.fs.mkdir(name)
        return name

    def drop_bucket(self, name: str) -> None:
        self.fs.rm(name, recursive=True)

    def strata_env(self, bucket: str, presign: bool, home: Path, port: int) -> dict[str, str]:
        env = {
            **self.service.env,
            "STRATA_HOME": str(home),
            "STRATA_HOST": "127.0.0.1",
            "STRATA_PORT": str(port),
            "STRATA_STORAGE_URL": f"{self.scheme}://{bucket}/strata",
            "STRATA_STORAGE_OPTIONS": json.dumps(self.options),
            "STRATA_STORAGE_PRESIGN": "true" if presign else "false",
        }
        if self.key_file is not None:
            env["STRATA_STORAGE_SIGNING_KEY"] = str(self.key_file)
        return base_env(**env)

    def stop(self) -> None:
        self.service.stop()


def floor(backend: Backend, ds: datasets.Dataset, out: Path) -> dict:
    """s3fs / gcsfs put of the dataset folder to a fresh bucket, then get to `out`."""
    bucket = backend.new_bucket()
    try:
        settle()
        t0 = time.perf_counter()
        backend.fs.put(str(ds.path), f"{bucket}/floor", recursive=True)
        upload = time.perf_counter() - t0
        fresh_dir(out)
        settle()
        t0 = time.perf_counter()
        backend.fs.get(f"{bucket}/floor/", str(out), recursive=True)
        download = time.perf_counter() - t0
        return {"upload": upload, "download": download, "note": check_download(ds, out)}
    finally:
        backend.drop_bucket(bucket)
        shutil.rmtree(out, ignore_errors=True)


def strata(backend: Backend, ds: datasets.Dataset, mode: str, root: Path) -> dict:
    """Log the dataset as an artifact, then download it with an empty cache, each in a
    child process (bench/strata_ops.py), through a fresh `strata serve` on a fresh bucket."""
    bucket = backend.new_bucket()
    home = fresh_dir(root) / "home"
    home.mkdir()
    port = free_port()
    env = backend.strata_env(bucket, mode == "presigned", home, port)
    server_log = open(root / "server.log", "wb")
    proc = subprocess.Popen(
        [str(STRATA), "serve"],
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    server_log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{url}/healthz", proc, 120, "strata serve")

        def ops(*args: str, cache: Path) -> dict:
            child_env = base_env(
                STRATA_URL=url, STRATA_CACHE_DIR=str(cache), STRATA_PROJECT="bench"
            )
            return run_json([str(PYTHON), str(OPS), *args], env=child_env, servers=(proc.pid,))

        settle()
        before = _received(url)
        logged = ops(
            "log", str(ds.path), "--project", "bench", "--name", ds.name, "--run-name", mode,
            cache=root / "cache-log",
        )  # fmt: skip
        received = _received(url) - before
        out = root / "download"
        settle()
        fetched = ops(
            "download",
            f"bench/{ds.name}:{logged['version']}",
            str(out),
            cache=fresh_dir(root / "cache-download"),
        )
        return {
            "upload": logged["seconds"],
            "download": fetched["seconds"],
            "received": received,
            "note": check_download(ds, out),
        }
    except Exception as exc:
        tail = (root / "server.log").read_text(errors="replace")[-1500:]
        raise RuntimeError(f"{exc}; server log tail:\n{tail}") from exc
    finally:
        stop(proc)
        backend.drop_bucket(bucket)
        shutil.rmtree(root, ignore_errors=True)


def _received(url: str) -> int:
    match = RECEIVED.search(httpx.get(f"{url}/metrics", timeout=10).text)
    return int(float(match.group(1))) if match else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--backends", default=",".join(BACKENDS))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    ap.add_argument("--work", type=Path, default=BENCH / "_work" / "storage")
    args = ap.parse_args(argv)
    os.environ.update(CLOUD_ENV)
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    dsets = [datasets.ensure(name, args.seed) for name in args.datasets.split(",")]
    runs: dict[str, list[dict]] = {}
    for kind in args.backends.split(","):
        backend = Backend(kind, args.work)
        try:
            for ds in dsets:
                for rep in range(args.repeat):
                    key = f"{kind}/{ds.name}/floor"
                    log(f"{key} repetition {rep + 1}")
                    runs.setdefault(key, []).append(floor(backend, ds, args.work / "floor-out"))
                    for mode in MODES:
                        key = f"{kind}/{ds.name}/{mode}"
                        log(f"{key} repetition {rep + 1}")
                        result = strata(backend, ds, mode, args.work / f"{kind}-{mode}")
                        runs.setdefault(key, []).append(result)
                        log(f"  {result}")
        finally:
            backend.stop()
    context = {
        "command": "python bench/storage_bench.py " + " ".join(argv or sys.argv[1:]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_s": time.perf_counter() - started,
        "cores": os.cpu_count(),
        "load": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }
    (args.work / "results.json").write_text(json.dumps({"context": context, "runs": runs}))
    write_section(args.out, SECTION, section(dsets, args.backends.split(","), runs, context))
    log(f"wrote {args.out} ({context['wall_s']:.0f} s)")
    return 0


def section(dsets: list, backends: list[str], runs: dict[str, list[dict]], ctx: dict) -> str:
    def median(key: str, field: str) -> float:
        return statistics.median(run[field] for run in runs[key])

    lines = [
        START,
        "## Storage: S3 and GCS, proxied vs presigned, against s3fs / gcsfs put and get",
        "",
        f"Generated by `{ctx['command'].strip()}` on {ctx['date']} "
        f"({ctx['wall_s']:.0f} s; {ctx['cores']} cores, load average at end {ctx['load']}). "
        "Median of the repetitions.",
        "",
        "| backend | dataset | how | upload s | upload MB/s | download s | download MB/s "
        "| API received (blob routes) | note |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    targets = []
    for kind in backends:
        for ds in dsets:
            base = f"{kind}/{ds.name}"
            for how in ("floor", *MODES):
                key = f"{base}/{how}"
                up, down = median(key, "upload"), median(key, "download")
                received = ""
                if how != "floor":
                    got = max(run["received"] for run in runs[key])
                    received = f"{got:,} B ({got / ds.bytes:.2%})"
                notes = "; ".join(sorted({run["note"] for run in runs[key] if run["note"]}))
                label = {"floor": f"{'s3fs' if kind == 's3' else 'gcsfs'} put / get"}.get(
                    how, f"strata {how}"
                )
                lines.append(
                    f"| {kind} | {ds.name} | {label} | {up:.2f} | {ds.mb / up:,.0f} | "
                    f"{down:.2f} | {ds.mb / down:,.0f} | {received} | {notes} |"
                )
            for op in ("upload", "download"):
                ratio = median(f"{base}/floor", op) / median(f"{base}/presigned", op)
                verdict = "PASS" if ratio >= TARGET else "FAIL"
                targets.append(
                    f"| {kind} | {ds.name} | {op} | {ratio:.0%} | >= {TARGET:.0%} | {verdict} |"
                )
    lines += [
        "",
        "Target: presigned throughput at least 80% of the floor's on the same server.",
        "",
        "| backend | dataset | operation | presigned / floor | goal | result |",
        "|---|---|---|---:|---|---|",
        *targets,
        "",
        "Method: one emulator per backend on 127.0.0.1 (moto's S3 server; fake-gcs-server, "
        "in memory), a fresh bucket per measurement. Strata: `strata serve` with "
        "`STRATA_STORAGE_URL=s3://bucket/strata` (or `gs://`), `STRATA_STORAGE_PRESIGN` "
        "false (proxy: bytes through the service) or true (presigned: the client PUTs each "
        "large blob to its own digest key, create-if-absent, and framed packs of small ones "
        "to temporary keys, through signed URLs; the service re-hashes them from the bucket "
        "and records them, no copy; downloads GET signed URLs, small blobs 32 at a time on "
        "aiohttp, large ones streamed on 8 threads); upload = "
        "`run.log_artifact` of the folder, download = `artifact.download()` with an empty "
        "cache, each in a child process, imports excluded. API received = request body bytes "
        "the service counted on its blob routes (`/metrics`) during the upload. Floor: "
        "`fs.put(folder, recursive=True)` then `fs.get(...)` with s3fs / gcsfs in the driver "
        "process, same emulator.",
        END,
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
