"""The runs table's server side (issue 11): 10,000 runs in the index, sorted by a summary metric,
filtered, paged; time per request, in the index alone and through HTTP (a loopback server in this
process, keep-alive), on SQLite and, when ``--db postgresql://...`` is given, PostgreSQL.

    python benches/server.py [--runs 10000] [--db postgresql://...]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import socket
import statistics
import tempfile
import threading
import time
import urllib.parse
from http.client import HTTPConnection
from pathlib import Path
from typing import Any, Callable, Optional

import uvicorn

from turbotrack.server.asgi import ServerApp
from turbotrack.server.db import Database, default_url, open_auth_database
from turbotrack.server.process import _uvicorn_config
from turbotrack.server.state import Limits, ServerState


def fill(app: ServerState, n: int) -> None:
    """``n`` finished runs of project local/bench: 20 summary metrics, 10 config values each."""
    rnd = random.Random(1)
    app.index_db.execute("DELETE FROM runs WHERE entity = 'local' AND project = 'bench'")
    for i in range(n):
        summary: dict[str, Any] = {f"m{j}": rnd.random() for j in range(20)}
        summary["acc"] = rnd.random() if i % 50 else float("nan")
        summary["loss"] = {"min": rnd.random()}
        config = {f"c{j}": rnd.choice([0.1, 0.01, 0.001, "adam", "sgd"]) for j in range(10)}
        app.index.put(
            "local",
            "bench",
            f"run{i:05d}",
            infos=[{"state": "finished", "end_time": 1000.0 + i}],
            config=config,
            summary=summary,
            name=f"run-{i}",
            tags=["a"] if i % 3 else ["b"],
            group=f"g{i % 10}",
            created=float(i),
            updated=2000.0 + i,
        )


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    fn()  # warm
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, out


def bench(url: str, n: int, repeat: int) -> list[tuple[str, float, float]]:
    root = Path(tempfile.mkdtemp(prefix="tt-server-bench-")) / "turbotrack"
    root.mkdir(parents=True)
    db = Database(url or default_url(root))
    app = ServerState(root, db, open_auth_database(url or None, root))
    t0 = time.perf_counter()
    fill(app, n)
    print(f"  filled {n} runs in {time.perf_counter() - t0:.1f} s", flush=True)
    key = app.keys.create("local")[1]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    server = uvicorn.Server(_uvicorn_config(ServerApp(app, scan=False), Limits(), "warning", 1, 1000))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    conn = HTTPConnection("127.0.0.1", sock.getsockname()[1])

    def get(params: dict[str, Any]) -> dict[str, Any]:
        conn.request(
            "GET",
            "/api/v1/runs/local/bench?" + urllib.parse.urlencode(params),
            headers={"Authorization": f"Bearer {key}"},
        )
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, body[:200]
        return dict(json.loads(body))

    cases: list[tuple[str, Optional[dict[str, Any]], str, Optional[int]]] = [
        ("sort by summary.acc, page of 50", None, "-summary_metrics.acc", 50),
        ("sort by summary.acc, page of 2,000 (the UI's page)", None, "-summary_metrics.acc", 2000),
        (
            "filter group + config.c0, sort by summary.m3, page of 50",
            {"group": "g3", "config.c0": 0.1},
            "summary_metrics.m3",
            50,
        ),
        ("sort by name, page of 50", None, "name", 50),
    ]
    rows = []
    for label, filters, order, limit in cases:
        ms_index, (total, page) = timed(
            lambda f=filters, o=order, n=limit: app.index.page("local", "bench", f, o, n, 0), repeat
        )
        params: dict[str, Any] = {"order": order, "limit": limit, "offset": 0}
        if filters:
            params["filters"] = json.dumps(filters)
        ms_http, out = timed(lambda p=params: get(p), repeat)
        assert out["total"] == total and len(out["runs"]) == len(page)
        rows.append((label, ms_index, ms_http))
    # The first page of the sort is right (NaN last, descending).
    first = get({"order": "-summary_metrics.acc", "limit": 3})["runs"]
    accs = [r["summary"]["acc"] for r in first]
    assert accs == sorted(accs, reverse=True)
    server.should_exit = True
    db.close()
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10000)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--db", default=None, help="postgresql://... to measure PostgreSQL as well")
    args = ap.parse_args()
    print(
        f"# runs table on the server: {args.runs} runs; {platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    for name, url in [("SQLite", "")] + ([("PostgreSQL", args.db)] if args.db else []):
        print(f"## {name}")
        rows = bench(url, args.runs, args.repeat)
        print(f"| request ({args.runs:,} runs) | index (ms, p50) | HTTP (ms, p50) |")
        print("|---|---:|---:|")
        for label, a, b in rows:
            print(f"| {label} | {a:.1f} | {b:.1f} |")


if __name__ == "__main__":
    main()
