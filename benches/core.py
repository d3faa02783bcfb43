"""Micro-benchmarks of the native core on this machine (issue 3's figures that peers do not share):
per-call latency beside the native and pure-Python floors, bytes on disk per point on random and
smooth data, sustained memory over 10 million points, and reading 10 million points back.

    python benches/core.py [--points 10000000] [--calls 200000]

Peers (wandb, trackio, ...) are measured side by side by `turbotrack bench` (benches/compare.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil

import turbotrack
from turbotrack import _core

OFF = {"capture_stdout": False, "capture_system": False, "capture_git": False, "capture_requirements": False}


def percentiles(ns: np.ndarray) -> tuple[float, float, float, float]:
    us = ns / 1000.0
    return (
        float(np.percentile(us, 50)),
        float(np.percentile(us, 99)),
        float(np.percentile(us, 99.9)),
        float(us.max()),
    )


def writer_cpu() -> float:
    """CPU seconds of this process's live turbotrack writer threads (Linux: /proc/self/task)."""
    total = 0.0
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if not f.read().startswith("turbotrack-wri"):
                    continue
            with open(f"/proc/self/task/{tid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def timed_calls(fn, dicts, calls: int) -> np.ndarray:
    out = np.empty(calls, dtype=np.int64)
    clock = time.perf_counter_ns
    n = len(dicts)
    for i in range(calls):
        d = dicts[i % n]
        t0 = clock()
        fn(d)
        out[i] = clock() - t0
    return out


def latency(root: Path, calls: int) -> None:
    rng = np.random.default_rng(0)
    timer = timed_calls(lambda d: None, [{}], calls)
    print(
        f"timer + loop overhead per call: p50 {np.percentile(timer, 50) / 1000:.3f} us (included in every figure below)"
    )
    print(f"{'workload':<26}{'what':<22}{'p50 us':>9}{'p99 us':>9}{'p99.9 us':>10}{'max us':>10}{'ratio p50':>11}")
    keys10 = [f"m{i}" for i in range(10)]
    workloads = {
        "10 scalars/call": lambda r: dict(zip(keys10, r.random(10).tolist())),
        # the same 10 keys, 2 levels: {"train": {5 keys}, "val": {5 keys}}
        "10 nested (2 levels)": lambda r: {
            "train": dict(zip(keys10[:5], r.random(5).tolist())),
            "val": dict(zip(keys10[5:], r.random(5).tolist())),
        },
        "200 scalars/call": lambda r: dict(zip([f"m{i}" for i in range(200)], r.random(200).tolist())),
    }
    for name, make in workloads.items():
        dicts = [make(rng) for _ in range(256)]
        run = turbotrack.init(dir=root, project="bench", settings=OFF, reinit="create_new")
        results = {
            "native_floor": timed_calls(_core.native_floor, dicts, calls),
            "python_floor": timed_calls([].append, dicts, calls),
            "turbotrack log()": timed_calls(run.log, dicts, calls),
        }
        t0 = time.perf_counter()
        run.finish()
        finish_s = time.perf_counter() - t0
        base = np.percentile(results["native_floor"], 50)
        for what, ns in results.items():
            p50, p99, p999, mx = percentiles(ns)
            print(
                f"{name:<26}{what:<22}{p50:>9.3f}{p99:>9.3f}{p999:>10.2f}{mx:>10.1f}{np.percentile(ns, 50) / base:>10.2f}x"
            )
        print(f"{'':<26}finish(): {finish_s * 1000:.1f} ms")
    # the 200,000-point run: 20,000 calls of 10 scalars in a fresh run, its tail beside the floor's
    dicts = [workloads["10 scalars/call"](rng) for _ in range(256)]
    for what, fn in (("native_floor", _core.native_floor), ("turbotrack log()", None)):
        run = None
        if fn is None:
            run = turbotrack.init(dir=root, project="bench", settings=OFF, reinit="create_new")
            fn = run.log
        p50, p99, p999, mx = percentiles(timed_calls(fn, dicts, 20_000))
        if run is not None:
            run.finish()
        print(f"{'200,000 points (fresh run)':<26}{what:<22}{p50:>9.3f}{p99:>9.3f}{p999:>10.2f}{mx:>10.1f}")
    # split step: half with commit=False, the rest committing
    keys = [f"m{i}" for i in range(10)]
    halves = [
        (dict(zip(keys[:5], rng.random(5).tolist())), dict(zip(keys[5:], rng.random(5).tolist()))) for _ in range(256)
    ]
    run = turbotrack.init(dir=root, project="bench", settings=OFF, reinit="create_new")
    log = run.log
    out = np.empty(calls, dtype=np.int64)
    clock = time.perf_counter_ns
    for i in range(0, calls, 2):
        a, b = halves[i % 256]
        t0 = clock()
        log(a, commit=False)
        t1 = clock()
        log(b)
        t2 = clock()
        out[i], out[i + 1] = t1 - t0, t2 - t1
    run.finish()
    p50, p99, p999, mx = percentiles(out)
    print(f"{'split step (2 calls)':<26}{'turbotrack log()':<22}{p50:>9.3f}{p99:>9.3f}{p999:>10.2f}{mx:>10.1f}")


def values(root: Path, calls: int) -> None:
    """log() of the values the core reads natively, side by side in one run: a float, 10 floats, a
    list of 10 floats (JSON text written in Rust), a None (a null), with p50 ratios to one float."""
    rng = np.random.default_rng(2)
    keys10 = [f"m{i}" for i in range(10)]
    workloads = {
        "1 float scalar": lambda r: {"x": float(r.random())},
        "10 float scalars": lambda r: dict(zip(keys10, r.random(10).tolist())),
        "list of 10 floats": lambda r: {"x": r.random(10).tolist()},
        "None": lambda r: {"x": None},
        "tuple of 2 floats": lambda r: {"x": tuple(r.random(2).tolist())},
    }
    print(f"\nvalues the core reads natively ({calls:,} calls each, one run each)")
    print(f"{'workload':<26}{'p50 us':>9}{'p99 us':>9}{'p99.9 us':>10}{'vs 1 float':>12}")
    base = None
    for name, make in workloads.items():
        dicts = [make(rng) for _ in range(256)]
        run = turbotrack.init(dir=root, project="bench", settings=OFF, reinit="create_new")
        ns = timed_calls(run.log, dicts, calls)
        run.finish()
        p50, p99, p999, _ = percentiles(ns)
        base = base or p50
        print(f"{name:<26}{p50:>9.3f}{p99:>9.3f}{p999:>10.2f}{p50 / base:>11.2f}x")


def disk(root: Path, rows: int) -> None:
    rng = np.random.default_rng(1)
    print(f"\nbytes on disk per point ({rows:,} rows x 10 metrics)")
    shapes = {
        "random doubles": lambda i, r: r.random(10),
        "decaying noisy loss (float32, as a torch loss)": lambda i, r: np.float32(
            2.0 * np.exp(-i / 20000) + 0.05 * r.standard_normal(10)
        ).astype(np.float64),
        "decaying noisy loss (float64)": lambda i, r: 2.0 * np.exp(-i / 20000) + 0.05 * r.standard_normal(10),
    }
    for name, make in shapes.items():
        run = turbotrack.init(dir=root, project="disk", settings=OFF, reinit="create_new")
        keys = [f"m{i}" for i in range(10)]
        for i in range(rows):
            run.log(dict(zip(keys, make(i, rng).tolist())))
        run.finish()
        size = (Path(run.dir) / "history.ttrk").stat().st_size
        print(f"  {name:<50} {size / (rows * 10):6.2f} bytes/point (raw f64: 8; incl. _step and _timestamp)")


def sustained(root: Path, points: int) -> None:
    proc = psutil.Process()
    rows = points // 10
    keys = [f"m{i}" for i in range(10)]
    rng = np.random.default_rng(2)
    dicts = [dict(zip(keys, rng.random(10).tolist())) for _ in range(1024)]
    run = turbotrack.init(dir=root, project="soak", settings=OFF, reinit="create_new")
    # warm up so allocator pools and the queue exist before the baseline
    for i in range(20_000):
        run.log(dicts[i & 1023])
    rss0 = proc.memory_info().rss
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    peak = rss0
    log = run.log
    for i in range(rows):
        log(dicts[i & 1023])
        if i % 100_000 == 0:
            peak = max(peak, proc.memory_info().rss)
    loop_s = time.perf_counter() - t0
    run._core.flush()  # everything encoded, compressed and written: the writer's share is complete
    writer_s = writer_cpu()
    run.finish()
    cpu = time.process_time() - cpu0
    peak = max(peak, proc.memory_info().rss)
    print(
        f"\nsustained: {points:,} points in {loop_s:.2f} s ({points / loop_s / 1e6:.1f} M points/s), process CPU {cpu:.2f} s"
    )
    print(
        f"  writer thread CPU {writer_s:.2f} s = {writer_s / (points + 200_000) * 1e9:.0f} ns per point (warm-up included)"
    )
    print(f"  resident memory growth: {(peak - rss0) / 2**20:.1f} MB (peak over baseline after warm-up)")
    paths = [Path(run.dir) / "history.ttrk"]
    t0 = time.perf_counter()
    data = _core.read_history(paths)
    read_s = time.perf_counter() - t0
    n = data["n_rows"] * 10
    assert data["n_rows"] == rows + 20_000, data["n_rows"]
    print(f"  read back {n:,} points into NumPy arrays: {read_s:.3f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--points", type=int, default=10_000_000)
    p.add_argument("--calls", type=int, default=200_000)
    p.add_argument("--disk-rows", type=int, default=100_000)
    p.add_argument("--only", choices=["latency", "values", "disk", "sustained"], help="run one section")
    args = p.parse_args()
    print(
        f"turbotrack {turbotrack.__version__} | Python {platform.python_version()} | {platform.machine()} | {os.cpu_count()} CPUs | {platform.processor() or platform.platform()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sections = {
            "latency": lambda: latency(root, args.calls),
            "values": lambda: values(root, args.calls),
            "disk": lambda: disk(root, args.disk_rows),
            "sustained": lambda: sustained(root, args.points),
        }
        for name, section in sections.items():
            if args.only in (None, name):
                section()


if __name__ == "__main__":
    main()
