"""Server and sync figures (issue 11): `turbotrack sync` of one run of 1M steps x 10 metrics to a
loopback server, remote `history(keys=[one], samples=1000)` over those 1M rows, and `log()` p50
in online mode beside offline, measured side by side in one process.

    python benches/sync.py [--steps 1000000] [--calls 100000]

MLflow's tracking server is not measured by this script: it only reports whether `mlflow` is importable.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import turbotrack
from turbotrack.server.auth import Keys
from turbotrack.server.db import open_database
from turbotrack.store.client import Client
from turbotrack.sync import core

OFF = {"capture_stdout": False, "capture_system": False, "capture_git": False, "capture_requirements": False}


def start_server(root: Path) -> tuple[subprocess.Popen[str], str, str]:
    db = open_database(None, root / "turbotrack")
    key = Keys(db).create("local")[1]
    db.close()
    proc = subprocess.Popen(
        [sys.executable, "-m", "turbotrack", "server", "--dir", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip().split("/?token=")[0]
    return proc, url, key


def make_run(root: Path, steps: int) -> turbotrack.Run:
    os.environ["TURBOTRACK_DIR"] = str(root)
    run = turbotrack.init(project="bench", mode="offline", settings=OFF)
    rng = np.random.default_rng(0)
    values = rng.standard_normal((steps, 10)).cumsum(axis=0)  # random walks: no repeats to compress
    names = [f"m{k}" for k in range(10)]
    for i in range(steps):
        run.log(dict(zip(names, values[i].tolist())))
    run.finish()
    return run


def log_p50(mode: str, calls: int, url: str, key: str, root: Path) -> float:
    os.environ["TURBOTRACK_DIR"] = str(root)
    settings = {**OFF, "base_url": url, "api_key": key} if mode == "online" else OFF
    run = turbotrack.init(project="bench-log", mode=mode, settings=settings)
    ns = np.empty(calls, dtype=np.int64)
    data = [{"loss": float(i), "acc": i * 0.5} for i in range(calls)]
    clock = time.perf_counter_ns
    for i in range(calls):
        d = data[i]
        t0 = clock()
        run.log(d)
        ns[i] = clock() - t0
    run.finish()
    return float(np.percentile(ns, 50)) / 1000.0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--calls", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        local, remote = Path(tmp) / "local", Path(tmp) / "server"
        t0 = time.perf_counter()
        run = make_run(local, args.steps)
        t_log = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in Path(run.dir).glob("*.ttrk"))
        proc, url, key = start_server(remote)
        try:
            client = Client(url, key)
            t0 = time.perf_counter()
            progress = core.RunSync(client, Path(run.dir)).sync()
            t_sync = time.perf_counter() - t0
            client.close()
            points = args.steps * 10
            # The client's first history() returns a DataFrame: import pandas first (~200 ms here, once
            # per process), so that "first" is the server's first read after the sync, not the import.
            import pandas  # noqa: F401

            api = turbotrack.Api(base_url=url, api_key=key)
            r = api.run(run.path)
            times = []
            for _ in range(6):
                t0 = time.perf_counter()
                h = r.history(keys=["m3"], samples=1000)
                times.append(time.perf_counter() - t0)
            assert len(h) <= 1000
            local_h = turbotrack.Api(dir=local).run(run.path).history(keys=["m3"], samples=1000)
            assert local_h.equals(h), "remote and local downsampling differ"
            offline = [log_p50("offline", args.calls, url, key, local) for _ in range(3)]
            online = [log_p50("online", args.calls, url, key, local) for _ in range(3)]
        finally:
            proc.terminate()
            proc.wait()
            if proc.stdout:
                proc.stdout.close()
    cpu = platform.processor() or platform.machine()
    print(f"machine: {os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}")
    print(f"logged {args.steps:,} steps x 10 metrics in {t_log:.1f} s; history files {size / 1e6:.1f} MB")
    print(
        f"sync: {points:,} points ({progress.rows:,} rows, {progress.sent_bytes / 1e6:.1f} MB) in {t_sync:.2f} s "
        f"= {points / t_sync / 1e6:.1f} M points/s ({progress.sent_bytes / t_sync / 1e6:.0f} MB/s)"
    )
    print(
        f"remote history(keys=['m3'], samples=1000) over {args.steps:,} rows: first {times[0] * 1000:.0f} ms, "
        f"then median {statistics.median(times[1:]) * 1000:.1f} ms ({len(h)} rows)"
    )
    off, on = statistics.median(offline), statistics.median(online)
    print(
        f"log() p50: offline {off:.2f} µs, online {on:.2f} µs (x{on / off:.2f}); runs of {args.calls:,} calls, 3 each"
    )
    try:
        import mlflow  # noqa: F401
    except ImportError:
        print("MLflow: not installed in this environment; not measured")
    else:
        print("MLflow: installed, but this script has no MLflow workload; not measured")


if __name__ == "__main__":
    main()
