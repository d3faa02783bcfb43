"""The fresh process that runs one library through one workload once.

``python -m turbotrack.bench.worker`` starts the library's run, logs every step while timing each
call on the calling thread with ``time.perf_counter_ns``, finishes the run, and writes what it
measured as JSON to ``--result``. A multi-process workload makes this process a parent: it starts
one child worker per process (``--child RANK``), releases them together once all have started their
runs, and merges their figures.

Peers' workers are started through a tiny bootstrap (``command``) that makes ``turbotrack`` a bare
namespace, so a peer's process never pays for importing turbotrack itself.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
import traceback
from array import array
from pathlib import Path
from typing import Any, Callable, Optional

from . import stats
from .adapters import ADAPTERS, Adapter, Context
from .workloads import WORKLOADS, ValueStream, Workload, key_names

PKG_DIR = str(Path(__file__).resolve().parent.parent)
"""The ``turbotrack`` package folder this harness belongs to."""

#: Libraries whose worker imports the real turbotrack package.
NEEDS_TURBOTRACK = frozenset({"turbotrack", "native_floor"})

_BOOTSTRAP = (
    "import sys, types\n"
    "pkg = types.ModuleType('turbotrack')\n"
    "pkg.__path__ = [sys.argv.pop(1)]\n"
    "sys.modules['turbotrack'] = pkg\n"
    "from turbotrack.bench.worker import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)

#: How long a child waits for the others to start, and the poll interval while it waits.
GO_TIMEOUT_S = 600.0
GO_POLL_S = 0.005


def command(library: str, args: list[str]) -> list[str]:
    """The command line that runs a worker for ``library`` with ``args``."""
    if library in NEEDS_TURBOTRACK:
        return [sys.executable, "-m", "turbotrack.bench.worker", *args]
    return [sys.executable, "-c", _BOOTSTRAP, PKG_DIR, *args]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m turbotrack.bench.worker")
    p.add_argument("--library", required=True, choices=sorted(ADAPTERS))
    p.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--data", default="random")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="folder the library writes into")
    p.add_argument("--result", type=Path, required=True, help="JSON file to write figures to")
    p.add_argument("--shared-run-id", default=None, help="turbotrack: one shared run for all procs")
    p.add_argument("--prepare", action="store_true", help="only create the tracking store")
    p.add_argument("--child", type=int, default=None, help="process index (multi-process child)")
    p.add_argument("--sync", type=Path, default=None, help="folder for the start-together files")
    return p


def main(argv: Optional[list[str]] = None) -> int:
    args = _parser().parse_args(argv)
    result: dict[str, Any] = {"library": args.library, "workload": args.workload}
    try:
        workload = WORKLOADS[args.workload]
        if args.prepare:
            _start(lambda: ADAPTERS[args.library]().prepare(args.out))
        elif workload.procs > 1 and args.child is None:
            result.update(_run_parent(args, workload))
        else:
            result.update(_run_one(args, workload))
    except _Reported as exc:
        result[exc.kind] = str(exc)
        result["traceback"] = exc.tb
    except BaseException as exc:  # everything goes to the harness
        result["error"] = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        result["traceback"] = traceback.format_exc()[-4000:]
    _write_json(args.result, result)
    return 0


def _run_one(args: argparse.Namespace, workload: Workload) -> dict[str, Any]:
    """Run the workload's threads in this process; as a child, start in step with the others."""
    rank = args.child or 0
    adapter = ADAPTERS[args.library]()
    ctx = Context(args.out, workload, rank=rank, shared_run_id=args.shared_run_id)
    _start(lambda: adapter.start(ctx))
    ready_at = time.perf_counter()
    if args.child is not None:
        _wait_for_go(args.sync, rank)
    latencies, loop_s = _log_all(adapter, workload, args, first_stream=rank * workload.threads)
    t1 = time.perf_counter()
    adapter.finish()
    finish_s = time.perf_counter() - t1
    out: dict[str, Any] = {
        "ready_at": ready_at,
        "loop_s": loop_s,
        "finish_s": finish_s,
        "calls": len(latencies),
        "run_paths": adapter.run_paths(),
        "applied": adapter.applied(),
        "maxrss_bytes": _peak_rss_bytes(),
        "cpu_s_before_exit": _tree_cpu_s(),
    }
    if args.child is not None:
        with open(args.result.with_suffix(".lat"), "wb") as fh:
            latencies.tofile(fh)
    else:
        out.update(stats.latency_figures(latencies))
    return out


def _log_all(adapter: Adapter, workload: Workload, args: argparse.Namespace, first_stream: int) -> tuple[array, float]:
    """Log every step of every thread's stream; the merged latencies (ns), the loop's wall time."""
    n = workload.threads
    lats = [array("q") for _ in range(n)]
    if n == 1:
        t0 = time.perf_counter()
        _log_stream(adapter, workload, args, first_stream, lats[0])
        return lats[0], time.perf_counter() - t0
    errors: list[BaseException] = []
    barrier = threading.Barrier(n + 1)

    def target(j: int) -> None:
        barrier.wait()
        try:
            _log_stream(adapter, workload, args, first_stream + j, lats[j])
        except BaseException as exc:  # re-raised on the main thread
            errors.append(exc)

    threads = [threading.Thread(target=target, args=(j,), name=f"bench-{j}") for j in range(n)]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    loop_s = time.perf_counter() - t0
    if errors:
        raise errors[0]
    merged = array("q")
    for lat in lats:
        merged.extend(lat)
    return merged, loop_s


def _log_stream(adapter: Adapter, workload: Workload, args: argparse.Namespace, stream: int, lat: array) -> None:
    """The timed loop of one stream: each row is built first, then only the call is timed."""
    names = key_names(workload, stream)
    values = ValueStream(workload, args.data, args.seed, stream, args.steps)
    clock = time.perf_counter_ns
    record = lat.append
    log = adapter.log
    if not workload.split:
        for step in range(args.steps):
            data = dict(zip(names, values.row(step)))
            t0 = clock()
            log(data, step)
            record(clock() - t0)
        return
    half = len(names) // 2
    first_names, rest_names = names[:half], names[half:]
    partial = adapter.log_partial
    for step in range(args.steps):
        row = values.row(step)
        first = dict(zip(first_names, row[:half]))
        rest = dict(zip(rest_names, row[half:]))
        t0 = clock()
        partial(first, step)
        t1 = clock()
        log(rest, step)
        t2 = clock()
        record(t1 - t0)
        record(t2 - t1)


def _run_parent(args: argparse.Namespace, workload: Workload) -> dict[str, Any]:
    """Start one child per process, release them together, and merge what they measured."""
    sync = args.result.parent / f"{args.result.stem}.sync"
    sync.mkdir(parents=True, exist_ok=True)
    children = []
    for rank in range(workload.procs):
        child_args = [
            *_passthrough(args),
            "--child", str(rank),
            "--sync", str(sync),
            "--result", str(sync / f"r{rank}.json"),
        ]  # fmt: skip
        log = open(sync / f"r{rank}.log", "wb")  # closed once the child has exited
        cmd = command(args.library, child_args)
        children.append((subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log))
    try:
        _release_when_ready(sync, [c for c, _ in children])
    finally:
        for child, log in children:
            child.wait()
            log.close()
    results = [_read_json(sync / f"r{rank}.json") for rank in range(workload.procs)]
    for rank, res in enumerate(results):
        for key in ("import_error", "error"):
            if res.get(key):
                raise _Reported(key, f"process {rank}: {res[key]}", res.get("traceback", ""))
    merged = array("q")
    for rank in range(workload.procs):
        with open(sync / f"r{rank}.lat", "rb") as fh:
            merged.frombytes(fh.read())
    out: dict[str, Any] = {
        "ready_at": max(r["ready_at"] for r in results),
        "loop_s": max(r["loop_s"] for r in results),
        "finish_s": max(r["finish_s"] for r in results),
        "calls": len(merged),
        "run_paths": [p for r in results for p in r["run_paths"]],
        "applied": results[0]["applied"],
        # The children run side by side: their peaks add up.
        "maxrss_bytes": _peak_rss_bytes() + sum(r["maxrss_bytes"] for r in results),
        "cpu_s_before_exit": _tree_cpu_s(),
    }
    out.update(stats.latency_figures(merged))
    return out


class _Reported(Exception):
    """A failure already classified: ``kind`` is ``"import_error"`` (the harness lists the library
    as skipped) or ``"error"``."""

    def __init__(self, kind: str, message: str, tb: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.tb = tb


def _start(start: Callable[[], None]) -> None:
    """Start the library; an ImportError here means it cannot be benchmarked (skipped), while one
    raised later is an error like any other."""
    try:
        start()
    except ImportError as exc:
        raise _Reported("import_error", f"{type(exc).__name__}: {exc}", traceback.format_exc()) from exc


def _passthrough(args: argparse.Namespace) -> list[str]:
    out = [
        "--library", args.library,
        "--workload", args.workload,
        "--steps", str(args.steps),
        "--data", args.data,
        "--seed", str(args.seed),
        "--out", str(args.out),
    ]  # fmt: skip
    if args.shared_run_id:
        out += ["--shared-run-id", args.shared_run_id]
    return out


def _release_when_ready(sync: Path, children: list[subprocess.Popen]) -> None:
    """Create ``go`` once every child has started its run (or died trying)."""
    deadline = time.monotonic() + GO_TIMEOUT_S
    pending = set(range(len(children)))
    while pending and time.monotonic() < deadline:
        for rank in list(pending):
            if (sync / f"r{rank}.ready").exists() or children[rank].poll() is not None:
                pending.discard(rank)
        time.sleep(GO_POLL_S)
    (sync / "go").touch()


def _wait_for_go(sync: Optional[Path], rank: int) -> None:
    if sync is None:
        return
    (sync / f"r{rank}.ready").touch()
    deadline = time.monotonic() + GO_TIMEOUT_S
    go = sync / "go"
    while not go.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the other processes never started")
        time.sleep(GO_POLL_S)


def _peak_rss_bytes() -> int:
    """This process's peak RSS since it started its program. Linux's ``ru_maxrss`` would also count
    the memory of the process that forked it (held until exec), so ``VmHWM`` is read where there
    is one."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def _tree_cpu_s() -> float:
    """CPU seconds of this process, its waited-for children, and its live descendants (e.g. wandb's
    service, which lives until this process exits)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    import psutil  # only now: its import must not count in the figures above

    for proc in psutil.Process().children(recursive=True):
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


def _read_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {"error": f"no result from {path.stem} (it crashed; see {path.with_suffix('.log')})"}


if __name__ == "__main__":
    sys.exit(main())
