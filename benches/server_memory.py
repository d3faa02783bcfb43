"""The server's memory while it serves one large run to several readers at once (issue 17): a real
`turbotrack server` subprocess, a 1M-step run of 10 scalar keys, 4 concurrent readers (two asking
for charts, `history?samples=1000`, two paging `rows`), the server's resident memory sampled with
psutil. Give several `--code` folders (each a `python/` folder holding a turbotrack) to run the same
workload against each, side by side, on the same run.

    python benches/server_memory.py [--steps 1000000] [--code /work/main/python --code python]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import psutil

KEYS = [f"m{j}" for j in range(10)]


def make_run(root: Path, steps: int, code: str) -> str:
    """A finished run of ``steps`` rows of the 10 keys, under ``root``; its ``entity/project/id``."""
    script = f"""
import turbotrack
run = turbotrack.init(project="bench", dir={str(root)!r}, settings={{"capture_stdout": False,
    "capture_system": False, "capture_git": False, "capture_requirements": False}})
for i in range({steps}):
    run.log({{k: (i * (j + 1)) % 997 / 997.0 for j, k in enumerate({KEYS!r})}})
run.finish()
print(run.path)
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=_env(code), check=True)
    return out.stdout.strip().splitlines()[-1]


def _env(code: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path(code).resolve())}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(root: Path, code: str) -> tuple[subprocess.Popen[str], str, str]:
    """A server on ``root`` running the turbotrack in ``code``: (process, base URL, API key)."""
    env = _env(code)
    made = subprocess.run(
        [sys.executable, "-m", "turbotrack", "keys", "create", "local", "--dir", str(root)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    key = made.stdout.strip().splitlines()[-1]
    port = _free_port()
    args = [sys.executable, "-m", "turbotrack", "server", "--dir", str(root), "--port", str(port)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        if line.startswith("http://"):
            return proc, f"http://127.0.0.1:{port}", key
        if not line and proc.poll() is not None:
            raise RuntimeError("the server did not start")


def get(url: str, key: str) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=600) as resp:
        return json.loads(resp.read())


def readers(base: str, key: str, path: str) -> list[Callable[[], None]]:
    run = f"{base}/api/v1/runs/{path}"

    def charts_each() -> None:  # the run page: one chart per key, each its own rows
        get(f"{run}/history?keys={','.join(KEYS)}&each=1&samples=1000", key)

    def charts_by_key() -> None:  # a workspace: one key at a time
        for k in KEYS:
            assert get(f"{run}/history?keys={k}&samples=1000", key)["rows"] <= 1000

    def rows_pages() -> None:  # the first 20 pages of 1,000 rows
        offset: Any = 0
        for _ in range(20):
            page = get(f"{run}/rows?limit=1000&offset={offset}", key)
            offset = page["next"]

    def rows_first() -> None:  # `rows?limit=1`, as a table preview asks, 20 times
        for _ in range(20):
            assert len(get(f"{run}/rows?limit=1", key)["rows"]) == 1

    return [charts_each, charts_by_key, rows_pages, rows_first]


def measure(root: Path, path: str, code: str) -> dict[str, float]:
    proc, base, key = serve(root, code)
    try:
        ps = psutil.Process(proc.pid)
        get(f"{base}/api/v1/projects", key)
        idle = ps.memory_info().rss
        peak = [idle]
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], ps.memory_info().rss)
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        t0 = time.perf_counter()
        errors: list[BaseException] = []

        def guarded(fn: Callable[[], None]) -> Callable[[], None]:
            def run() -> None:
                try:
                    fn()
                except BaseException as e:  # reported below
                    errors.append(e)

            return run

        threads = [threading.Thread(target=guarded(fn)) for fn in readers(base, key, path)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        done.set()
        sampler.join()
        after = ps.memory_info().rss
        if errors:
            raise errors[0]
        return {"idle": idle / 2**20, "peak": peak[0] / 2**20, "after": after / 2**20, "wall": wall}
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=1_000_000)
    ap.add_argument("--code", action="append", help="a folder holding the turbotrack package (repeatable)")
    args = ap.parse_args()
    codes = args.code or [str(Path(__file__).resolve().parents[1] / "python")]
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        t0 = time.perf_counter()
        path = make_run(root, args.steps, codes[-1])
        print(f"# a run of {args.steps:,} steps x {len(KEYS)} keys written in {time.perf_counter() - t0:.1f} s")
        print(f"{'code':<40} {'idle MiB':>9} {'peak MiB':>9} {'after MiB':>10} {'4 readers s':>12}")
        for code in codes:
            m = measure(root, path, code)
            print(f"{code:<40} {m['idle']:>9.0f} {m['peak']:>9.0f} {m['after']:>10.0f} {m['wall']:>12.1f}")


if __name__ == "__main__":
    main()
