"""Live runs against replicas, measured: N real online runs (``turbotrack.init(mode="online")``, each
logging M metrics at R steps/s, spread over a few generator processes) upload through K replicas
(``turbotrack server --store s3://... --db postgresql://...``, moto's S3 and PostgreSQL on loopback),
runs assigned to replicas round-robin; a sampler reads a sample of the runs through *another*
replica than the one they upload to, and times each checkpoint step from when it was logged to when
that replica serves it. At the end every run is finished (its uploader catches up) and every row
counted on the servers: offered = ingested means nothing was lost. The servers', moto's and
PostgreSQL's CPU are read from /proc (psutil).

    python benches/load.py                                   # 1000 runs x 10 metrics x 10/s, 2 replicas on s3, 60 s
    python benches/load.py --store file --replicas 1          # the baseline: one process, files under --dir
    python benches/load.py --runs 200 --seconds 20            # smaller

Everything runs on this machine, so the generators, moto and PostgreSQL take CPU from the servers:
the figures are a floor for a real deployment, not a ceiling."""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any, Optional

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

NO_CAPTURE = {"capture_stdout": False, "capture_system": False, "capture_git": False, "capture_requirements": False}
TICK = 0.25  # how often the sampler looks (its resolution)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _generator(
    idx: int, runs: list[tuple[str, str]], root: str, key: str, metrics: int, rate: float, seconds: float, t0: float
) -> None:
    """One generator process: its runs log on a shared schedule (step k at t0 + k / rate), then finish."""
    os.environ["TURBOTRACK_API_KEY"] = key
    import turbotrack

    live = []
    for run_id, url in runs:
        settings = {**NO_CAPTURE, "base_url": url, "sync_interval": 1.0, "sync_timeout": 600}
        live.append(
            turbotrack.init(project="load", id=run_id, dir=root, mode="online", settings=settings, reinit="create_new")
        )
    names = [f"m{j}" for j in range(metrics)]
    steps = int(seconds * rate)
    behind = 0.0
    for k in range(steps):
        due = t0 + k / rate
        now = time.time()
        if now < due:
            time.sleep(due - now)
        else:
            behind = max(behind, now - due)
        for r in live:
            r.log({n: k * 0.001 + j for j, n in enumerate(names)})
    t_end = time.time()
    for r in live:
        r.finish()
    print(json.dumps({"gen": idx, "behind_s": behind, "finish_s": time.time() - t_end}), flush=True)


def _template(root: Path, metrics: int, per_block: int, blocks: int) -> tuple[bytes, list[int], dict[str, Any]]:
    """A real history file written by the real writer, a block sealed every ``per_block`` steps:
    its bytes, the end of each block, and its run.json (every simulated run sends these bytes)."""
    import turbotrack

    run = turbotrack.init(project="template", dir=str(root), mode="offline", settings=NO_CAPTURE)
    path = Path(run.dir) / "history.ttrk"
    ends = []
    for b in range(blocks):
        for k in range(per_block):
            step = b * per_block + k
            run.log({f"m{j}": step * 0.001 + j for j in range(metrics)})
        run._core.flush()
        ends.append(path.stat().st_size)
    info = json.loads((Path(run.dir) / "run.json").read_text())
    run.finish()
    info["state"] = "running"
    return path.read_bytes()[: ends[-1]], ends, info


def _light_generator(
    idx: int,
    runs: list[tuple[str, str, str]],
    root: str,
    key: str,
    metrics: int,
    rate: float,
    seconds: float,
    t0: float,
    sampled: list[str],
    out_path: str,
) -> None:
    """Simulated online runs speaking the sync protocol with the fewest client cycles: each run sends
    run.json, then every second the block its writer would have sealed (real bytes from the real
    writer) at its offset, and a heartbeat every 5 s, through a pool of kept-alive connections. For
    the sampled runs it times each block from sent to held by the other replica."""
    import http.client
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlsplit

    per_block = max(1, int(rate))
    blocks = int(seconds)
    data, ends, info = _template(Path(root) / f"tpl{idx}", metrics, per_block, blocks)
    local = threading.local()

    def request(base: str, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        conns = getattr(local, "conns", None)
        if conns is None:
            conns = local.conns = {}
        for attempt in range(3):
            conn = conns.get(base)
            if conn is None:
                u = urlsplit(base)
                conn = conns[base] = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            try:
                conn.request(method, path, body=body, headers={"Authorization": f"Bearer {key}"})
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conns.pop(base, None)
                if attempt == 2:
                    raise
        raise AssertionError

    lat: list[float] = []
    errors: list[str] = []
    sent = [r for r, _, _ in runs]

    nxt = dict.fromkeys(sent, 0)  # the next block each run sends
    busy: set[str] = set()
    busy_lock = threading.Lock()

    def send(rid: str, url: str, reader: str, upto: int) -> None:
        """Send blocks nxt[rid]..upto (sealed since the last pass) in one append, as an uploader does."""
        base = f"/api/v1/runs/local/load/{rid}/files"
        b0 = nxt[rid]
        try:
            if b0 == 0:
                st, body = request(
                    url, "PUT", f"{base}/run.json", json.dumps({**info, "id": rid, "project": "load"}).encode()
                )
                if st != 200:
                    errors.append(f"run.json {st} {body[:200]!r}")
            start = ends[b0 - 1] if b0 else 0
            t = time.time()
            st, body = request(url, "PUT", f"{base}/history.ttrk?offset={start}", data[start : ends[upto]])
            if st != 200:
                errors.append(f"append {st} {body[:200]!r}")
                return
            nxt[rid] = upto + 1
            if upto // 5 != (b0 - 1) // 5:
                request(url, "POST", f"/api/v1/runs/local/load/{rid}/heartbeat", b'{"ttl": 30}')
            if rid in sampled:
                while True:
                    st, body = request(reader, "GET", f"/api/v1/runs/local/load/{rid}/manifest")
                    if st == 200 and json.loads(body)["files"].get("history.ttrk", {}).get("size", 0) >= ends[upto]:
                        lat.append(time.time() - t)
                        break
                    time.sleep(0.01)
        except Exception as e:
            errors.append(f"{type(e).__name__}: {e}")
        finally:
            with busy_lock:
                busy.discard(rid)

    with ThreadPoolExecutor(48) as pool:
        b = 0
        while True:
            now = time.time()
            b = min(blocks - 1, int(now - t0) - 1)
            if b >= 0:
                for rid, url, reader in runs:
                    with busy_lock:
                        if rid in busy or nxt[rid] > b:
                            continue
                        busy.add(rid)
                    pool.submit(send, rid, url, reader, b)
            if b == blocks - 1 and all(nxt[r] == blocks for r in nxt):
                break
            if time.time() > t0 + blocks + 120:  # the servers did not keep up within two minutes
                errors.append("gave up: not every block was sent two minutes after the last was due")
                break
            time.sleep(0.05)
    Path(out_path).write_text(json.dumps({"lat": lat, "errors": errors[:20], "n_errors": len(errors)}))


def _get(url: str, key: str, timeout: float = 30) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


def _has_row(base: str, key: str, run_id: str, offset: int) -> bool:
    try:
        got = _get(f"{base}/api/v1/runs/local/load/{run_id}/rows?offset={offset}&limit=1", key)
    except Exception:
        return False
    return bool(got.get("rows"))


def _held(base: str, key: str, run_id: str, name: str) -> int:
    try:
        got = _get(f"{base}/api/v1/runs/local/load/{run_id}/manifest", key)
    except Exception:
        return -1
    return int(got["files"].get(name, {}).get("size", 0))


def _sampler(
    sample: list[tuple[str, str]], key: str, client_root: Path, out: list[float], stop: threading.Event
) -> None:
    """Times each block a sampled run's writer seals (its local history file grows) to when the run's
    *other* replica serves those bytes (its manifest holds them), a look every TICK seconds."""
    pending: dict[str, list[tuple[int, float]]] = {rid: [] for rid, _ in sample}
    seen = dict.fromkeys(pending, 0)
    while not stop.is_set():
        now = time.time()
        for rid, reader in sample:
            path = client_root / "turbotrack" / "local" / "load" / rid / "history.ttrk"
            try:
                size = path.stat().st_size
            except OSError:
                continue
            if size > seen[rid]:
                seen[rid] = size
                pending[rid].append((size, now))
            if pending[rid]:
                held = _held(reader, key, rid, "history.ttrk")
                t = time.time()
                while pending[rid] and pending[rid][0][0] <= held:
                    out.append(t - pending[rid].pop(0)[1])
        time.sleep(max(0.0, TICK - (time.time() - now)))


def _cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
            for c in p.children(recursive=True):
                ct = c.cpu_times()
                total += ct.user + ct.system
        except psutil.Error:
            pass
    return total


def _postgres_procs() -> list[psutil.Process]:
    return [p for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith("postgres")]


def _start_server(cache: Path, db: str, store: Optional[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    args = [
        sys.executable,
        "-m",
        "turbotrack",
        "server",
        "--dir",
        str(cache),
        "--port",
        str(port),
        "--db",
        db,
        "--log-level",
        "warning",
    ]
    if store:
        args += ["--store", store]
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=open(cache.parent / f"{cache.name}.log", "w"),
        text=True,
        env={**os.environ, **env},
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("http://"):
            return proc, f"http://127.0.0.1:{port}"
    raise RuntimeError(f"the server exited: {(cache.parent / f'{cache.name}.log').read_text()[-2000:]}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from serverkit import drop_postgres_schema, make_key, postgres_schema_url

    work = Path(tempfile.mkdtemp(prefix="turbotrack-load-"))
    db = postgres_schema_url(f"load_{args.store}")
    from objectkit import start_moto

    moto, env = (None, {}) if args.store == "file" else start_moto("load")
    store = None if args.store == "file" else "s3://load/bench"
    servers = []
    key = make_key(work / "keys", "local", db=db)[1]
    try:
        for i in range(args.replicas):
            servers.append(_start_server(work / f"cache{i}", db, store, env))
        urls = [u for _, u in servers]
        runs = [(f"run{i:05d}", urls[i % len(urls)]) for i in range(args.runs)]
        readers = {rid: urls[(i + 1) % len(urls)] for i, (rid, _) in enumerate(runs)}
        sample = [(rid, readers[rid]) for rid, _ in runs[:: max(1, args.runs // args.sample)]]
        steps = int(args.seconds * args.rate)
        t0 = time.time() + 3 + args.runs * 0.004  # every run made before the first step is due
        per = [runs[i :: args.procs] for i in range(args.procs)]
        server_ps = [psutil.Process(p.pid) for p, _ in servers]
        others = ([psutil.Process(moto.pid)] if moto else []) + _postgres_procs()
        cpu0 = (_cpu(server_ps), _cpu(others), time.time())
        sampled = [rid for rid, _ in sample]
        if args.client == "light":
            per3 = [[(rid, url, readers[rid]) for rid, url in part] for part in per]
            outs = [str(work / f"gen{i}.json") for i in range(args.procs)]
            gens = [
                mp.get_context("spawn").Process(
                    target=_light_generator,
                    args=(
                        i,
                        per3[i],
                        str(work / "client"),
                        key,
                        args.metrics,
                        args.rate,
                        args.seconds,
                        t0,
                        sampled,
                        outs[i],
                    ),
                )
                for i in range(args.procs)
            ]
            t0 += 5  # the templates are written first
        else:
            gens = [
                mp.get_context("spawn").Process(
                    target=_generator,
                    args=(i, per[i], str(work / "client"), key, args.metrics, args.rate, args.seconds, t0),
                )
                for i in range(args.procs)
            ]
        for g in gens:
            g.start()
        lat: list[float] = []
        stop = threading.Event()
        errors: list[str] = []
        if args.client == "real":
            sampler = threading.Thread(target=_sampler, args=(sample, key, work / "client", lat, stop), daemon=True)
            sampler.start()
        for g in gens:
            g.join()
        t_done = time.time()
        stop.set()
        if args.client == "real":
            sampler.join(30)
        else:
            for o in outs:
                got = json.loads(Path(o).read_text())
                lat += got["lat"]
                errors += got["errors"]
        steps = int(args.seconds) * max(1, int(args.rate)) if args.client == "light" else steps
        cpu1 = (_cpu(server_ps), _cpu(others), t_done)
        wall = max(1e-9, cpu1[2] - max(t0, cpu0[2]))
        ingested = 0
        lost_runs = 0
        for rid, _ in runs:  # the last row there, and none past it
            reader = readers[rid]
            whole = _has_row(reader, key, rid, steps - 1) and not _has_row(reader, key, rid, steps)
            ingested += steps if whole else 0
            lost_runs += 0 if whole else 1
        offered = args.runs * steps * args.metrics
        lat.sort()
        q = (lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]) if lat else (lambda p: float("nan"))
        return {
            "client": args.client,
            "errors": errors[:5],
            "store": args.store,
            "replicas": args.replicas,
            "runs": args.runs,
            "points_offered": offered,
            "points_ingested": ingested * args.metrics,
            "runs_incomplete": lost_runs,
            "points_per_s": offered / max(1e-9, (steps / args.rate)),
            "sealed_to_visible_p50_s": q(0.5),
            "sealed_to_visible_p99_s": q(0.99),
            "sealed_to_visible_max_s": lat[-1] if lat else float("nan"),
            "blocks_timed": len(lat),
            "server_cpu_cores": (cpu1[0] - cpu0[0]) / wall,
            "s3_and_pg_cpu_cores": (cpu1[1] - cpu0[1]) / wall,
            "wall_s": wall,
        }
    finally:
        for p, _ in servers:
            p.terminate()
        for p, _ in servers:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        if moto:
            moto.kill()
            moto.wait()
        drop_postgres_schema(db)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--metrics", type=int, default=10)
    ap.add_argument("--rate", type=float, default=10.0, help="steps per second per run")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--store", choices=("s3", "file"), default="s3")
    ap.add_argument("--procs", type=int, default=4, help="generator processes")
    ap.add_argument("--sample", type=int, default=20, help="runs the sampler times")
    ap.add_argument(
        "--client",
        choices=("light", "real"),
        default="light",
        help="light: simulated runs sending real blocks with a minimal client; real: turbotrack.init(mode='online')",
    )
    args = ap.parse_args()
    if args.store == "file" and args.replicas != 1:
        ap.error("--store file is one server process (its files are its own disk): pass --replicas 1")
    print(f"load: {os.uname().nodename}, {psutil.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}", flush=True)
    got = run(args)
    print(json.dumps(got, indent=1))


if __name__ == "__main__":
    main()
