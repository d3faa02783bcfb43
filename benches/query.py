"""Filters over 10,000 runs in the server's index (issue 17): a 300-value ``$in`` on one field, the
same on 8 fields, and a cheap read (one run by id) while two threads run the 8-field filter, on
SQLite and PostgreSQL; this tree ("after") beside the tree at ``--before REV`` ("before", run from
a temporary git worktree of this repository with the same script), in one run.

    python benches/query.py [--runs 10000] [--pg postgresql://...] [--before REV] [--repeat 5]

``--pg`` defaults to ``$TURBOTRACK_TEST_POSTGRES`` (scripts/postgres-test.sh prints one); each side
works in a fresh schema of its own. A before-figure whose first try takes over ``--cap`` seconds is
not repeated (and the figures that would take longer still are not run): the table says so."""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

REPO = Path(__file__).resolve().parents[1]
FIELDS = [f"config.c{j}" for j in range(8)]


def _schema_url(base: str, name: str) -> str:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        conn.execute(f"CREATE SCHEMA {name}")
    return f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{name}"


def _drop_schema(base: str, name: str) -> None:
    import psycopg

    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def fill(index: Any, n: int) -> None:
    """``n`` finished runs of local/bench: config c0..c9 (ints 0..9999, shuffled per field), seed,
    20 summary metrics."""
    rnd = random.Random(3)
    cols = []
    for _ in range(10):
        vals = list(range(n))
        rnd.shuffle(vals)
        cols.append(vals)
    for i in range(n):
        config: dict[str, Any] = {f"c{j}": cols[j][i] for j in range(10)}
        config["opt"] = rnd.choice(["adam", "sgd"])
        summary = {f"m{j}": rnd.random() for j in range(20)}
        index.put(
            "local",
            "bench",
            f"run{i:05d}",
            infos=[{"state": "finished", "end_time": 1000.0 + i}],
            config=config,
            summary=summary,
            name=f"run-{i}",
            created=float(i),
            updated=1000.0 + i,
        )


def in_filter(fields: list[str], n: int, values: int = 300) -> dict[str, Any]:
    """``values`` values per field, one in ten of them a run's value."""
    rnd = random.Random(5)
    out: dict[str, Any] = {}
    for f in fields:
        hits = rnd.sample(range(n), values // 10)
        misses = [n + rnd.randrange(10**6) for _ in range(values - values // 10)]
        out[f] = {"$in": sorted(hits + misses)}
    return out


def timed(fn: Callable[[], Any], repeat: int, cap: float) -> dict[str, Any]:
    """Median and max seconds of ``fn`` over ``repeat`` calls (one, when the first takes over ``cap``)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        if times[0] > cap:
            break
    return {"median": statistics.median(times), "max": max(times), "n": len(times)}


def measure(url: str, n: int, repeat: int, cap: float) -> dict[str, Any]:
    """The figures of the turbotrack on ``sys.path`` against the index at ``url``."""
    from turbotrack.server.db import Database
    from turbotrack.server.index import Index

    db = Database(url)
    index = Index(db, Path(tempfile.gettempdir()))
    t = time.perf_counter()
    fill(index, n)
    out: dict[str, Any] = {"fill_s": time.perf_counter() - t}
    # 8 fields of 100 values: 8 of 300 is over the query size limit now (a 400, see below)
    one, eight = in_filter(FIELDS[:1], n), in_filter(FIELDS, n, 100)
    out["json_bytes"] = len(json.dumps(one))
    out["json_bytes_8"] = len(json.dumps(eight))
    try:
        index.page("local", "bench", in_filter(FIELDS, n), limit=50)
        out["refused_8x300"] = False
    except ValueError:
        out["refused_8x300"] = True
    got = index.page("local", "bench", one, limit=50)
    out["in300_matches"] = got[0]
    out["in300"] = timed(lambda: index.page("local", "bench", one, limit=50), repeat, cap)
    if out["in300"]["median"] * 8 > 4 * cap:
        out["in300x8"] = None  # would take minutes
        out["cheap"] = None
    else:
        out["in300x8"] = timed(lambda: index.page("local", "bench", eight, limit=50), repeat, cap)
        out["cheap"] = cheap_under_load(index, eight, min(cap, 20.0))
    db.close()
    return out


def cheap_under_load(index: Any, heavy: dict[str, Any], seconds: float) -> dict[str, Any]:
    """One run by id, read again and again while two threads run ``heavy``: median and max latency."""
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            index.page("local", "bench", heavy, limit=50)

    threads = [threading.Thread(target=load, daemon=True) for _ in range(2)]
    for th in threads:
        th.start()
    time.sleep(0.2)
    lat = []
    end = time.monotonic() + seconds
    while time.monotonic() < end and len(lat) < 50:
        t = time.perf_counter()
        index.runs("local", "bench", run_id="run00042")
        lat.append(time.perf_counter() - t)
    stop.set()
    for th in threads:
        th.join()
    return {"median": statistics.median(lat), "max": max(lat), "n": len(lat)}


def run_side(python_path: Path, backend: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--measure", url, "--runs", str(args.runs), "--repeat", str(args.repeat)]
    cmd += ["--cap", str(args.cap)]
    env = {**os.environ, "PYTHONPATH": str(python_path)}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise SystemExit(f"{backend} on {python_path}: {out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def before_tree(rev: str, where: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "--detach", str(where), rev], check=True, capture_output=True
    )
    so = REPO / "python" / "turbotrack" / "_core.abi3.so"
    shutil.copy(so, where / "python" / "turbotrack" / so.name)
    return where / "python"


def _ms(fig: Optional[dict[str, Any]]) -> str:
    if fig is None:
        return "not run"
    text = f"{fig['median'] * 1000:.1f}"
    return text + (f" (1 try, max {fig['max'] * 1000:.0f})" if fig["n"] == 1 else f" (max {fig['max'] * 1000:.0f})")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--pg", default=os.environ.get("TURBOTRACK_TEST_POSTGRES"))
    p.add_argument("--before", default="adfdd71", help="the revision to compare with (default: issue 17's base)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--cap", type=float, default=30.0, help="seconds after which a figure is not repeated")
    p.add_argument("--measure", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.runs, args.repeat, args.cap)))
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="ttq-"))
    results: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        trees = {"before": before_tree(args.before, tmp / "before"), "after": REPO / "python"}
        for side, tree in trees.items():
            results[(side, "SQLite")] = run_side(tree, "SQLite", f"sqlite:///{tmp / side}.sqlite", args)
            if args.pg:
                name = f"bench_query_{side}_{os.getpid()}"
                try:
                    results[(side, "PostgreSQL")] = run_side(tree, "PostgreSQL", _schema_url(args.pg, name), args)
                finally:
                    _drop_schema(args.pg, name)
    finally:
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(tmp / "before")], capture_output=True
        )
        shutil.rmtree(tmp, ignore_errors=True)
    cpus = os.cpu_count()
    print(f"{args.runs} runs, {platform.python_implementation()} {platform.python_version()}, {cpus} CPUs")
    sample = next(iter(results.values()))
    print(f"1-field $in: 300 values, {sample['json_bytes']} bytes of JSON, {sample['in300_matches']} runs match")
    print(f"8-field filter: {sample['json_bytes_8']} bytes of JSON")
    for side in ("before", "after"):
        refused = results[(side, "SQLite")].get("refused_8x300")
        print(f"{side}: 300 values on each of 8 fields {'refused (ValueError, 400)' if refused else 'accepted'}")
    print("| backend | figure | before (ms, median) | after (ms, median) |")
    print("|---|---|---:|---:|")
    for backend in ("SQLite", "PostgreSQL"):
        if ("after", backend) not in results:
            continue
        b, a = results[("before", backend)], results[("after", backend)]
        for fig, what in (
            ("in300", "300-value `$in`, 1 field, page of 50"),
            ("in300x8", "100-value `$in` on each of 8 fields"),
            ("cheap", "one run by id while 2 threads run the 8-field filter"),
        ):
            print(f"| {backend} | {what} | {_ms(b.get(fig))} | {_ms(a.get(fig))} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
