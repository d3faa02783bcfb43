"""Live runs against replicas, measured (issue 20). N simulated online runs, each logging M metrics at R
steps/s, spread over a few generator processes, upload through K replicas (``turbotrack server --store
s3://... --db postgresql://...``; moto's S3 server and PostgreSQL on loopback), runs assigned to the
replicas round-robin. Then the same load on one server process with the file store (the baseline, as a
server runs without ``--store``), and with ``--peer mlflow`` on MLflow's tracking server (sqlite backend,
``MlflowClient.log_batch``), in the same command. Prints a side-by-side table (and ``--json`` all figures).

    python benches/load.py                                  # 1000 runs x 10 metrics x 10/s, 2 replicas on s3, 60 s
    python benches/load.py --runs 200 --seconds 20 --peer mlflow
    python benches/load.py --store file --replicas 1        # the baseline alone

What a simulated run sends is what an online run sends, through the real client (``sync.core.RunSync``,
the uploader's code): its files at start (run.json, config.json, metadata.json, the history header),
then once a second (the writer's default seal) one new history block of R rows appended at the
server's offset, and as the uploader's live passes do, the rewritten summary.json every 5 s, a
heartbeat every 3.3 s carried by an append (no request of its own), no manifest GET after the first pass; at the end the final run.json and
summary in a full pass. The bytes are the real writer's: each generator first writes its runs
offline (``turbotrack.init``, a seal every R steps) and then replays their growth on schedule, a
block at a time, into live run folders: one writer thread a generator writes what each run's writer
thread would (init()'s files, a block and the summary every second, finish()'s files), and upload
threads sync them, each woken by its runs' seals as the uploader is (``--client replay``, the default).
``--client online`` runs real ``init(mode="online")`` runs instead (two threads per run: on 2 cores
1,000 of them starve the servers; see RESULTS.md section 20); ``--client light`` sends only one append
a second and a heartbeat every 5 s per run, timed to the other replica's manifest (not its read API).

Measured: points offered and ingested (each run's history length read back through a replica it
did not upload to at the end: nothing lost = equal); from a block sealed (its bytes in the local
history file: the file's mtime) to the *other* replica's read API serving its last row (``rows?offset=``),
for a sample of runs, a look every 0.1 s; the CPU of the servers, moto and our PostgreSQL backends
(psutil, sampled every second); how far the generators fell behind their schedule. Everything runs on
this machine: the generators, moto and PostgreSQL take CPU from the servers."""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Optional

REPO = Path(__file__).resolve().parents[1]
NO_CAPTURE = {"capture_stdout": False, "capture_system": False, "capture_git": False, "capture_requirements": False}
TICK = 0.25  # how often the sampler looks (its resolution; --tick)
SEAL = 1.0  # seconds between seals of a live run's history (the writer's default batching)
GROUP_S = 0.005  # the replay's writer does what falls due within this of a due time at once, late
PROJECT = "load"
INIT_FILES = ("run.json", "config.json", "metadata.json")  # what a run holds right after init()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: the table splits sealed -> visible by when the block was sealed, in windows this long (seconds)
WINDOW_S = 10.0


def _windows(sealed: list[tuple[float, float]], t0: float, width: float) -> list[dict[str, float]]:
    """sealed -> visible quantiles of the blocks sealed in each ``width`` seconds from ``t0``: the
    runs' start (every run's first pass in the first second) against the steady state after it."""
    by: dict[int, list[float]] = {}
    for at, took in sealed:
        by.setdefault(int(max(0.0, at - t0) // width), []).append(took)
    return [{"from_s": k * width, **_quantiles(v)} for k, v in sorted(by.items())]


def _quantiles(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    if not xs:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan"), "n": 0}
    q: Callable[[float], float] = lambda p: xs[min(len(xs) - 1, int(p * len(xs)))]  # noqa: E731
    return {"p50": q(0.5), "p99": q(0.99), "max": xs[-1], "n": len(xs)}


# ---- the turbotrack generators ------------------------------------------------------------------


def _prepare(root: Path, run_id: str, metrics: int, rate: float, seconds: float) -> dict[str, Any]:
    """Write one run offline with the real writer, a seal every ``rate`` steps (what a live run seals
    in a second); answers the bytes a live run's folder holds over time."""
    import turbotrack

    settings = {**NO_CAPTURE, "flush_interval": 3600.0}
    run = turbotrack.init(project=PROJECT, id=run_id, dir=str(root), mode="offline", settings=settings)
    d = Path(run.dir)
    start = {name: (d / name).read_bytes() for name in INIT_FILES if (d / name).exists()}
    header = (d / "history.ttrk").stat().st_size  # the file header alone, as init() leaves it
    ends: list[int] = []
    rows: list[int] = []  # rows in the file up to each end
    summaries: list[bytes] = []
    names = [f"m{j}" for j in range(metrics)]
    per = max(1, round(rate * SEAL))
    steps = int(seconds * rate)
    for k in range(steps):
        run.log({n: k * 0.001 + j for j, n in enumerate(names)})
        if (k + 1) % per == 0 or k == steps - 1:
            run._core.flush()
            ends.append((d / "history.ttrk").stat().st_size)
            rows.append(k + 1)
            summaries.append(json.dumps(json.loads(run._core.summary_json())).encode())
    run.finish()
    final = {n: (d / n).read_bytes() for n in ("run.json", "summary.json", "metadata.json") if (d / n).exists()}
    start.setdefault("metadata.json", final.get("metadata.json", b"{}"))
    return {
        "history": (d / "history.ttrk").read_bytes(),
        "header": header,
        "ends": ends,
        "rows": rows,
        "summaries": summaries,
        "start": start,
        "final": final,
    }


def _phase(run_id: str, n_all: int, ramp: float) -> float:
    """When, after t0, a run starts (its blocks seal a whole number of SEALs later): the runs
    spread evenly over ``ramp`` seconds (``--ramp``; one SEAL by default: every run within a second)."""
    return (int(run_id[3:]) % n_all) / n_all * ramp


def _wait_until(due: float) -> float:
    """Sleep until ``due`` (``time.time()``); how late it is already (0 when on time)."""
    now = time.time()
    if now < due:
        time.sleep(due - now)
        return 0.0
    return now - due


def _write_atomic(path: Path, data: bytes) -> None:
    """As a run's writer replaces summary.json, less what a client's own machine would pay: no fsync,
    and an exchange rather than a rename over the old file (``_fs.replace_unsynced``: 1,000 runs'
    renames over their summaries a second cost the generators ~0.45 cores, ext4's flush of each)."""
    from turbotrack._fs import replace_unsynced

    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    replace_unsynced(tmp, path)


class _Replay:
    """One simulated run: its live folder grows on schedule from the prepared bytes."""

    def __init__(self, run_id: str, url: str, live_root: Path, prep: dict[str, Any], phase: float) -> None:
        self.run_id, self.url, self.prep, self.phase = run_id, url, prep, phase
        self.dir = live_root / "turbotrack" / "local" / PROJECT / run_id
        self.sealed = 0  # blocks appended so far
        self.acked = 0  # history bytes the server acknowledged
        self.sync: Any = None
        self.begun = threading.Event()  # init() wrote its files
        self.ended = threading.Event()  # finish() wrote its last files
        self.wake: Optional[threading.Event] = None  # its upload thread's: set at each seal

    def begin(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        for name, data in self.prep["start"].items():
            _write_atomic(self.dir / name, data)
        with open(self.dir / "history.ttrk", "wb") as f:
            f.write(self.prep["history"][: self.prep["header"]])

    def seal_upto(self, due: int) -> int:
        """Append blocks up to ``due`` (the writer sealed them); answers how many were new."""
        ends = self.prep["ends"]
        due = min(len(ends), due)
        if due <= self.sealed:
            return 0
        start = self.prep["header"] if self.sealed == 0 else ends[self.sealed - 1]
        with open(self.dir / "history.ttrk", "ab") as f:
            f.write(self.prep["history"][start : ends[due - 1]])
        _write_atomic(self.dir / "summary.json", self.prep["summaries"][due - 1])
        n, self.sealed = due - self.sealed, due
        return n

    def end(self) -> None:
        self.seal_upto(len(self.prep["ends"]))
        for name, data in self.prep["final"].items():
            _write_atomic(self.dir / name, data)


class _Hist:
    """Latencies in log buckets (5% wide), mergeable across processes; and the answers' statuses."""

    def __init__(self) -> None:
        self.buckets: dict[str, dict[int, int]] = {}
        self.status: dict[str, dict[int, int]] = {}

    def add(self, kind: str, seconds: float, status: int) -> None:
        b = int(math.log(max(seconds, 1e-5)) * 20)
        d = self.buckets.setdefault(kind, {})
        d[b] = d.get(b, 0) + 1
        st = self.status.setdefault(kind, {})
        st[status] = st.get(status, 0) + 1


def _merge_hists(hs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per request kind: count, p50/p99/max in ms, statuses other than 200."""
    buckets: dict[str, dict[int, int]] = {}
    status: dict[str, dict[int, int]] = {}
    for h in hs:
        for kind, d in h["buckets"].items():
            m = buckets.setdefault(kind, {})
            for k, n in d.items():
                m[int(k)] = m.get(int(k), 0) + n
        for kind, d in h["status"].items():
            m = status.setdefault(kind, {})
            for k, n in d.items():
                m[int(k)] = m.get(int(k), 0) + n
    out = {}
    for kind, d in sorted(buckets.items()):
        total = sum(d.values())
        keys = sorted(d)

        def q(p: float, d: dict[int, int] = d, keys: list[int] = keys, total: int = total) -> float:
            seen = 0
            for k in keys:
                seen += d[k]
                if seen >= p * total:
                    return round(math.exp((k + 1) / 20) * 1000, 1)
            return float("nan")

        other = {str(k): n for k, n in status.get(kind, {}).items() if k != 200}
        out[kind] = {"n": total, "p50_ms": q(0.5), "p99_ms": q(0.99), "max_ms": q(1.0), "not_200": other}
    return out


def _request_kind(method: str, path: str) -> str:
    last = urllib.parse.unquote(path.split("?")[0].rsplit("/", 1)[-1])
    if method == "PUT" and last not in ("history.ttrk", "summary.json"):
        last = "other file"
    return f"{method} {last}"


def _writer(runs: list[_Replay], t0: float, out: dict[str, Any], lock: threading.Lock) -> None:
    """The runs' writers (one thread for a generator's runs, as each real run has a writer thread
    of its own beside its uploader): each run's init() files at its start, then a block and the
    rewritten summary.json every SEAL seconds, then finish()'s files; each seal wakes the run's
    upload thread. How late it got is the generator's "behind schedule". It sleeps until a due time
    plus GROUP_S and then does everything due by then: never early (a block is timed from when it
    was due), at most GROUP_S late, one sleep for the runs due within it (a sleep a run, 250 a
    second, was most of this thread's CPU: ~0.4 ms a seal, the GIL taken again each time)."""
    runs = sorted(runs, key=lambda r: r.phase)
    behind = 0.0

    def at(due: float) -> None:
        nonlocal behind
        now = time.time()
        if now < due:
            time.sleep(due + GROUP_S - now)
        else:
            behind = max(behind, now - due)

    n_blocks = len(runs[0].prep["ends"]) if runs else 0
    # (when, what, run): 0 its start, b its b-th seal, n_blocks + 1 its end (right after its last
    # seal), in the order they fall due (runs that start over more than a SEAL interleave)
    events = sorted(
        (t0 + r.phase + min(b, n_blocks) * SEAL, b, i) for i, r in enumerate(runs) for b in range(n_blocks + 2)
    )
    for due, b, i in events:
        r = runs[i]
        at(due)
        if b == 0:
            r.begin()
            r.begun.set()
        elif b <= n_blocks:
            if not r.seal_upto(b):
                continue
        else:
            r.end()
            r.ended.set()
        if r.wake is not None:
            r.wake.set()
    with lock:
        out["behind_s"] = max(out.get("behind_s", 0.0), behind)
        out["writer_cpu_s"] = out.get("writer_cpu_s", 0.0) + time.thread_time()


def _replay_worker(runs: list[_Replay], key: str, deadline: float, out: dict[str, Any], lock: threading.Lock) -> None:
    """One upload thread for its share of a generator's runs, as their uploaders: a run's first pass
    once init() wrote its files, then a live pass whenever its writer sealed something new since
    the last, then (finish()) a full pass once its last files are written."""
    from turbotrack.store.client import Client
    from turbotrack.sync.core import RunSync

    clients: dict[str, Client] = {}
    hist: _Hist = out["hist"]
    errors, passes = 0, 0
    runs = sorted(runs, key=lambda r: r.phase)
    wake = threading.Event()
    for r in runs:
        r.wake = wake

    def client(url: str) -> Client:
        if url not in clients:
            c = clients[url] = Client(url, key, timeout=120)
            plain = c.request

            def timed(method: str, path: str, *a: Any, **kw: Any) -> Any:
                t = time.perf_counter()
                try:
                    got = plain(method, path, *a, **kw)
                except Exception:
                    with lock:
                        hist.add(_request_kind(method, path), time.perf_counter() - t, -1)
                    raise
                with lock:
                    hist.add(_request_kind(method, path), time.perf_counter() - t, got[0])
                return got

            c.request = timed  # type: ignore[method-assign]
        return clients[url]

    def sync(r: _Replay, live: bool = True, push: bool = False) -> None:
        nonlocal errors, passes
        while time.time() < deadline:
            c0 = time.thread_time()
            try:
                r.sync = r.sync or RunSync(client(r.url), r.dir)
                if push:
                    r.sync.push(heartbeat_ttl=10.0)
                else:
                    r.sync.sync(heartbeat_ttl=10.0, live=live)  # the uploader's: max(3 * sync_interval, 10)
                passes += 1
                r.acked = int(r.sync._local.get("history.ttrk", (0, 0, [0]))[2][0])
                return
            except Exception as e:  # as the uploader: count it, retry
                errors += 1
                why = f"{type(e).__name__}: {str(e)[:160]}"
                with lock:
                    out["error_kinds"][why] = out["error_kinds"].get(why, 0) + 1
                client(r.url).close()
                r.sync = None
                time.sleep(0.5)
            finally:
                in_sync[0] += time.thread_time() - c0

    in_sync = [0.0]  # this thread's CPU in RunSync.sync
    passed = {r.run_id: -1 for r in runs}  # the blocks sealed when each run's last pass began
    done: set[str] = set()
    pushed: list[_Replay] = []  # ended, what was new sent: their last pass's check is left
    while len(done) < len(runs) and time.time() < deadline:
        if not pushed:
            wake.wait(1.0)
        wake.clear()
        for r in runs:
            if r.run_id in done or r in pushed or not r.begun.is_set():
                continue
            if r.ended.is_set():
                # finish()'s last pass, in its two halves (RunSync.sync(live=False) does both): what
                # is new now, the check against the manifest once this thread's other runs that
                # ended pushed theirs (they are other clients: each would do its own at once)
                sync(r, push=True)
                pushed.append(r)
            elif r.sealed > passed[r.run_id]:
                passed[r.run_id] = r.sealed
                sync(r)
        if pushed and not any(r.ended.is_set() and r not in pushed for r in runs if r.run_id not in done):
            r = pushed.pop(0)
            sync(r, live=False)  # its push found nothing more: the manifest, and what it shows missing
            done.add(r.run_id)
    with lock:
        out["errors"] = out.get("errors", 0) + errors
        out["passes"] = out.get("passes", 0) + passes
        out["sync_cpu_s"] = out.get("sync_cpu_s", 0.0) + in_sync[0]
        out["upload_cpu_s"] = out.get("upload_cpu_s", 0.0) + time.thread_time()
    for c in clients.values():
        c.close()


def _generator(
    idx: int,
    runs: list[tuple[str, str]],
    work: str,
    key: str,
    metrics: int,
    rate: float,
    seconds: float,
    start: Any,
    threads: int,
    n_all: int,
    ramp: float,
    client: str,
    grace: float,
    result: Any,
) -> None:
    """One generator process: prepares its runs' bytes, says so on ``result``, then replays them on
    the shared schedule from t0 (``start``: a shared value, set once every generator is ready); each
    run's last pass is given up ``grace`` seconds after the last step, as finish()'s sync_timeout."""
    os.environ["TURBOTRACK_API_KEY"] = key
    out: dict[str, Any] = {"gen": idx}

    def t_start() -> float:
        result.put({"ready": idx})
        while start.value == 0.0:
            time.sleep(0.05)
        return float(start.value)

    if client == "online":
        out.update(_online(runs, work, metrics, rate, seconds, t_start))
        result.put(out)
        return
    prep_root = Path(work) / f"prep{idx}"
    live_root = Path(work) / "client"
    reps = []
    t_prep = time.time()
    for rid, url in runs:
        prep = _prepare(prep_root, rid, metrics, rate, seconds)
        reps.append(_Replay(rid, url, live_root, prep, phase=_phase(rid, n_all, ramp)))
    shutil.rmtree(prep_root, ignore_errors=True)
    out["prepare_s"] = time.time() - t_prep
    t0 = t_start()
    deadline = t0 + seconds + grace
    lock = threading.Lock()
    out["hist"], out["error_kinds"] = _Hist(), {}
    ts = [
        threading.Thread(target=_replay_worker, args=(reps[i::threads], key, deadline, out, lock), daemon=True)
        for i in range(min(threads, len(reps)))
    ]
    for t in ts:
        t.start()
    while any(r.wake is None for r in reps):  # each upload thread has its runs' wake-up
        time.sleep(0.01)
    writer = threading.Thread(target=_writer, args=(reps, t0, out, lock), daemon=True)
    writer.start()
    for t in ts:
        t.join()
    writer.join(timeout=max(0.0, deadline - time.time()) + 5)
    out["finish_s"] = time.time() - (t0 + seconds + SEAL)
    out["hist"] = {"buckets": out["hist"].buckets, "status": out["hist"].status}
    # rows the server acknowledged, per run (from the bytes acknowledged: whole blocks)
    out["acked"] = {
        r.run_id: max([0] + [n for e, n in zip(r.prep["ends"], r.prep["rows"]) if e <= r.acked]) for r in reps
    }
    result.put(out)


def _online(
    runs: list[tuple[str, str]], work: str, metrics: int, rate: float, seconds: float, t_start: Callable[[], float]
) -> Any:
    """``--client online``: real ``init(mode="online")`` runs, every one logging on the shared schedule."""
    import turbotrack

    live = []
    for run_id, url in runs:
        settings = {**NO_CAPTURE, "base_url": url, "sync_timeout": 600}
        live.append(
            turbotrack.init(
                project=PROJECT,
                id=run_id,
                dir=str(Path(work) / "client"),
                mode="online",
                settings=settings,
                reinit="create_new",
            )
        )
    names = [f"m{j}" for j in range(metrics)]
    behind = 0.0
    t0 = t_start()
    for k in range(int(seconds * rate)):
        behind = max(behind, _wait_until(t0 + k / rate))
        for r in live:
            r.log({n: k * 0.001 + j for j, n in enumerate(names)})
    t_end = time.time()
    for r in live:
        r.finish()
    return {"behind_s": behind, "finish_s": time.time() - t_end}


# ---- the light client (``--client light``: the fewest client cycles, not the uploader's protocol) ----


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


# ---- reading back ---------------------------------------------------------------------------------


def _get(url: str, key: str, timeout: float = 60) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


READS = [0]  # the sampler's reads (they load the replicas too)
#: (sealed at, seconds to visible) of each timed block of the replay, for the table's windows
SEALED: list[tuple[float, float]] = []


def _has_row(base: str, key: str, run_id: str, offset: int) -> bool:
    READS[0] += 1
    got = _get(f"{base}/api/v1/runs/local/{PROJECT}/{run_id}/rows?offset={offset}&limit=1", key)
    return bool(got.get("rows"))


def _length(base: str, key: str, run_id: str, expect: int) -> int:
    """The run's history length as ``base`` serves it (checked at ``expect``, else searched)."""
    try:
        if _has_row(base, key, run_id, expect - 1) and not _has_row(base, key, run_id, expect):
            return expect
        lo, hi = 0, expect * 2 + 1  # lo rows held, hi not
        if _has_row(base, key, run_id, hi - 1):
            return hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if _has_row(base, key, run_id, mid - 1) else (lo, mid)
        return lo
    except Exception:
        return -1


def _sampler(
    sample: list[tuple[str, str]],
    key: str,
    client_root: Path,
    out: list[float],
    stop: threading.Event,
    schedule: Optional[tuple[float, int, int, float]],
) -> None:
    """Times each block a sampled run seals to when the run's *other* replica's read API serves
    that block's last row, one thread per sampled run looking every TICK. Sealed: with ``schedule``
    (t0, rows per block, runs, ramp: the replay) when the writer seals it on schedule (t0 + the run's
    phase + b seconds), whether or not the generator kept up; else when the local history file grew
    (its mtime)."""
    threads = [
        threading.Thread(target=_sample_one, args=(rid, reader, key, client_root, out, stop, schedule), daemon=True)
        for rid, reader in sample
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _sample_one(
    rid: str,
    reader: str,
    key: str,
    client_root: Path,
    out: list[float],
    stop: threading.Event,
    schedule: Optional[tuple[float, int, int, float]],
) -> None:
    from turbotrack import _core

    pending: list[tuple[int, float]] = []  # (rows once the block is in, when it was sealed)
    seen = rows = 0
    path = client_root / "turbotrack" / "local" / PROJECT / rid / "history.ttrk"
    while not stop.is_set():
        now = time.time()
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                if st.st_size > seen:
                    data = os.pread(f.fileno(), st.st_size - seen, seen)
                    got, n, _ = _core.scan_blocks(data, 0, seen == 0)
                    seen += got
                    if n and schedule:
                        t0, per, n_all, ramp = schedule
                        phase = _phase(rid, n_all, ramp)
                        for blk in range(rows // per + 1, -(-(rows + n) // per) + 1):
                            pending.append((min(blk * per, rows + n), t0 + phase + blk * SEAL))
                    elif n:
                        pending.append((rows + n, st.st_mtime_ns / 1e9))
                    rows += n
        except (OSError, ValueError):
            pass
        if pending:
            try:
                if _has_row(reader, key, rid, pending[-1][0] - 1):
                    t = time.time()
                    out.extend(t - sealed for _, sealed in pending)
                    SEALED.extend((sealed, t - sealed) for _, sealed in pending)
                    pending.clear()
                else:
                    while len(pending) > 1 and _has_row(reader, key, rid, pending[0][0] - 1):
                        sealed = pending.pop(0)[1]
                        out.append(time.time() - sealed)
                        SEALED.append((sealed, out[-1]))
            except Exception:
                pass
        stop.wait(max(0.0, TICK - (time.time() - now)))


# ---- CPU ------------------------------------------------------------------------------------------


class _Cpu:
    """CPU seconds of groups of processes, sampled every second (a process first seen after the
    start counts from its own start: new PostgreSQL backends, a server's children)."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self.groups = groups
        self.base: dict[int, float] = {}
        self.last: dict[int, tuple[str, float]] = {}
        self.started = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _read(self, first: bool) -> None:
        import psutil

        for name, pids in self.groups.items():
            try:
                found = pids()
            except Exception:
                continue
            for pid in found:
                try:
                    t = psutil.Process(pid).cpu_times()
                except psutil.Error:
                    continue
                total = t.user + t.system
                if pid not in self.base:
                    self.base[pid] = total if first else 0.0
                self.last[pid] = (name, total)

    def _loop(self) -> None:
        while not self._stop.wait(1.0):
            self._read(False)

    def start(self) -> None:
        import psutil

        self._read(True)
        self.t0 = time.time()
        self.machine0 = psutil.cpu_times()
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        self._read(False)
        wall = max(1e-9, time.time() - self.t0)
        import psutil

        out = dict.fromkeys(self.groups, 0.0)
        for pid, (name, total) in self.last.items():
            out[name] += (total - self.base.get(pid, 0.0)) / wall
        m0, m1 = self.machine0, psutil.cpu_times()
        out["machine"] = ((m1.user + m1.system + m1.nice) - (m0.user + m0.system + m0.nice)) / wall
        return out


def _with_children(pids: list[int]) -> list[int]:
    import psutil

    out = list(pids)
    for pid in pids:
        try:
            out += [c.pid for c in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            pass
    return out


def _pg_backends(server_pids: list[int], base_url: str) -> Callable[[], list[int]]:
    """Our PostgreSQL backends (the servers' connections, matched by client port in
    pg_stat_activity) and the cluster's own writers (WAL writer, checkpointer, background writer)."""
    import psutil
    import psycopg

    conn = psycopg.connect(base_url, autocommit=True)
    port = int(urllib.parse.urlsplit(base_url).port or 5432)

    def pids() -> list[int]:
        ports: list[int] = []
        for pid in _with_children(server_pids):
            try:
                for c in psutil.Process(pid).net_connections("tcp"):
                    if c.raddr and c.raddr.port == port:
                        ports.append(c.laddr.port)
            except psutil.Error:
                pass
        got = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE client_port = ANY(%s) OR backend_type IN "
            "('walwriter', 'checkpointer', 'background writer')",
            (ports,),
        ).fetchall()
        return [int(r[0]) for r in got]

    return pids


# ---- the services ---------------------------------------------------------------------------------


def _start_server(
    cache: Path, db: Optional[str], store: Optional[str], env: dict[str, str]
) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    args = [sys.executable, "-m", "turbotrack", "server", "--dir", str(cache), "--port", str(port)]
    args += ["--log-level", "warning"] + (["--db", db] if db else []) + (["--store", store] if store else [])
    log = cache.parent / f"{cache.name}.log"
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=open(log, "w"), text=True, env={**os.environ, **env}, cwd=cache.parent
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("http://"):
            threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain
            return proc, f"http://127.0.0.1:{port}"
    raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")


def _profile_later(out: Path, at: float, seconds: float, servers: list[int], gens: list[int]) -> None:
    """``--profile``: py-spy (non-blocking, every thread, idle ones left out) records the first
    replica and the first generator for ``seconds`` from ``at`` (the steady state), as raw stacks."""
    out.mkdir(parents=True, exist_ok=True)

    def run() -> None:
        time.sleep(max(0.0, at - time.time()))
        procs = [
            subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "--nonblocking",
                    "--format",
                    "raw",
                    "-r",
                    "50",
                    "-d",
                    str(int(seconds)),
                    "-p",
                    str(pid),
                    "-o",
                    str(out / f"{name}.txt"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, pid in (("server0", servers[0]), ("generator0", gens[0]))
        ]
        for p in procs:
            p.wait()

    threading.Thread(target=run, daemon=True).start()


def _make_key(work: Path, db: Optional[str]) -> str:
    args = [sys.executable, "-m", "turbotrack", "keys", "create", "local", "--dir", str(work / "cache0")]
    out = subprocess.run(args + (["--db", db] if db else []), capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def _stop(procs: list[subprocess.Popen[Any]]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_turbotrack(args: argparse.Namespace, store: str, replicas: int) -> dict[str, Any]:
    """One configuration: ``store`` "s3" (replicas on moto + PostgreSQL) or "file" (one server, files
    under --dir, its default SQLite index)."""
    import multiprocessing as mp

    from objectkit import start_moto
    from serverkit import drop_postgres_schema, postgres_schema_url, postgres_url

    work = Path(tempfile.mkdtemp(prefix=f"turbotrack-load-{store}-"))
    (work / "cache0").mkdir()
    db = postgres_schema_url(f"load_{store}") if store == "s3" else None
    moto, env = start_moto("load") if store == "s3" else (None, {})
    servers: list[tuple[subprocess.Popen[str], str]] = []
    try:
        key = _make_key(work, db)
        for i in range(replicas):
            (work / f"cache{i}").mkdir(exist_ok=True)
            servers.append(_start_server(work / f"cache{i}", db, "s3://load/bench" if moto else None, env))
        urls = [u for _, u in servers]
        runs = [(f"run{i:05d}", urls[i % len(urls)]) for i in range(args.runs)]
        readers = {rid: urls[(i + 1) % len(urls)] for i, (rid, _) in enumerate(runs)}
        sample = [(rid, readers[rid]) for rid, _ in runs[:: max(1, args.runs // args.sample)]]
        steps = int(args.seconds * args.rate)
        server_pids = [p.pid for p, _ in servers]
        groups: dict[str, Callable[[], list[int]]] = {"servers": lambda: _with_children(server_pids)}
        if moto:
            groups["moto"] = lambda: [moto.pid]
            groups["postgres"] = _pg_backends(server_pids, postgres_url())
        gen_pids: list[int] = []
        groups["generators"] = lambda: gen_pids
        cpu = _Cpu(groups)
        ctx = mp.get_context("spawn")
        results = ctx.Queue()
        start = ctx.Value("d", 0.0)
        per = [runs[i :: args.procs] for i in range(args.procs)]
        gens = [
            ctx.Process(
                target=_generator,
                args=(
                    i,
                    per[i],
                    str(work),
                    key,
                    args.metrics,
                    args.rate,
                    args.seconds,
                    start,
                    args.threads,
                    args.runs,
                    args.ramp,
                    args.client,
                    args.grace,
                    results,
                ),
            )
            for i in range(args.procs)
        ]
        if args.client == "light":  # main's light generator: its own schedule and latency probe
            t0 = time.time() + 8 + args.runs * 0.004
            light_outs = [str(work / f"gen{i}.json") for i in range(args.procs)]
            sampled = [rid for rid, _ in sample]
            gens = [
                ctx.Process(
                    target=_light_generator,
                    args=(
                        i,
                        [(rid, url, readers[rid]) for rid, url in per[i]],
                        str(work / "client"),
                        key,
                        args.metrics,
                        args.rate,
                        args.seconds,
                        t0,
                        sampled,
                        light_outs[i],
                    ),
                )
                for i in range(args.procs)
            ]
        for g in gens:
            g.start()
        gen_pids += _with_children([int(g.pid or 0) for g in gens])
        if args.client != "light":
            for _ in gens:  # every generator has its runs' bytes (or its online runs made)
                results.get()
            t0 = start.value = time.time() + 1.0
        time.sleep(max(0.0, t0 - time.time()))
        cpu.start()
        lat: list[float] = []
        READS[0] = 0
        SEALED.clear()
        stop = threading.Event()
        schedule = (t0, max(1, round(args.rate * SEAL)), args.runs, args.ramp) if args.client == "replay" else None
        sampler = threading.Thread(
            target=_sampler, args=(sample, key, work / "client", lat, stop, schedule), daemon=True
        )
        if args.profile:
            at = args.seconds / 3 if args.profile_at is None else args.profile_at
            _profile_later(Path(args.profile), t0 + at, min(30.0, args.seconds / 2), server_pids, gen_pids)
        if args.client != "light":
            sampler.start()
            gen_out = [results.get() for _ in gens]
        else:
            gen_out = []
        for g in gens:
            g.join()
        t_done = time.time()
        cores = cpu.stop()
        stop.set()
        sampler_reads = READS[0]
        if args.client == "light":
            for o in light_outs:
                got = json.loads(Path(o).read_text())
                lat += got["lat"]  # from the append sent to the other replica's manifest holding it
                gen_out.append({"errors": got["n_errors"], "error_kinds": dict.fromkeys(got["errors"], 1)})
        else:
            sampler.join(30)
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(8) as pool:
            lengths = list(pool.map(lambda r: _length(readers[r[0]], key, r[0], steps), runs))
        offered = args.runs * steps * args.metrics
        ingested = sum(max(0, n) for n in lengths) * args.metrics
        acked: dict[str, int] = {}
        for g in gen_out:
            acked.update(g.get("acked") or {})
        lost = sum(max(0, acked.get(rid, 0) - max(0, n)) for (rid, _), n in zip(runs, lengths)) * args.metrics
        errs = [line for i in range(replicas) for line in _errors(work / f"cache{i}.log")]
        errors: dict[str, int] = {}
        for g in gen_out:
            for k, v in (g.get("error_kinds") or {}).items():
                errors[k] = errors.get(k, 0) + v
        return {
            "config": f"turbotrack {store}, {replicas} {'replicas' if replicas > 1 else 'process'}"
            + (f", runs starting over {args.ramp:g} s" if args.ramp != SEAL else ""),
            "runs": args.runs,
            "points_offered": offered,
            "points_ingested": ingested,
            "points_acknowledged": sum(acked.values()) * args.metrics if acked else None,
            "points_lost_acknowledged": lost if acked else None,
            "requests": _merge_hists([g["hist"] for g in gen_out if "hist" in g]),
            "runs_short": sum(1 for n in lengths if 0 <= n < steps),
            "runs_long": sum(1 for n in lengths if n > steps),
            "runs_unreadable": sum(1 for n in lengths if n < 0),
            "points_per_s_offered": offered / (steps / args.rate),
            "points_per_s_ingested": ingested / max(1e-9, t_done - t0),
            "visible": _quantiles(lat),
            "visible_by_window": _windows(SEALED, t0, WINDOW_S) if schedule else [],
            "cpu_cores": cores,
            "generator_behind_max_s": max(float(g.get("behind_s", 0.0)) for g in gen_out),
            "finish_s": max(float(g.get("finish_s", 0.0)) for g in gen_out),
            "client_errors": sum(int(g.get("errors", 0)) for g in gen_out),
            "client_error_kinds": dict(sorted(errors.items(), key=lambda kv: -kv[1])[:8]),
            "sync_passes": sum(int(g.get("passes", 0)) for g in gen_out),
            # the generators' CPU by thread kind (seconds): in RunSync.sync, the rest of the upload
            # threads, the writers (what each simulated run's own writer would spend)
            "generator_cpu_split_s": {
                k: round(sum(float(g.get(f"{k}_cpu_s", 0.0)) for g in gen_out), 2) for k in ("sync", "upload", "writer")
            },
            "sampler_reads": sampler_reads,
            "server_stderr_errors": len(errs),
            "server_stderr_first": errs[:5],
            "wall_s": t_done - t0,
            "work": str(work),
        }
    finally:
        _stop([p for p, _ in servers] + ([moto] if moto else []))
        if db:
            drop_postgres_schema(db)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def _errors(log: Path) -> list[str]:
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [ln[:300] for ln in lines if any(w in ln for w in ("Error", "ERROR", "Traceback", "Exception"))]


# ---- the MLflow peer ------------------------------------------------------------------------------


def _mlflow_generator(spec: dict[str, Any]) -> None:
    """Runs in MLflow's venv (``--mlflow-gen JSON``): its runs log_batch once a second (the same
    points a turbotrack run seals in a second), on the shared schedule; prints its figures as JSON."""
    from concurrent.futures import ThreadPoolExecutor

    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    tls = threading.local()

    def client() -> Any:
        if not hasattr(tls, "c"):
            tls.c = MlflowClient(tracking_uri=spec["url"])
        return tls.c

    ids: list[Optional[str]] = [None] * len(spec["runs"])
    t0, rate, metrics, seconds = spec["t0"], spec["rate"], spec["metrics"], spec["seconds"]
    deadline = t0 + seconds + spec["grace"]
    per = max(1, round(rate * SEAL))
    steps = int(seconds * rate)
    lat: list[float] = []
    behind = [0.0]
    errors: dict[str, int] = {}
    acked = [0]
    n_all = spec["n_all"]
    lock = threading.Lock()

    def call(fn: Callable[..., Any], *a: Any, **kw: Any) -> tuple[bool, Any]:
        """``fn`` retried (as a client's retries would) until it answers or the deadline passed:
        (whether it answered, its answer)."""
        while time.time() < deadline:
            try:
                return True, fn(*a, **kw)
            except Exception as e:
                why = f"{type(e).__name__}: {str(e)[:160]}"
                with lock:
                    errors[why] = errors.get(why, 0) + 1
                time.sleep(0.5)
        return False, None

    def worker(mine: list[int]) -> None:
        phases = {i: _phase(spec["runs"][i], n_all, spec["ramp"]) for i in mine}
        mine = sorted(mine, key=lambda i: phases[i])
        for i in mine:
            wait = t0 + phases[i] - time.time()
            if wait > 0:
                time.sleep(wait)
            ok, got = call(client().create_run, spec["experiment"], run_name=spec["runs"][i])
            ids[i] = got.info.run_id if ok else None
        for b in range((steps + per - 1) // per):
            for i in mine:
                due = t0 + phases[i] + (b + 1) * SEAL
                now = time.time()
                if now < due:
                    time.sleep(due - now)
                else:
                    behind[0] = max(behind[0], now - due)
                if ids[i] is None:
                    continue
                ts = int(time.time() * 1000)
                batch = [
                    Metric(f"m{j}", k * 0.001 + j, ts, k)
                    for k in range(b * per, min(steps, (b + 1) * per))
                    for j in range(metrics)
                ]
                ok, _ = call(client().log_batch, ids[i], metrics=batch)
                done = time.time()
                if ok:
                    with lock:
                        acked[0] += len(batch)
                        lat.append(done - due)  # the write is synchronous: once answered, it is read back
        for i in mine:
            if ids[i] is not None:
                call(client().set_terminated, ids[i])

    n = len(spec["runs"])
    with ThreadPoolExecutor(spec["threads"]) as pool:
        list(pool.map(worker, [list(range(k, n, spec["threads"])) for k in range(min(n, spec["threads"]))]))
    print(
        json.dumps(
            {
                "lat": lat,
                "behind_s": behind[0],
                "errors": sum(errors.values()),
                "error_kinds": errors,
                "acked": acked[0],
                "finish_s": time.time() - t0 - seconds,
            }
        )
    )


def run_mlflow(args: argparse.Namespace) -> dict[str, Any]:
    """The same load on MLflow's tracking server (one process, sqlite backend)."""
    import sqlite3

    py = subprocess.run(
        ["bash", str(REPO / "scripts" / "mlflow-env.sh")], capture_output=True, text=True, check=True
    ).stdout.split()[-1]
    work = Path(tempfile.mkdtemp(prefix="turbotrack-load-mlflow-"))
    port = _free_port()
    db = work / "mlflow.db"
    url = f"http://127.0.0.1:{port}"
    cmd = [py, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--backend-store-uri", f"sqlite:///{db}", "--default-artifact-root", str(work / "artifacts")]
    cmd += ["--workers", "1"]
    # its SQLAlchemy pool as large as the clients' concurrency (the default 5 + 10 times out at 40)
    pool = str(args.procs * args.threads)
    env = {**os.environ, "MLFLOW_SQLALCHEMYSTORE_POOL_SIZE": pool, "MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW": "10"}
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(work / "mlflow.log", "w"), cwd=work, env=env)
    gens: list[subprocess.Popen[str]] = []
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=5).read()
                break
            except Exception as e:
                if time.monotonic() > deadline or server.poll() is not None:
                    why = (work / "mlflow.log").read_text()[-2000:]
                    raise RuntimeError(f"mlflow server did not start: {why}") from e
                time.sleep(0.5)
        exp = subprocess.run(
            [
                py,
                "-c",
                f"from mlflow.tracking import MlflowClient; print(MlflowClient({url!r}).create_experiment('load'))",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        runs = [f"run{i:05d}" for i in range(args.runs)]
        steps = int(args.seconds * args.rate)
        t0 = time.time() + 8 + args.runs * 0.004
        gen_pids: list[int] = []
        cpu = _Cpu({"servers": lambda: _with_children([server.pid]), "generators": lambda: gen_pids})
        for i in range(args.procs):
            spec = {
                "url": url,
                "experiment": exp,
                "runs": runs[i :: args.procs],
                "n_all": args.runs,
                "ramp": args.ramp,
                "t0": t0,
                "rate": args.rate,
                "metrics": args.metrics,
                "seconds": args.seconds,
                "threads": args.threads,
                "grace": args.grace,
            }
            gens.append(
                subprocess.Popen(
                    [py, str(Path(__file__).resolve()), "--mlflow-gen", json.dumps(spec)],
                    stdout=subprocess.PIPE,
                    text=True,
                    # the client's own retries off (7 by default, minutes of backoff): the generator retries
                    env={**os.environ, "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "60"},
                )
            )
        gen_pids += [g.pid for g in gens]
        time.sleep(max(0.0, t0 - time.time()))
        cpu.start()
        outs = [json.loads(g.communicate()[0].strip().splitlines()[-1]) for g in gens]
        t_done = time.time()
        cores = cpu.stop()
        with sqlite3.connect(db) as conn:
            ingested = int(conn.execute("SELECT COUNT(*) FROM metrics").fetchone()[0])
        offered = args.runs * steps * args.metrics
        return {
            "config": "MLflow server, 1 process (sqlite)",
            "runs": args.runs,
            "points_offered": offered,
            "points_ingested": ingested,
            "points_acknowledged": sum(o["acked"] for o in outs),
            "points_lost_acknowledged": max(0, sum(o["acked"] for o in outs) - ingested),
            "points_per_s_offered": offered / (steps / args.rate),
            "points_per_s_ingested": ingested / max(1e-9, t_done - t0),
            "visible": _quantiles([x for o in outs for x in o["lat"]]),
            "cpu_cores": cores,
            "generator_behind_max_s": max(o["behind_s"] for o in outs),
            "finish_s": max(o["finish_s"] for o in outs),
            "client_errors": sum(o["errors"] for o in outs),
            "client_error_kinds": {k: v for o in outs for k, v in o["error_kinds"].items()},
            "server_stderr_errors": len(_errors(work / "mlflow.log")),
            "server_stderr_first": _errors(work / "mlflow.log")[:5],
            "wall_s": t_done - t0,
        }
    finally:
        _stop([*gens, server])
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


# ---- the table ------------------------------------------------------------------------------------


def table(results: list[dict[str, Any]]) -> str:
    def f(x: Any, fmt: str = "{:,.0f}") -> str:
        return "-" if x is None else fmt.format(x)

    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        ("points offered", lambda r: f(r["points_offered"])),
        ("points ingested", lambda r: f(r["points_ingested"])),
        ("points acknowledged to the clients", lambda r: f(r.get("points_acknowledged"))),
        ("lost: acknowledged, not served", lambda r: f(r.get("points_lost_acknowledged"))),
        ("offered - ingested", lambda r: f(r["points_offered"] - r["points_ingested"])),
        ("points/s offered", lambda r: f(r["points_per_s_offered"])),
        ("points/s ingested (t0 to last finish)", lambda r: f(r["points_per_s_ingested"])),
        ("sealed -> visible p50 (s)", lambda r: f(r["visible"]["p50"], "{:.2f}")),
        ("sealed -> visible p99 (s)", lambda r: f(r["visible"]["p99"], "{:.2f}")),
        ("sealed -> visible max (s)", lambda r: f(r["visible"]["max"], "{:.2f}")),
        ("blocks timed", lambda r: f(r["visible"]["n"])),
        ("upload passes / sampler reads", lambda r: f"{f(r.get('sync_passes'))} / {f(r.get('sampler_reads'))}"),
        ("server CPU (cores)", lambda r: f(r["cpu_cores"].get("servers"), "{:.2f}")),
        ("moto CPU (cores)", lambda r: f(r["cpu_cores"].get("moto"), "{:.2f}")),
        ("PostgreSQL CPU (cores)", lambda r: f(r["cpu_cores"].get("postgres"), "{:.2f}")),
        ("load generators' CPU (cores)", lambda r: f(r["cpu_cores"].get("generators"), "{:.2f}")),
        ("whole machine busy (cores)", lambda r: f(r["cpu_cores"].get("machine"), "{:.2f}")),
        ("generators behind schedule, max (s)", lambda r: f(r["generator_behind_max_s"], "{:.1f}")),
        ("finish after the last step (s)", lambda r: f(r.get("finish_s"), "{:.1f}")),
        ("client errors (retried)", lambda r: f(r.get("client_errors"))),
        ("server stderr error lines", lambda r: f(r.get("server_stderr_errors"))),
    ]
    head = ["", *[r["config"] for r in results]]
    body = [[name, *[fn(r) for r in results]] for name, fn in rows]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    line = lambda row: "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"  # noqa: E731
    return "\n".join([line(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, body)])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--mlflow-gen":
        _mlflow_generator(json.loads(sys.argv[2]))
        return
    sys.path.insert(0, str(REPO / "tests"))
    sys.path.insert(0, str(REPO / "python"))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--metrics", type=int, default=10)
    ap.add_argument("--rate", type=float, default=10.0, help="steps per second per run")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--store", choices=("s3", "file"), default="s3")
    ap.add_argument("--no-baseline", action="store_true", help="skip the one-process file-store run")
    ap.add_argument("--peer", choices=("mlflow",), action="append", default=[])
    ap.add_argument("--procs", type=int, default=4, help="generator processes")
    ap.add_argument("--threads", type=int, default=32, help="upload threads per generator process")
    ap.add_argument(
        "--client",
        choices=("replay", "online", "real", "light"),
        default="replay",
        help="replay: the uploader's protocol, real bytes (default); online (or real): turbotrack.init(mode='online'); "
        "light: one append a second and a heartbeat every 5 s, timed to the other replica's manifest",
    )
    ap.add_argument(
        "--ramp",
        type=float,
        default=SEAL,
        help="seconds over which the runs start, evenly (default: one second, every run at once)",
    )
    ap.add_argument("--grace", type=float, default=120.0, help="seconds after the last step the last passes may take")
    ap.add_argument("--sample", type=int, default=10, help="runs the sampler times")
    ap.add_argument("--tick", type=float, default=TICK, help="seconds between the sampler's looks at a run")
    ap.add_argument("--profile", help="py-spy a replica and a generator in the steady state into this folder")
    ap.add_argument(
        "--profile-at", type=float, help="with --profile: from this many seconds after t0 (default: a third in)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the work folders (logs, caches)")
    ap.add_argument("--json", help="also write every figure to this file")
    args = ap.parse_args()
    args.client = "online" if args.client == "real" else args.client
    globals()["TICK"] = args.tick
    if args.ramp != SEAL and (args.client != "replay" or args.peer):
        ap.error("--ramp is the replay client's (the default --client), without --peer")
    if args.store == "file" and args.replicas != 1:
        ap.error("--store file is one server process (its files are its own disk): pass --replicas 1")
    print(f"load: {os.uname().nodename}, {os.cpu_count()} cores, load average {os.getloadavg()}", flush=True)
    results = [run_turbotrack(args, args.store, args.replicas)]
    print(json.dumps(results[-1], indent=1), flush=True)
    if args.store == "s3" and not args.no_baseline:
        print(f"load average {os.getloadavg()}; the baseline", flush=True)
        results.append(run_turbotrack(args, "file", 1))
        print(json.dumps(results[-1], indent=1), flush=True)
    if "mlflow" in args.peer:
        print(f"load average {os.getloadavg()}; MLflow", flush=True)
        results.append(run_mlflow(args))
        print(json.dumps({k: v for k, v in results[-1].items()}, indent=1), flush=True)
    print(
        f"\n{args.runs} runs x {args.metrics} metrics x {args.rate:g} steps/s, {args.seconds:g} s, "
        f"client {args.client}; load average after {os.getloadavg()}\n"
    )
    print(table(results))
    for r in results:
        if r.get("requests"):
            print(f"\n{r['config']}: the clients' requests")
            for kind, q in r["requests"].items():
                print(
                    f"  {kind:24s} {q['n']:>8,} p50 {q['p50_ms']:>8.1f} ms  p99 {q['p99_ms']:>8.1f} ms  {q['not_200'] or ''}"
                )
        if r.get("visible_by_window"):
            print(f"\n{r['config']}: sealed -> visible by when the block was sealed (s after t0)")
            for w in r["visible_by_window"]:
                print(
                    f"  {w['from_s']:>5.0f}-{w['from_s'] + WINDOW_S:<5.0f} {w['n']:>5} blocks  p50 {w['p50']:6.2f}  p99 {w['p99']:6.2f}  max {w['max']:6.2f}"
                )
        if r.get("client_error_kinds"):
            print(f"  client errors: {r['client_error_kinds']}")
        if r.get("server_stderr_first"):
            print(f"  server stderr: {r['server_stderr_first']}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
