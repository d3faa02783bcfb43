"""log()'s tail: a latency histogram of every call, beside the floors, with each slow call's cause.

    python benches/tail.py [--calls 200000] [--keys 10] [--repeat 1] [--no-diagnose]

In one process, one after another: the native floor (`_core.native_floor`: the dict iterated in
Rust), the queue push alone (`_core.PushFloor`: the dict read into the same item vector `log()`
builds and pushed on a bounded queue that a thread drains, nothing else), and `log()` of a fresh
run. Each call is timed with `time.perf_counter_ns()` into a preallocated NumPy array (the dicts
are built before the clock starts), so the loop allocates nothing the cyclic GC tracks.

Printed per workload: p50 / p99 / p99.9 / max and a log2 histogram of the calls (how many took
< 1 us, 1-2 us, 2-4 us ...). With diagnosis on (the default) a second `log()` pass reads the
thread's rusage after every call (outside the timed window) and sorts each call over 100 us by
what happened during it: a minor page fault, a voluntary context switch (the thread slept: a full
queue or the lock), an involuntary one (the scheduler ran something else: the machine's load), a
garbage collection (`gc.callbacks`), or none of these.

`--capture N` adds what capture costs: in N fresh processes (so that nothing is imported yet), a run
with every capture on (the default settings: console, system metrics, git, requirements, metadata;
run from this repository, so git has a work tree) and its first 400,000 `log()` calls, the time
capture's start-up work runs beside the program.

`--online` adds what the online uploader costs: 600,000 calls of 10 scalars, each after an 8 µs
busy "step", offline and then online to a `turbotrack server` on loopback (`--min-gap S` sets the
least time between two of the uploader's passes woken by new blocks, `uploader.MIN_GAP`).
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

import turbotrack
from turbotrack import _core

REPO = Path(__file__).resolve().parents[1]
OFF = {"capture_stdout": False, "capture_system": False, "capture_git": False, "capture_requirements": False}
SLOW_NS = 100_000


def timed(fn: Callable[[Any], Any], dicts: list[dict[str, Any]], calls: int) -> np.ndarray:
    out = np.empty(calls, dtype=np.int64)
    out.fill(0)  # touch the pages before the clock runs
    clock = time.perf_counter_ns
    n = len(dicts)
    for i in range(calls):
        d = dicts[i % n]
        t0 = clock()
        fn(d)
        out[i] = clock() - t0
    return out


def diagnosed(fn: Callable[[Any], Any], dicts: list[dict[str, Any]], calls: int) -> dict[str, int]:
    """Time each call and read the thread's rusage after it: the slow calls by cause."""
    gcs: list[int] = []

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            gcs.append(time.perf_counter_ns())

    gc.callbacks.append(on_gc)
    clock = time.perf_counter_ns
    usage = resource.getrusage
    who = resource.RUSAGE_THREAD
    n = len(dicts)
    causes = {
        "slow calls": 0,
        "not preempted": 0,
        "page fault": 0,
        "slept (voluntary switch)": 0,
        "preempted": 0,
        "gc": 0,
        "none": 0,
    }
    faulted: list[int] = []
    before = usage(who)
    try:
        for i in range(calls):
            d = dicts[i % n]
            g = len(gcs)
            t0 = clock()
            fn(d)
            t1 = clock()
            after = usage(who)
            if after.ru_minflt + after.ru_majflt > before.ru_minflt + before.ru_majflt:
                faulted.append(t1 - t0)
            if t1 - t0 > SLOW_NS:
                causes["slow calls"] += 1
                if after.ru_nivcsw == before.ru_nivcsw:
                    causes["not preempted"] += 1
                found = False
                for name, hit in (
                    ("page fault", after.ru_minflt + after.ru_majflt > before.ru_minflt + before.ru_majflt),
                    ("slept (voluntary switch)", after.ru_nvcsw > before.ru_nvcsw + 0),
                    ("preempted", after.ru_nivcsw > before.ru_nivcsw),
                    ("gc", len(gcs) > g),
                ):
                    if hit:
                        causes[name] += 1
                        found = True
                if not found:
                    causes["none"] += 1
            before = after
    finally:
        gc.callbacks.remove(on_gc)
    causes["calls with a page fault"] = len(faulted)
    causes["their p50 ns"] = int(np.percentile(faulted, 50)) if faulted else 0
    causes["collections during the pass"] = len(gcs)
    return causes


def tracked_allocations(fn: Callable[[Any], Any], dicts: list[dict[str, Any]], calls: int = 10_000) -> float:
    """GC-tracked objects a call allocates (net of frees: gen-0's count), with collections off."""
    gc.disable()
    try:
        gc.collect()
        before = gc.get_count()[0]
        for i in range(calls):
            fn(dicts[i % len(dicts)])
        return (gc.get_count()[0] - before) / calls
    finally:
        gc.enable()


def describe(causes: dict[str, int]) -> str:
    """The slow calls by cause (a call may have several), and the page faults of all calls."""
    return ", ".join(f"{k} {v}" for k, v in causes.items())


def histogram(ns: np.ndarray) -> str:
    """Counts per log2 bucket of microseconds: `<1`, `1-2`, `2-4`, ... up to the max."""
    us = ns / 1000.0
    edges = [0.0, 1.0]
    while edges[-1] <= us.max():
        edges.append(edges[-1] * 2)
    counts, _ = np.histogram(us, bins=edges)
    parts = []
    for lo, hi, c in zip(edges[:-1], edges[1:], counts):
        if c:
            parts.append(f"{'<1' if lo == 0 else f'{lo:g}-{hi:g}'}:{c}")
    return " ".join(parts)


def report(name: str, ns: np.ndarray) -> None:
    us = ns / 1000.0
    p50, p99, p999 = np.percentile(us, [50, 99, 99.9])
    over = int((ns > SLOW_NS).sum())
    print(f"  {name:<22}{p50:>8.3f}{p99:>9.3f}{p999:>10.2f}{us.max():>10.1f}{over:>7}   {histogram(ns)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=200_000)
    p.add_argument("--keys", default="10,200", help="scalars per call, comma-separated workloads")
    p.add_argument("--nested", action="store_true", help="also 10 keys as 2 nested dicts of 5")
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--no-diagnose", action="store_true")
    p.add_argument("--capture", type=int, default=0, metavar="N", help="N fresh processes' first calls, capture on")
    p.add_argument("--first-calls", type=int, default=0, help=argparse.SUPPRESS)  # one of those processes
    p.add_argument("--online", action="store_true", help="offline vs online, the uploader's passes beside log()")
    p.add_argument("--min-gap", type=float, default=None, help="with --online: the uploader's MIN_GAP (seconds)")
    args = p.parse_args()
    if args.first_calls:
        first_calls(args.first_calls)
        return
    print(
        f"turbotrack {turbotrack.__version__} | Python {platform.python_version()} | {os.cpu_count()} CPUs"
        f" | load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"  {'':<22}{'p50 us':>8}{'p99 us':>9}{'p99.9 us':>10}{'max us':>10}{'>100us':>7}   histogram (us:calls)")
    rng = np.random.default_rng(0)
    workloads: dict[str, list[dict[str, Any]]] = {}
    for k in (int(x) for x in args.keys.split(",")):
        keys = [f"m{i}" for i in range(k)]
        workloads[f"{k} scalars/call"] = [dict(zip(keys, rng.random(k).tolist())) for _ in range(256)]
    if args.nested:
        keys = [f"m{i}" for i in range(5)]
        workloads["10 nested (2 x 5)"] = [
            {"train": dict(zip(keys, rng.random(5).tolist())), "val": dict(zip(keys, rng.random(5).tolist()))}
            for _ in range(256)
        ]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for _ in range(args.repeat):
            for name, dicts in workloads.items():
                print(f"{name}, {args.calls:,} calls")
                report("native floor", timed(_core.native_floor, dicts, args.calls))
                if hasattr(_core, "PushFloor"):  # absent from builds before it (A/B runs)
                    floor = _core.PushFloor()
                    report("queue push alone", timed(floor.push, dicts, args.calls))
                    floor.close()
                run = turbotrack.init(dir=root, project="tail", settings=OFF, reinit="create_new")
                ns = timed(run.log, dicts, args.calls)
                report("turbotrack log()", ns)
                print(
                    f"  first call (interns {len(dicts[0])} new names): {ns[0] / 1000:.1f} us;"
                    f" GC-tracked objects allocated per log() call: {tracked_allocations(run.log, dicts):.4f}"
                )
                run.finish()
                if not args.no_diagnose:
                    causes = diagnosed(_core.native_floor, dicts, args.calls)
                    print("  native floor again, rusage read after each call: " + describe(causes))
                    run = turbotrack.init(dir=root, project="tail", settings=OFF, reinit="create_new")
                    causes = diagnosed(run.log, dicts, args.calls)
                    run.finish()
                    print("  log() again, rusage read after each call: " + describe(causes))
        if args.capture:
            print(f"10 scalars/call, the first 400,000 calls of a run with capture on, {args.capture} fresh processes")
            for _ in range(args.capture):
                out = subprocess.run(
                    [sys.executable, __file__, "--first-calls", "400000"], capture_output=True, text=True, cwd=REPO
                )
                print(out.stdout.rstrip() or out.stderr[-2000:])
        if args.online:
            online(root, args.min_gap)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def stepped(run: Any, dicts: list[dict[str, Any]], calls: int, step_s: float = 8e-6) -> np.ndarray:
    """``timed`` with a busy "training step" of ``step_s`` before each call (so a run lasts seconds)."""
    out = np.zeros(calls, dtype=np.int64)
    clock, spin = time.perf_counter_ns, time.perf_counter
    for i in range(calls):
        t = spin()
        while spin() - t < step_s:
            pass
        d = dicts[i % len(dicts)]
        t0 = clock()
        run.log(d)
        out[i] = clock() - t0
    return out


def online(root: Path, min_gap: Any) -> None:
    """Offline, then online to a loopback server: the same stepped calls (see the docstring)."""
    import socket
    import urllib.request

    from turbotrack.sync import uploader

    if min_gap is not None:
        uploader.MIN_GAP = float(min_gap)
    rng = np.random.default_rng(0)
    keys = [f"m{i}" for i in range(10)]
    dicts = [dict(zip(keys, rng.random(10).tolist())) for _ in range(256)]
    srv_dir = root / "server"
    make_key = [sys.executable, "-m", "turbotrack", "keys", "create", "local", "--dir", str(srv_dir)]
    key = subprocess.run(make_key, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [sys.executable, "-m", "turbotrack", "server", "--dir", str(srv_dir), "--port", str(port)]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{url}/api/v1/projects", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        print(f"10 scalars/call after an 8 us step, 600,000 calls; uploader MIN_GAP {uploader.MIN_GAP} s")
        for mode in ("offline", "online"):
            settings: dict[str, Any] = dict(OFF)
            if mode == "online":
                settings.update(mode="online", base_url=url, api_key=key)
            run = turbotrack.init(dir=root / mode, project="tail", settings=settings, reinit="create_new")
            time.sleep(1.0)  # capture's start-up done
            ns = stepped(run, dicts, 600_000)
            run.finish()
            slow = ns[ns > SLOW_NS]
            report(f"log(), {mode}", ns)
            print(f"  {'':<22}calls over 100 us: {len(slow)}, {slow.sum() / 1e6:.1f} ms in all")
    finally:
        server.terminate()
        server.wait()


def first_calls(calls: int) -> None:
    """One fresh process: a run with the default settings, its first ``calls`` calls timed."""
    rng = np.random.default_rng(0)
    keys = [f"m{i}" for i in range(10)]
    dicts = [dict(zip(keys, rng.random(10).tolist())) for _ in range(256)]
    with tempfile.TemporaryDirectory() as tmp:
        run = turbotrack.init(dir=tmp, project="tail", reinit="create_new")
        ns = timed(run.log, dicts, calls)
        run.finish()
    slow = ns[ns > SLOW_NS]
    report("log(), capture on", ns)
    print(f"  {'':<22}calls over 100 us: {len(slow)}, {slow.sum() / 1e6:.1f} ms in all")


if __name__ == "__main__":
    main()
