"""One run-state resolver (store/runinfo.resolve_state): the local Api and a real server over the
same run folders answer the same state for each run, and select the same runs by state: finished,
failed, crashed (its process died), running (its process lives), killed (as recorded), unreadable
(a damaged run.json), and shared runs whose ranks are in different states."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import pytest
from conftest import NO_CAPTURE, run_child
from serverkit import ServerProc, make_key

import turbotrack
from turbotrack.store import runinfo

PROJECT = "states"


def _rank(root: Path, run_id: str, rank: int, end: str) -> None:
    """Rank ``rank`` of shared run ``run_id``, in a child: ends ``ok``, ``fail`` or ``crash``."""
    out = run_child(
        f"""
        import os, turbotrack
        run = turbotrack.init(dir={str(root)!r}, project={PROJECT!r}, id={run_id!r},
                              settings={{**{NO_CAPTURE!r}, "shared": True, "rank": {rank}}})
        run.log({{"x": {rank}}})
        if {end!r} == "crash":
            os._exit(0)
        run.finish(exit_code=1 if {end!r} == "fail" else 0)
        """
    )
    assert out.returncode == 0, out.stderr


def _live(root: Path, run_id: str, shared_rank: int | None) -> subprocess.Popen[str]:
    """A child holding a run open (a rank of a shared one); it dies without finishing on stdin's EOF."""
    settings = dict(NO_CAPTURE)
    if shared_rank is not None:
        settings.update(shared=True, rank=shared_rank)
    code = f"""
        import os, sys, turbotrack
        run = turbotrack.init(dir={str(root)!r}, project={PROJECT!r}, id={run_id!r}, settings={settings!r})
        run.log({{"x": 1}})
        print("ready", flush=True)
        sys.stdin.read()
        os._exit(0)
        """
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _end(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(30)
    if proc.stdout:
        proc.stdout.close()


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[tuple[Path, dict[str, subprocess.Popen[str]]]]:
    root = tmp_path
    done = turbotrack.init(dir=root, project=PROJECT, id="finished", settings=NO_CAPTURE)
    done.finish()
    failed = turbotrack.init(dir=root, project=PROJECT, id="failed", settings=NO_CAPTURE)
    failed.finish(exit_code=3)
    out = run_child(
        f"""
        import os, turbotrack
        turbotrack.init(dir={str(root)!r}, project={PROJECT!r}, id="crashed", settings={NO_CAPTURE!r})
        os._exit(0)
        """
    )
    assert out.returncode == 0, out.stderr
    killed = turbotrack.init(dir=root, project=PROJECT, id="killed", settings=NO_CAPTURE)
    killed.finish()
    info_path = root / "turbotrack" / "local" / PROJECT / "killed" / "run.json"
    info_path.write_text(json.dumps({**json.loads(info_path.read_text()), "state": "killed"}))
    broken = turbotrack.init(dir=root, project=PROJECT, id="unreadable", settings=NO_CAPTURE)
    broken.finish()
    (root / "turbotrack" / "local" / PROJECT / "unreadable" / "run.json").write_text('{"state": "fin')
    _rank(root, "ranks-fail", 0, "ok")
    _rank(root, "ranks-fail", 1, "fail")
    _rank(root, "ranks-crash", 0, "fail")
    _rank(root, "ranks-crash", 1, "crash")
    _rank(root, "ranks-live", 0, "ok")
    children: dict[str, subprocess.Popen[str]] = {}
    try:
        children["live"] = _live(root, "live", None)
        children["ranks-live"] = _live(root, "ranks-live", 1)
        yield root, children
    finally:
        for proc in children.values():
            _end(proc)


WANT = {
    "finished": "finished",
    "failed": "failed",
    "crashed": "crashed",
    "killed": "killed",
    "unreadable": "unreadable",
    "ranks-fail": "failed",  # rank 0 finished, rank 1 failed
    "ranks-crash": "crashed",  # rank 0 failed, rank 1 died unfinished
    "ranks-live": "running",  # rank 0 finished, rank 1 still running
    "live": "running",
}


def _states(api) -> dict[str, str]:
    return {r.id: r.state for r in api.runs(f"local/{PROJECT}")}


@pytest.mark.filterwarnings("ignore:turbotrack.*unreadable:UserWarning")
def test_the_local_api_and_the_server_answer_the_same_state(runs) -> None:
    root, children = runs
    srv = ServerProc(root)
    key = make_key(root, "local")[1]
    srv.start()
    try:
        local = turbotrack.Api(dir=root)
        remote = turbotrack.Api(base_url=srv.url, api_key=key)
        assert _states(local) == WANT
        assert _states(remote) == WANT
        for run_id, want in WANT.items():
            assert remote.run(f"{PROJECT}/{run_id}").state == local.run(f"{PROJECT}/{run_id}").state == want
        for state in ("running", "crashed", "failed", "finished", "killed", "unreadable"):
            picked = sorted(r.id for r in local.runs(PROJECT, {"state": state}))
            assert picked == sorted(k for k, v in WANT.items() if v == state), state
            assert sorted(r.id for r in remote.runs(PROJECT, {"state": state})) == picked, state
        # the live processes die without finishing: both sides say crashed at once (no file changed)
        for proc in children.values():
            _end(proc)
        now = {**WANT, "live": "crashed", "ranks-live": "crashed"}
        assert _states(local) == now
        assert _states(remote) == now
        assert sorted(r.id for r in remote.runs(PROJECT, {"state": "crashed"})) == sorted(
            k for k, v in now.items() if v == "crashed"
        )
    finally:
        assert srv.stop() == 0


def test_the_resolver_rules() -> None:
    me = {"state": "running", "pid": 1 << 30, "host": None}
    assert runinfo.resolve_state([]) == "crashed"
    assert runinfo.resolve_state([{"state": "finished"}, {"state": "failed"}]) == "failed"
    assert runinfo.resolve_state([{"state": "finished"}, me]) == "crashed"  # no such pid
    assert runinfo.resolve_state([{"state": "finished"}, me], heartbeat_fresh=True) == "running"
    away = {"state": "running", "pid": 1, "host": "elsewhere"}
    # another host: a local reader cannot tell (running); the server goes by the uploader's heartbeat
    assert runinfo.resolve_state([away]) == "running"
    assert runinfo.resolve_state([away], heartbeat_fresh=False) == "crashed"
    assert runinfo.resolve_state([away], heartbeat_fresh=True) == "running"
    assert runinfo.resolve_state([{"state": "paused"}]) == "unreadable"
    assert runinfo.resolve_state(["not a dict", {"state": "finished"}]) == "unreadable"
    assert runinfo.resolve_state([{"state": "killed"}, {"state": "running", "host": "x"}]) == "killed"
    assert runinfo.resolve_state([{}]) == "crashed"
