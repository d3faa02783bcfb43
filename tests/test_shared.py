"""Many processes, one run: shared runs with spawn and fork, forked workers, a killed rank
(CONTRACT: Many processes)."""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import re
import signal
import time
import warnings
from pathlib import Path

import pytest
from conftest import NO_CAPTURE, run_child

import turbotrack

ROWS = 10_000
RANKS = 4


def value(rank: int, i: int) -> float:
    return math.sin(i * 0.01 + rank) + rank


def rank_main(root: str, run_id: str, rank: int) -> None:
    warnings.filterwarnings("ignore", message=r"config\['rank_seen'\]")  # the conflict is on purpose
    run = turbotrack.init(
        dir=root,
        project="ddp",
        id=run_id,
        config={"lr": 0.1, "rank_seen": rank},
        settings={**NO_CAPTURE, "shared": True, "rank": rank, "flush_interval": 0.2},
    )
    run.define_metric("loss", summary="min,max,mean,first,last,best", objective="minimize")
    for i in range(ROWS):
        run.log({"loss": value(rank, i), "i": i})
    run.finish()


def check_shared_run(root: Path, run_id: str) -> None:
    r = turbotrack.Api(dir=root).run(f"ddp/{run_id}")
    rows = list(r.scan_history())
    assert len(rows) == ROWS * RANKS
    assert [(x["_step"], x["_rank"]) for x in rows] == [(s, k) for s in range(ROWS) for k in range(RANKS)]
    for k in range(RANKS):
        mine = [x for x in rows if x["_rank"] == k]
        assert [x["i"] for x in mine] == list(range(ROWS))
        assert all(x["loss"] == value(k, x["i"]) for x in mine)
    everything = [value(k, i) for k in range(RANKS) for i in range(ROWS)]
    s = r.summary["loss"]
    assert s["min"] == min(everything) and s["max"] == max(everything)
    assert s["mean"] == pytest.approx(sum(everything) / len(everything), rel=1e-12)
    best_rank, best_i = min(((k, i) for k in range(RANKS) for i in range(ROWS)), key=lambda ki: value(*ki))
    assert s["best"] == value(best_rank, best_i) and s["best_step"] == best_i
    by_time = sorted(rows, key=lambda x: x["_timestamp"])
    assert s["first"] == by_time[0]["loss"] and s["last"] == by_time[-1]["loss"]
    assert r.state == "finished"
    assert r.config["lr"] == 0.1 and r.config["rank_seen"] == 0  # rank 0 wins the conflict


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_four_processes_one_run(root, method):
    ctx = mp.get_context(method)
    procs = [ctx.Process(target=rank_main, args=(str(root), f"run-{method}", k)) for k in range(RANKS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=90)
        assert p.exitcode == 0
    check_shared_run(root, f"run-{method}")


def test_rank_from_environment_and_config_conflict_warns(root, monkeypatch, capfd):
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "4")
    primary = turbotrack.init(
        dir=root,
        project="ddp",
        id="env",
        config={"lr": 0.1},
        settings={**NO_CAPTURE, "shared": True, "rank": 0},
        reinit="create_new",
    )
    capfd.readouterr()
    other = turbotrack.init(
        dir=root,
        project="ddp",
        id="env",
        config={"lr": 0.2},
        settings={**NO_CAPTURE, "shared": True},
        reinit="create_new",
    )
    # a terminal notice (not a Python warning, so -W error suites pass)
    assert re.search(r"turbotrack: WARNING config\['lr'\].*rank 3.*rank 0", capfd.readouterr().err)
    assert other.rank == 3
    other.log({"x": 1.0})
    primary.log({"x": 0.0})
    other.finish()
    primary.finish()
    info = turbotrack.Api(dir=root).run("ddp/env")
    assert info.config["lr"] == 0.1
    assert [(x["_rank"], x["x"]) for x in info.scan_history()] == [(0, 0.0), (3, 1.0)]
    import json

    rank3 = json.loads((Path(primary.dir) / "run.r3.json").read_text())
    assert (rank3["rank"], rank3["local_rank"], rank3["world_size"]) == (3, 1, 4)


def test_a_killed_rank_leaves_its_flushed_rows_and_a_crashed_run(root):
    code = f"""
        import os, signal, time, turbotrack
        rank = int(os.environ["RANK"])
        run = turbotrack.init(dir={str(root)!r}, project="ddp", id="kill", settings={{**{NO_CAPTURE!r}, "shared": True, "flush_interval": 0.1}})
        for i in range(1000):
            run.log({{"x": float(i)}})
        if rank == 1:  # killed once the 0.1 s flush interval has put its rows on disk (not flush())
            deadline = time.monotonic() + 60
            while sum(r["_rank"] == 1 for r in turbotrack.Api(dir={str(root)!r}).run("ddp/kill").scan_history()) < 1000:
                assert time.monotonic() < deadline, "the writer never sealed on time"
                time.sleep(0.05)
            os.kill(os.getpid(), signal.SIGKILL)
        run.finish()
        """
    outs = [run_child(code, env={"RANK": str(k)}) for k in range(2)]
    assert outs[0].returncode == 0, outs[0].stderr
    assert outs[1].returncode == -signal.SIGKILL
    r = turbotrack.Api(dir=root).run("ddp/kill")
    rows = list(r.scan_history())
    assert [x["x"] for x in rows if x["_rank"] == 1] == [float(i) for i in range(1000)]
    assert len(rows) == 2000
    assert r.state == "crashed"


def _worker_logs(tag: str) -> None:
    turbotrack.log({"worker": tag, "pid_seen": os.getpid()})


def test_a_forked_worker_logs_to_its_own_file(new_run):
    run = new_run(id="forky", settings={"shared": True, "rank": 2})
    run.log({"parent": 1})
    ctx = mp.get_context("fork")
    p = ctx.Process(target=_worker_logs, args=("w",))
    idle = ctx.Process(target=time.sleep, args=(0.01,))
    p.start()
    idle.start()
    p.join(timeout=30)
    idle.join(timeout=30)
    assert p.exitcode == 0 and idle.exitcode == 0
    run.log({"parent": 2})
    run.finish()
    files = sorted(f.name for f in Path(run.dir).glob("history*.ttrk"))
    assert files == [f"history.r2.p{p.pid}.ttrk", "history.r2.ttrk"]  # the idle child left no file
    rows = list(turbotrack.Api().run(run.path).scan_history())
    worker = [x for x in rows if "worker" in x]
    assert len(worker) == 1
    assert worker[0]["_pid"] == p.pid == worker[0]["pid_seen"] and worker[0]["_rank"] == 2
    assert [x["parent"] for x in rows if "parent" in x] == [1, 2]
    assert all("_pid" not in x for x in rows if "parent" in x)


def test_fork_while_another_thread_logs_never_deadlocks(new_run):
    import threading

    run = new_run(settings={"queue_capacity": 4})
    stop = threading.Event()

    def spam() -> None:
        while not stop.is_set():
            run.log({"x": 1.0})

    t = threading.Thread(target=spam)
    t.start()
    try:
        ctx = mp.get_context("fork")
        for _ in range(5):
            p = ctx.Process(target=_worker_logs, args=("f",))
            p.start()
            p.join(timeout=30)
            assert p.exitcode == 0
    finally:
        stop.set()
        t.join()
    run.finish()
    rows = list(turbotrack.Api().run(run.path).scan_history())
    assert sum(1 for x in rows if x.get("worker") == "f") == 5


def test_shared_without_an_id_is_refused(root):
    with pytest.raises(ValueError, match="needs id="):
        turbotrack.init(dir=root, settings={**NO_CAPTURE, "shared": True})
