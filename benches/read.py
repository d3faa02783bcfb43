"""Read figures (issue 21): cold zoom-outs from block statistics, and whole reads into NumPy and
pandas, each beside its floor (memcpy, zstd decompression), measured side by side in one run.

    python benches/read.py [--rows 10000000 1000000] [--trials 3] [--no-drop]
    python benches/read.py --whole [--rows 1000000]     # the whole reads and their floors only

With PYTHONPATH set to another checkout's python/ (main, say), the same figures of that code:
run both, alternately, on a loaded machine.

For each size: one run of ROWS steps x 10 metrics (random walks, 7-8 bytes a point), then
- cold: a fresh Python process (NumPy, pandas and turbotrack imported) evicts the run's files
  from the page cache (fsync, then posix_fadvise DONTNEED) and times `_core.zoom_history(path,
  "m3", 1000)` (and with `segments=False`: M4's exact answer, straddling blocks decompressed), or `Api(dir=...).run(...).history(keys=["m3"], samples=1000)`; and through a
  fresh server process (the run synced to it first, its files evicted): the first remote
  `history()` after start; once more after dropping the whole page cache (`sync; echo 3 >
  /proc/sys/vm/drop_caches`, needs root; --no-drop skips it): code loaded from disk too;
- warm: the same calls again, and the whole-read answer they replace (`read_history` + M4);
- whole reads: `_core.read_history` (NumPy; on one thread and on every CPU,
  `TURBOTRACK_READ_THREADS`) and `history(pandas=True)` of every point;
- floors: memcpy of the points' float64 bytes, and `zstd -b3` decompression of them.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import turbotrack
from turbotrack import _core
from turbotrack.store.local import projection, select

OFF = {"capture_stdout": False, "capture_system": False, "capture_git": False, "capture_requirements": False}
KEY = "m3"


def make_run(root: Path, rows: int) -> Path:
    os.environ["TURBOTRACK_DIR"] = str(root)
    run = turbotrack.init(project="read", mode="offline", settings=OFF)
    rng = np.random.default_rng(0)
    names = [f"m{k}" for k in range(10)]
    start = np.zeros(10)
    for at in range(0, rows, 1_000_000):
        chunk = rng.standard_normal((min(1_000_000, rows - at), 10)).cumsum(axis=0) + start
        start = chunk[-1]
        if at <= rows // 3 < at + len(chunk):
            chunk[rows // 3 - at, 3] = 1e6  # one spike
        for row in chunk.tolist():
            run.log(dict(zip(names, row)))
    run.finish()
    return Path(run.dir)


def drop_caches(enabled: bool) -> bool:
    """Drop the whole page cache (libraries too: a fresh process then loads Python's modules from disk)."""
    if not enabled:
        return False
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


EVICT = """
def evict(root):
    # The run's files out of the page cache (written back first): the data is cold, the code warm.
    import os
    from pathlib import Path
    for p in Path(root).rglob("*.ttrk"):
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
"""


def evict(root: Path) -> None:
    exec(EVICT + "\nevict(root)", {"root": root})


COLD = (
    EVICT
    + """
import sys, time
import numpy, pandas, turbotrack
from turbotrack import _core
evict(sys.argv[1])
t1 = time.perf_counter()
z = _core.zoom_history(sys.argv[1] + "/history.ttrk", "m3", 1000, segments=sys.argv[2] == "segments")
t2 = time.perf_counter()
print("zoom", (t2 - t1) * 1000, z["zoom"]["decoded"], z["zoom"]["blocks"], z["n_rows"], z["zoom"]["segments"])
"""
)

COLD_API = (
    EVICT
    + """
import sys, time
import numpy, pandas, turbotrack
run = turbotrack.Api(dir=sys.argv[1]).run(sys.argv[2])
evict(sys.argv[1])
t0 = time.perf_counter()
h = run.history(keys=["m3"], samples=1000)
print("api", (time.perf_counter() - t0) * 1000, len(h), bool((h["m3"] == 1e6).any()))
"""
)


def fresh(code: str, *args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True)
    return out.stdout.split()


def start_server(root: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "turbotrack", "server", "--dir", str(root), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip().split("/?token=")[0]


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait()
    if proc.stdout:
        proc.stdout.close()


def remote_cold(local_run: Path, server_root: Path, trials: int, drop: bool) -> list[tuple[str, float, float]]:
    """Sync the run to a server, then per trial: stop it, evict the run's files from the page
    cache, start a fresh server and time `Api.run()` and the first `history(keys=[m3],
    samples=1000)`; the last trial drops the whole page cache instead (when ``drop``)."""
    import pandas  # noqa: F401  (the client's first history() imports it: ~200 ms, not the server's read)

    from turbotrack.server.auth import Keys
    from turbotrack.server.db import open_database
    from turbotrack.store.client import Client
    from turbotrack.sync import core

    db = open_database(None, server_root / "turbotrack")
    key = Keys(db).create("local")[1]
    db.close()
    proc, url = start_server(server_root)
    try:
        client = Client(url, key)
        core.RunSync(client, local_run).sync()
        client.close()
    finally:
        stop(proc)
    path = "/".join(local_run.parts[-3:])
    out = []
    for trial in range(trials + int(drop)):
        whole = trial == trials
        if whole:
            drop_caches(drop)
        else:
            evict(server_root)
        proc, url = start_server(server_root)
        try:
            api = turbotrack.Api(base_url=url, api_key=key)
            t0 = time.perf_counter()
            r = api.run(path)
            t1 = time.perf_counter()
            h = r.history(keys=[KEY], samples=1000)
            t2 = time.perf_counter()
            assert len(h) <= 1000 and (h[KEY] == 1e6).any()
            out.append(
                ("whole page cache dropped" if whole else "run's files evicted", (t1 - t0) * 1000, (t2 - t1) * 1000)
            )
        finally:
            stop(proc)
    return out


def best(fn, n: int = 5) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1000


def zstd_floor(values: np.ndarray, tmp: Path) -> float:
    """MB/s of `zstd -b3` decompression of these float64 bytes (one frame, level 3)."""
    f = tmp / "floats.bin"
    values.tofile(f)
    out = subprocess.run(["zstd", "-b3", "-e3", "-i2", str(f)], capture_output=True, text=True)
    f.unlink()
    m = re.findall(r"([\d.]+) MB/s", out.stdout + out.stderr)
    return float(m[-1]) if m else float("nan")


def whole_reads(root: Path, run_path: str, path: Path, rows: int, tmp: Path) -> None:
    """Every point read into NumPy (one thread, every CPU) and into pandas, beside the floors:
    memcpy of the values, fresh memory for them (first touch), zstd -b3 decompression."""
    threads = os.environ.pop("TURBOTRACK_READ_THREADS", None)
    turbotrack.Api(dir=root / "local").run(run_path).history(pandas=True)  # warm up (allocator, page cache)
    numpy_ms = best(lambda p=path: _core.read_history([p]), 5)
    os.environ["TURBOTRACK_READ_THREADS"] = "1"
    numpy_one_ms = best(lambda p=path: _core.read_history([p]), 5)
    if threads is None:
        del os.environ["TURBOTRACK_READ_THREADS"]
    else:
        os.environ["TURBOTRACK_READ_THREADS"] = threads
    run = turbotrack.Api(dir=root / "local").run(run_path)
    pandas_ms = best(lambda r=run: r.history(pandas=True), 5)
    data = _core.read_history([path])
    values = np.concatenate([data["metrics"][f"m{k}"][1] for k in range(10)])
    dst = np.empty_like(values)
    memcpy_ms = best(lambda d=dst, v=values: np.copyto(d, v))
    touch_ms = best(lambda v=values: np.copyto(np.empty_like(v), v))
    mbs = zstd_floor(values, tmp)
    print(
        f"  whole read of {rows * 10:,} points: NumPy (_core.read_history) {numpy_ms:.0f} ms "
        f"({os.cpu_count()} CPUs; on one thread {numpy_one_ms:.0f} ms), history(pandas=True) {pandas_ms:.0f} ms"
    )
    print(
        f"  floors: memcpy of their {values.nbytes / 1e6:.0f} MB {memcpy_ms:.1f} ms, into fresh memory {touch_ms:.1f} ms; "
        f"zstd -b3 decompression {mbs:.0f} MB/s = {values.nbytes / 1e6 / mbs * 1000:.0f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, nargs="+", default=[10_000_000, 1_000_000])
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--no-drop", action="store_true", help="do not drop the page cache before cold reads")
    ap.add_argument("--whole", action="store_true", help="only the whole reads (NumPy, pandas) and their floors")
    args = ap.parse_args()
    drop = not args.no_drop
    print(
        f"turbotrack {turbotrack.__version__} | Python {platform.python_version()} | {os.cpu_count()} CPUs | "
        f"{platform.processor() or platform.machine()} | load {os.getloadavg()[0]:.1f} (shared machine)"
    )
    print("cold = a fresh process (NumPy, pandas, turbotrack imported), the run's files evicted from the page cache")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in args.rows:
            root = Path(tmp) / f"r{rows}"
            t0 = time.perf_counter()
            run_dir = make_run(root / "local", rows)
            path = run_dir / "history.ttrk"
            size = path.stat().st_size
            print(
                f"\n== {rows:,} rows x 10 metrics ({rows * 10:,} points): logged in {time.perf_counter() - t0:.0f} s, {size / 1e6:.0f} MB ({size / rows / 10:.1f} B/point)"
            )
            run_path = "/".join(run_dir.parts[-3:])
            if args.whole:
                whole_reads(root, run_path, path, rows, Path(tmp))
                shutil.rmtree(root, ignore_errors=True)
                continue
            for _ in range(args.trials):
                z = fresh(COLD, str(run_dir), "segments")
                x = fresh(COLD, str(run_dir), "exact")
                a = fresh(COLD_API, str(root / "local"), run_path)
                print(
                    f"  cold zoom_history: {float(z[1]):.1f} ms ({z[2]} of {z[3]} blocks decompressed, {z[4]} rows, "
                    f"from segments: {z[5]}); M4's exact answer (segments=False): {float(x[1]):.1f} ms ({x[2]} decompressed); "
                    f"cold LocalRun.history(keys=[m3], samples=1000): {float(a[1]):.1f} ms ({a[2]} rows, spike kept: {a[3]})"
                )
            for how, api_ms, hist_ms in remote_cold(run_dir, root / "server", args.trials, drop):
                print(
                    f"  cold remote (fresh server, {how}): Api.run {api_ms:.0f} ms, then history(keys=[m3], samples=1000) {hist_ms:.1f} ms"
                )
            warm_zoom = best(lambda p=path: _core.zoom_history(p, KEY, 1000))

            def whole_answer(path: Path = path) -> None:
                data = _core.read_history([path], projection([KEY], "_step"))
                select(data, [KEY], "_step", 1000)

            warm_whole = best(whole_answer, 3)
            print(
                f"  warm zoom_history {warm_zoom:.1f} ms; the whole-read answer it replaces (read_history([m3]) + M4) {warm_whole:.0f} ms"
            )
            if rows <= 1_000_000:
                whole_reads(root, run_path, path, rows, Path(tmp))
            shutil.rmtree(root, ignore_errors=True)
    print(f"load after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
