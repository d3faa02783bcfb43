"""obstore against fsspec + s3fs on moto's S3 server (issue 20: why the replicas use obstore).

    python benches/objstore.py                 # PUTs of 4 KB / 64 KB / 4 MB, ranged GETs, 1 and 8 threads
    python benches/objstore.py --seconds 1     # shorter cells

Each cell runs one operation for ``--seconds`` (or ``--max-ops``) from 1 or 8 threads of one process
and reports operations per second and the client's own CPU per operation (the process's user + system
time over the operations: what the library costs a server that shares its cores). obstore runs on this
Python; s3fs (with fsspec, aiobotocore) in the venv of scripts/mlflow-env.sh (never the system Python).
Both talk to the same moto server on loopback, so moto (a Python server) bounds the absolute figures:
read the ratios, and the CPU per operation, which is the client's alone."""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parents[1]
SIZES = {"4 KB": 4 << 10, "64 KB": 64 << 10, "4 MB": 4 << 20}
RANGES = {"4 KB": 4 << 10, "64 KB": 64 << 10}  # ranged GETs of this length from the 4 MB object
BUCKET = "objbench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cell(op: Callable[[int], None], threads: int, seconds: float, max_ops: int) -> dict[str, float]:
    """Run ``op(i)`` from ``threads`` threads until ``seconds`` passed or ``max_ops`` were done."""
    done = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def worker(w: int) -> None:
        i = w
        while time.perf_counter() < stop:
            with lock:
                if done[0] >= max_ops:
                    return
                done[0] += 1
            op(i)
            i += threads

    op(10**6)  # warm: a connection, the client's setup
    c0, t0 = os.times(), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(worker, range(threads)))
    wall = time.perf_counter() - t0
    c1 = os.times()
    cpu = (c1.user - c0.user) + (c1.system - c0.system)
    return {"ops": done[0], "ops_per_s": done[0] / wall, "cpu_ms_per_op": cpu / max(1, done[0]) * 1000}


def _ops_obstore(endpoint: str) -> tuple[Callable[[str, bytes], None], Callable[[str, int, int], bytes]]:
    import obstore
    from obstore.store import S3Store

    store = S3Store(
        BUCKET,
        endpoint=endpoint,
        access_key_id="bench",
        secret_access_key="bench",
        region="us-east-1",
        client_options={"allow_http": True},
    )

    def put(key: str, data: bytes) -> None:
        obstore.put(store, key, data)

    def get(key: str, start: int, end: int) -> bytes:
        return bytes(obstore.get_range(store, key, start=start, end=end))

    return put, get


def _ops_fsspec(endpoint: str) -> tuple[Callable[[str, bytes], None], Callable[[str, int, int], bytes]]:
    import s3fs

    fs = s3fs.S3FileSystem(
        key="bench",
        secret="bench",
        endpoint_url=endpoint,
        client_kwargs={"region_name": "us-east-1"},
        use_listings_cache=False,
        skip_instance_cache=True,
    )

    def put(key: str, data: bytes) -> None:
        fs.pipe_file(f"{BUCKET}/{key}", data)

    def get(key: str, start: int, end: int) -> bytes:
        return bytes(fs.cat_file(f"{BUCKET}/{key}", start=start, end=end))

    return put, get


def side(lib: str, endpoint: str, seconds: float, max_ops: int) -> dict[str, Any]:
    """Every cell for one library (run in the Python that has it); answers its figures."""
    put, get = _ops_obstore(endpoint) if lib == "obstore" else _ops_fsspec(endpoint)
    out: dict[str, Any] = {}
    rnd = random.Random(0)
    for label, size in SIZES.items():
        data = rnd.randbytes(size)
        for threads in (1, 8):
            cell = _cell(lambda i, d=data, n=size: put(f"{lib}/put{n}/{i}", d), threads, seconds, max_ops)
            out[f"PUT {label}, {threads} thread{'s' if threads > 1 else ''}"] = cell
    big = SIZES["4 MB"]
    put(f"{lib}/ranged", rnd.randbytes(big))
    for label, n in RANGES.items():
        starts = [rnd.randrange(0, big - n) for _ in range(4096)]

        def ranged(i: int, starts: list[int] = starts, n: int = n) -> None:
            _check(get(f"{lib}/ranged", starts[i % 4096], starts[i % 4096] + n), n)

        for threads in (1, 8):
            cell = _cell(ranged, threads, seconds, max_ops)
            out[f"ranged GET {label} of 4 MB, {threads} thread{'s' if threads > 1 else ''}"] = cell
    return out


def _check(data: bytes, n: int) -> None:
    if len(data) != n:
        raise RuntimeError(f"a ranged GET answered {len(data)} bytes, not {n}")


def _start_moto() -> tuple[subprocess.Popen[bytes], str]:
    import boto3

    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    s3 = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="bench", aws_secret_access_key="bench", region_name="us-east-1"
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            s3.create_bucket(Bucket=BUCKET)
            return proc, endpoint
        except Exception:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="how long each cell runs")
    ap.add_argument("--max-ops", type=int, default=2000, help="the most operations of one cell")
    ap.add_argument("--side", choices=("obstore", "fsspec"), help=argparse.SUPPRESS)
    ap.add_argument("--endpoint", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    if args.side:  # one library's cells, in the Python that has it
        print(json.dumps(side(args.side, args.endpoint, args.seconds, args.max_ops)))
        return
    venv = subprocess.run(
        ["bash", str(REPO / "scripts" / "mlflow-env.sh")], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    moto, endpoint = _start_moto()
    results: dict[str, dict[str, Any]] = {}
    try:
        for lib, py in (("obstore", sys.executable), ("fsspec", venv)):
            cmd = [py, str(Path(__file__).resolve()), "--side", lib, "--endpoint", endpoint]
            cmd += ["--seconds", str(args.seconds), "--max-ops", str(args.max_ops)]
            got = subprocess.run(cmd, capture_output=True, text=True, cwd=tempfile.gettempdir())
            if got.returncode:
                raise SystemExit(f"{lib}: {got.stderr[-2000:]}")
            results[lib] = json.loads(got.stdout.strip().splitlines()[-1])
    finally:
        moto.kill()
        moto.wait()
    print(f"objstore: {os.uname().nodename}, {os.cpu_count()} cores, load average {os.getloadavg()}, moto on loopback")
    head = ("", "obstore ops/s", "s3fs ops/s", "ratio", "obstore CPU ms/op", "s3fs CPU ms/op", "ratio")
    rows = []
    for cell, a in results["obstore"].items():
        b = results["fsspec"][cell]
        rows.append(
            (
                cell,
                f"{a['ops_per_s']:,.0f}",
                f"{b['ops_per_s']:,.0f}",
                f"{a['ops_per_s'] / max(1e-9, b['ops_per_s']):.2f}x",
                f"{a['cpu_ms_per_op']:.2f}",
                f"{b['cpu_ms_per_op']:.2f}",
                f"{b['cpu_ms_per_op'] / max(1e-9, a['cpu_ms_per_op']):.2f}x",
            )
        )
    widths = [max(len(r[i]) for r in (head, *rows)) for i in range(len(head))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    print(line(head))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line(r))
    print("ratios: obstore's ops/s over s3fs's; s3fs's CPU per operation over obstore's (above 1: obstore is better)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
