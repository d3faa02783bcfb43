"""Many processes: aggregate logged points per second with 1, 2 and 4 processes logging into one
shared turbotrack run, beside the same number of separate runs, beside wandb's shared mode.

Each process logs rows of 10 random floats as fast as it can, from a common start (a barrier) to
the end of its finish(); the aggregate rate is all points over the time from the first start to
the last finish. Each process's CPU time (its caller and its writer thread) is also summed: points
per CPU-second that stay level from 1 to 4 processes mean nothing is serialised across processes.
A single turbotrack process logging flat out already keeps close to two cores busy (the caller,
and the writer encoding and compressing), so on a 2-core machine wall-clock throughput cannot
double with a second process; per CPU-second is the figure that shows serialisation.

    python benches/procs.py [--rows 200000] [--wandb-rows 3000] [--procs 1,2,4] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import random
import tempfile
import time
import traceback
from typing import Any

KEYS = [f"m{i}" for i in range(10)]


def _rows(n: int, seed: int) -> list[dict[str, float]]:
    rng = random.Random(seed)
    return [{k: rng.random() for k in KEYS} for _ in range(min(n, 4096))]


def worker(
    kind: str, rank: int, nprocs: int, rows: int, root: str, run_id: str, barrier: Any, out: Any, work_us: float = 0.0
) -> None:
    try:
        data = _rows(rows, rank)
        if kind.startswith("turbotrack"):
            import turbotrack

            off = {
                "capture_stdout": False,
                "capture_system": False,
                "capture_git": False,
                "capture_requirements": False,
            }
            if kind == "turbotrack shared":
                run = turbotrack.init(
                    dir=root, project="procs", id=run_id, settings={**off, "shared": True, "rank": rank}
                )
            else:
                run = turbotrack.init(dir=root, project="procs", id=f"{run_id}-{rank}", settings=off)
        else:
            import wandb

            settings = wandb.Settings(
                mode="shared",
                x_primary=rank == 0,
                x_label=f"rank{rank}",
                silent=True,
                x_disable_stats=True,
                console="off",
            )
            run = wandb.init(dir=root, project="procs", id=run_id, mode="offline", settings=settings)
        log = run.log
        n = len(data)
        barrier.wait()
        t0, c0 = time.time(), time.process_time()
        work = work_us / 1e6
        clock = time.perf_counter
        for i in range(rows):
            if work:  # a stand-in for the training step between two log() calls
                until = clock() + work
                while clock() < until:
                    pass
            log(data[i % n])
        run.finish()
        out.put((rank, t0, time.time(), time.process_time() - c0, None))
    except Exception:
        out.put((rank, 0.0, 0.0, 0.0, traceback.format_exc(limit=3)))


def measure(kind: str, nprocs: int, rows: int, work_us: float = 0.0) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(nprocs)
    out = ctx.Queue()
    with tempfile.TemporaryDirectory() as root:
        run_id = f"r{random.randrange(1 << 30):x}"
        procs = [
            ctx.Process(target=worker, args=(kind, r, nprocs, rows, root, run_id, barrier, out, work_us))
            for r in range(nprocs)
        ]
        for p in procs:
            p.start()
        results = [out.get(timeout=900) for _ in procs]
        for p in procs:
            p.join(timeout=60)
        errors = [e for *_, e in results if e]
        if errors:
            return {"kind": kind, "procs": nprocs, "error": errors[0].strip().splitlines()[-1]}
        start = min(r[1] for r in results)
        end = max(r[2] for r in results)
        cpu = sum(r[3] for r in results)
        points = rows * 10 * nprocs
        verified = None
        if kind.startswith("turbotrack"):
            import turbotrack

            api = turbotrack.Api(dir=root)
            paths = (
                [f"procs/{run_id}"] if kind == "turbotrack shared" else [f"procs/{run_id}-{r}" for r in range(nprocs)]
            )
            got = sum(len(api.run(p).history(pandas=False)) for p in paths)
            verified = got == rows * nprocs
        return {
            "kind": kind + (f", {work_us:g} µs of work per step" if work_us else ""),
            "procs": nprocs,
            "points": points,
            "seconds": end - start,
            "rate": points / (end - start),
            "per_cpu": points / cpu,
            "verified": verified,
        }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, default=200_000, help="rows per process for turbotrack")
    p.add_argument("--wandb-rows", type=int, default=3_000, help="rows per process for wandb (far slower)")
    p.add_argument("--procs", default="1,2,4")
    p.add_argument("--work-us", type=float, default=20.0, help="also run with this much busy work per step (0: skip)")
    p.add_argument("--work-rows", type=int, default=100_000, help="rows per process in the run with work")
    p.add_argument("--markdown", help="append the table to this file")
    args = p.parse_args()
    counts = [int(x) for x in args.procs.split(",")]
    results = []
    for kind in ("turbotrack shared", "turbotrack separate", "wandb shared"):
        rows = args.wandb_rows if kind.startswith("wandb") else args.rows
        for n in counts:
            try:
                r = measure(kind, n, rows)
            except ImportError as e:
                r = {"kind": kind, "procs": n, "error": f"skipped: {e}"}
            results.append(r)
            print(_line(r, results), flush=True)
    if args.work_us:
        for n in counts:
            r = measure("turbotrack shared", n, args.work_rows, args.work_us)
            results.append(r)
            print(_line(r, results), flush=True)
    if args.markdown:
        with open(args.markdown, "a") as fh:
            fh.write(_markdown(results, args))


def _line(r: dict[str, Any], results: list[dict[str, Any]]) -> str:
    if "error" in r:
        return f"{r['kind']:<22}{r['procs']:>3} procs  {r['error']}"
    one = next((x for x in results if x["kind"] == r["kind"] and x["procs"] == 1 and "rate" in x), None)
    scale = f"{r['rate'] / one['rate']:.2f}x of 1 proc" if one else ""
    check = {True: "read back ✓", False: "READ BACK FAILED", None: ""}[r["verified"]]
    return (
        f"{r['kind']:<22}{r['procs']:>3} procs  {r['rate'] / 1e6:8.2f} M points/s  ({r['points']:,} points in "
        f"{r['seconds']:.2f} s)  {scale}  {r['per_cpu'] / 1e6:6.2f} M points per CPU-second  {check}"
    )


def _markdown(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        "\n## Many processes: aggregate throughput (benches/procs.py)\n",
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}. turbotrack {args.rows:,} rows x 10 floats per process, wandb {args.wandb_rows:,}.\n",
        "| what | processes | M points/s | × of 1 process | M points per CPU-second | read back |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['kind']} | {r['procs']} | — | — | — | {r['error']} |")
            continue
        one = next((x for x in results if x["kind"] == r["kind"] and x["procs"] == 1 and "rate" in x), None)
        lines.append(
            f"| {r['kind']} | {r['procs']} | {r['rate'] / 1e6:.3f} | {r['rate'] / one['rate']:.2f} | "
            f"{r['per_cpu'] / 1e6:.3f} | "
            f"{'✓' if r['verified'] else ('—' if r['verified'] is None else 'FAILED')} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
