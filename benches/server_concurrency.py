"""Many small reads at once (issue 17): 1,000 clients each open a connection and send one small GET
(a run's page: ``GET /api/v1/runs/local/bench/r0``) at the same moment; latency from send to the whole
answer, p50/p99/max, with ``Connection: close`` (each connection closed as it is answered) and kept
alive (as a browser keeps them, closed once every client has its answer), for the server of a git revision from before the ASGI server (its own thread per
connection) and for this tree's, side by side in one run. Each server is a real `turbotrack server`
subprocess on loopback with a run to read; the clients are one asyncio process.

    python benches/server_concurrency.py [--clients 1000] [--rounds 3] [--before REV]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

REPO = Path(__file__).resolve().parents[1]
#: The last commit whose server was the stdlib ThreadingHTTPServer.
BEFORE = "adfdd71"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_of(rev: str) -> Path:
    """The python/ folder of ``rev``, with this build's native core copied in."""
    out = Path(tempfile.mkdtemp(prefix=f"tt-{rev}-"))
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev, "python"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    core = REPO / "python" / "turbotrack" / "_core.abi3.so"
    shutil.copy(core, out / "python" / "turbotrack" / core.name)
    return out / "python"


def start(pythonpath: Path, root: Path, extra: tuple[str, ...] = ()) -> tuple[subprocess.Popen[str], int, str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    key = (
        subprocess.run(
            [sys.executable, "-m", "turbotrack", "keys", "create", "local", "--dir", str(root)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "turbotrack", "server", "--dir", str(root), "--port", str(port), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    while not proc.stdout.readline().startswith("http://"):
        if proc.poll() is not None:
            raise RuntimeError("the server did not start")
    return proc, port, key


def make_root() -> Path:
    root = Path(tempfile.mkdtemp(prefix="tt-conc-"))
    run = root / "turbotrack" / "local" / "bench" / "r0"
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"id": "r0", "project": "bench", "entity": "local", "state": "finished"}))
    (run / "summary.json").write_text(json.dumps({f"m{i}": i / 7 for i in range(20)}))
    (run / "config.json").write_text(json.dumps({"lr": 0.1, "layers": [1, 2, 3]}))
    return root


async def one(port: int, request: bytes, start: asyncio.Event, kept: Optional[list[Any]]) -> Optional[float]:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return None
    await start.wait()
    t0 = time.perf_counter()
    writer.write(request)
    try:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
        await reader.readexactly(length)
        ok = head.startswith(b"HTTP/1.1 200")
    except (asyncio.IncompleteReadError, ConnectionError, StopIteration):
        ok = False
    dt = time.perf_counter() - t0
    if kept is None:
        writer.close()
    else:  # kept alive (as a browser does) until every client has its answer
        kept.append(writer)
    return dt if ok else None


async def round_(port: int, key: str, clients: int, keepalive: bool = False) -> tuple[list[float], int]:
    """One request per client at once: ``Connection: close`` (each connection closed as it is
    answered), or kept alive until all are answered."""
    close = "" if keepalive else "Connection: close\r\n"
    request = (
        f"GET /api/v1/runs/local/bench/r0 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\n{close}\r\n"
    ).encode()
    start = asyncio.Event()
    kept: Optional[list[Any]] = [] if keepalive else None
    tasks = [asyncio.create_task(one(port, request, start, kept)) for _ in range(clients)]
    await asyncio.sleep(1.0)  # let every connection open (the accept backlog is 128 before, 2048 now)
    start.set()
    out = await asyncio.gather(*tasks)
    for w in kept or []:
        w.close()
    ok = [t for t in out if t is not None]
    return ok, clients - len(ok)


def _stats(lat: list[float], failed: int) -> dict[str, float]:
    lat.sort()
    q = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
    return {"p50": q[49] * 1000, "p99": q[98] * 1000, "max": lat[-1] * 1000, "failed": failed}


def measure(pythonpath: Path, clients: int, rounds: int, extra: tuple[str, ...] = ()) -> dict[str, dict[str, float]]:
    """``{"close": stats, "keep-alive": stats}`` for one server."""
    root = make_root()
    proc, port, key = start(pythonpath, root, extra)
    try:
        out = {}
        for mode in ("close", "keep-alive"):
            lat: list[float] = []
            failed = 0
            for _ in range(rounds):
                ok, bad = asyncio.run(round_(port, key, clients, keepalive=mode == "keep-alive"))
                lat += ok
                failed += bad
            out[mode] = _stats(lat, failed)
        return out
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--before", default=BEFORE, help="the git revision measured as 'before'")
    args = ap.parse_args()
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    print(
        f"# {args.clients} concurrent small reads x {args.rounds} rounds; {os.cpu_count()} cores, "
        f"{platform.machine()}, Python {platform.python_version()}"
    )
    results = []
    cases: list[tuple[str, Path, tuple[str, ...]]] = [
        (f"before ({args.before}, ThreadingHTTPServer)", tree_of(args.before), ()),
        ("now (uvicorn, 1 process)", REPO / "python", ()),
        ("now (uvicorn, --workers 2)", REPO / "python", ("--workers", "2")),
    ]
    results = []
    for label, path, extra in cases:
        r = measure(path, args.clients, args.rounds, extra)
        results.append((label, r))
        for mode, m in r.items():
            print(
                f"  {label}, {mode}: p50 {m['p50']:.0f} ms, p99 {m['p99']:.0f} ms, failed {m['failed']:.0f}", flush=True
            )
    print("| server | connections | p50 (ms) | p99 (ms) | max (ms) | failed |")
    print("|---|---|---:|---:|---:|---:|")
    for label, r in results:
        for mode, m in r.items():
            print(f"| {label} | {mode} | {m['p50']:.0f} | {m['p99']:.0f} | {m['max']:.0f} | {m['failed']:.0f} |")
    for mode in ("close", "keep-alive"):
        print(f"p99 before / now ({mode}): {results[0][1][mode]['p99'] / results[1][1][mode]['p99']:.1f}x")


if __name__ == "__main__":
    main()
