"""A replica's CPU per request, by kind (issue 20, RESULTS.md section 22): one `turbotrack server
--store s3://... --db postgresql://...` on moto's S3 and PostgreSQL (tests/objectkit.py starts them),
one client sending N requests of each kind one after another; the server process's CPU time
(psutil) over them, divided by N, beside the wall time. Sequential requests: an append here is its
own pack and transaction (under load, appends share both), so it is an upper bound for appends.

    python benches/request_cost.py [-n 200]

Needs PostgreSQL: ``$TURBOTRACK_TEST_POSTGRES``, else the URL scripts/postgres-test.sh prints."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=200, help="requests of each kind")
    n = ap.parse_args().n
    if not os.environ.get("TURBOTRACK_TEST_POSTGRES"):
        out = subprocess.run(["bash", str(REPO / "scripts" / "postgres-test.sh")], capture_output=True, text=True)
        os.environ["TURBOTRACK_TEST_POSTGRES"] = out.stdout.strip().splitlines()[-1]
    import psutil
    from objectkit import Replicas, moto_s3

    from turbotrack.store.client import Client

    tmp = Path(tempfile.mkdtemp(prefix="turbotrack-request-cost-"))
    with moto_s3("cost") as env, Replicas(tmp, "s3://cost/p", "request_cost", env) as cluster:
        (srv,) = cluster.start(1)
        proc = psutil.Process(srv.proc.pid)
        c = Client(srv.url, cluster.key, timeout=60)
        base = "/api/v1/runs/local/p/r1"
        info = {"id": "r1", "name": "r1", "state": "running", "created_at": time.time()}
        c.json("PUT", base + "/files/run.json", json.dumps(info).encode())
        c.json("PUT", base + "/files/config.json", b"{}")

        def cpu() -> float:
            t = proc.cpu_times()
            return t.user + t.system

        def kind(name: str, fn: Callable[[int], object]) -> None:
            fn(0)
            c0, w0 = cpu(), time.perf_counter()
            for i in range(1, n + 1):
                fn(i)
            dc, dw = cpu() - c0, time.perf_counter() - w0
            print(f"{name:24s} cpu {1000 * dc / n:6.2f} ms/request   wall {1000 * dw / n:6.2f} ms/request")

        offset = [0]

        def append(_: int) -> None:
            offset[0] = int(c.json("PUT", base + "/files/output.log", b"x" * 700, {"offset": offset[0]})["size"])

        def summary(i: int) -> None:
            body = json.dumps({"loss": i, "acc": i / 2}).encode()
            query = {"offset": 0, "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
            c.json("PUT", base + "/files/summary.json", body, query)

        print(f"load average {os.getloadavg()[0]:.2f} (the machine may be shared); {n} requests of each kind")
        kind("heartbeat", lambda i: c.json("POST", base + "/heartbeat", {"ttl": 10}))
        kind("manifest", lambda i: c.json("GET", base + "/manifest"))
        kind("append (700 B)", append)
        kind("summary.json (whole)", summary)
        kind("runs list", lambda i: c.json("GET", "/api/v1/runs/local/p"))
        kind("new run's first batch", _new_runs(tmp, c))
        c.close()


def _new_runs(tmp: Path, c: object) -> Callable[[int], object]:
    """A new run's start as the uploader sends it: one run written offline (its init() files and a
    first block), copied into a new run folder for each call, whose first pass is one batch
    (``?new=1``: run.json, config.json, metadata.json, the history, the summary)."""
    import shutil

    import turbotrack
    from turbotrack.sync.core import RunSync

    settings = {"capture_stdout": False, "capture_system": False, "capture_git": False, "capture_requirements": False}
    run = turbotrack.init(project="p", id="template", dir=str(tmp / "tpl"), mode="offline", settings=settings)
    run.config.update({"lr": 0.001, "batch": 64, "model": "resnet"})
    for k in range(10):
        run.log({f"m{j}": k * 0.5 + j for j in range(10)})
    run.finish()
    template = Path(run.dir)

    def start(i: int) -> None:
        d = tmp / "client" / "turbotrack" / "local" / "p" / f"new{i}"
        shutil.copytree(template, d)
        RunSync(c, d).sync(heartbeat_ttl=10.0, live=True)  # type: ignore[arg-type]

    return start


if __name__ == "__main__":
    main()
