"""Durability and lifecycle: SIGKILL mid-run, torn tails, crashed/failed/finished states, atexit,
disabled mode (CONTRACT: Durability, Runs)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import NO_CAPTURE, api_run, run_child

import turbotrack
from turbotrack import _core

CHILD = """
import sys, time, turbotrack
run = turbotrack.init(project="kill", id="victim", settings={settings!r})
print(run.dir, flush=True)
i = 0
while True:
    run.log({{"x": float(i), "i": i}})
    i += 1
    if i == 5000:  # the 0.2 s flush interval (blocks hold 16384 rows) alone puts all 5000 on disk
        deadline = time.monotonic() + 60
        while len(turbotrack.Api().run("kill/victim").history(pandas=False)) < 5000:
            assert time.monotonic() < deadline, "the writer never sealed on time"
            time.sleep(0.05)
        print("flushed", flush=True)
    if i > 5000:
        time.sleep(0.0005)
"""


def test_sigkill_loses_at_most_the_last_interval(root, spawn):
    settings = {**NO_CAPTURE, "flush_interval": 0.2}
    proc = spawn(
        [sys.executable, "-c", textwrap.dedent(CHILD.format(settings=settings))],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TURBOTRACK_DIR": str(root)},
    )
    run_dir = proc.stdout.readline().strip()
    assert proc.stdout.readline().strip() == "flushed"
    time.sleep(0.5)  # more rows after the flushed ones: whatever of them was sealed reads back too
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)

    r = turbotrack.Api(dir=root).run("kill/victim")
    assert r.state == "crashed"
    rows = list(r.scan_history())
    assert len(rows) >= 5000
    assert [row["i"] for row in rows] == list(range(len(rows)))
    assert all(row["x"] == float(row["i"]) for row in rows)

    # A file cut at any byte reads back up to its last whole block, never an error.
    history = Path(run_dir) / "history.ttrk"
    data = history.read_bytes()
    cut_dir = root / "cut"
    cut_dir.mkdir()
    last = -1
    step = max(1, len(data) // 400)
    for cut in [*range(0, 64), *range(64, len(data), step), len(data) - 1]:
        p = cut_dir / "history.ttrk"
        p.write_bytes(data[:cut])
        got = _core.read_rows([p])
        assert [g["i"] for g in got] == list(range(len(got)))
        assert len(got) >= last or cut < 64
        last = len(got)
        report = _core.verify_file(p)
        assert report["torn"] is not None or report["valid_bytes"] == cut


def test_flushed_rows_are_readable_while_the_run_lives(new_run):
    run = new_run(settings={"flush_interval": 0.1})
    for i in range(100):
        run.log({"x": i})
    deadline = time.time() + 60
    rows: list = []
    while time.time() < deadline and len(rows) < 100:
        time.sleep(0.05)
        rows = list(api_run(run).scan_history())
    assert len(rows) == 100
    assert api_run(run).state == "running"


def test_a_flipped_byte_is_reported_and_skipped(new_run):
    run = new_run()
    for i in range(10):
        run.log({"x": i})
    run._core.flush()
    for i in range(10, 20):
        run.log({"x": i})
    run.finish()
    path = Path(run.dir) / "history.ttrk"
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    assert [r["x"] for r in api_run(run).scan_history()] == list(range(10))
    assert "checksum" in _core.verify_file(path)["torn"]


def test_not_a_history_file_is_a_clear_error(tmp_path):
    p = tmp_path / "h.ttrk"
    p.write_bytes(b"hello world, not a history file")
    with pytest.raises(turbotrack.Error, match="not a turbotrack history file"):
        _core.read_rows([p])


def test_context_manager_marks_failed_on_exception(new_run):
    run = new_run()
    with pytest.raises(RuntimeError):
        with run:
            run.log({"a": 1})
            raise RuntimeError("boom")
    r = api_run(run)
    assert r.state == "failed"
    assert r.summary["a"] == 1


def test_finish_with_exit_code_is_failed_and_without_is_finished(new_run):
    a = new_run(reinit="create_new")
    b = new_run(reinit="create_new")
    a.finish(exit_code=3)
    b.finish()
    assert api_run(a).state == "failed"
    assert api_run(b).state == "finished"


def test_atexit_finishes_a_forgotten_run(root):
    out = run_child(
        f"""
        import turbotrack
        run = turbotrack.init(project="p", id="forgot", settings={NO_CAPTURE!r})
        run.log({{"x": 1}}, step=3)  # pending: finish at exit commits it
        """,
        env={"TURBOTRACK_DIR": str(root)},
    )
    assert out.returncode == 0, out.stderr
    r = turbotrack.Api(dir=root).run("p/forgot")
    assert r.state == "finished"
    assert [row["_step"] for row in r.scan_history()] == [3]


def test_uncaught_exception_marks_the_run_failed(root):
    out = run_child(
        f"""
        import turbotrack
        run = turbotrack.init(project="p", id="oops", settings={NO_CAPTURE!r})
        run.log({{"x": 1}})
        raise SystemError("training diverged")
        """,
        env={"TURBOTRACK_DIR": str(root)},
    )
    assert out.returncode == 1 and "training diverged" in out.stderr
    assert turbotrack.Api(dir=root).run("p/oops").state == "failed"


def test_disabled_mode_writes_nothing(root):
    run = turbotrack.init(project="p", mode="disabled", config={"a": 1})
    run.log({"x": 1.0})
    turbotrack.log({"y": 2})
    run.define_metric("x", summary="min")
    run.summary["z"] = 3
    assert run.config["a"] == 1
    turbotrack.finish()
    assert not (root / "turbotrack").exists()


def test_disabled_mode_from_environment(root, monkeypatch):
    monkeypatch.setenv("TURBOTRACK_MODE", "disabled")
    run = turbotrack.init(project="p")
    assert isinstance(run, turbotrack.DisabledRun)
    run.finish()
    assert not (root / "turbotrack").exists()


def test_resume_continues_steps(new_run):
    run = new_run(id="res")
    run.log({"x": 1})
    run.log({"x": 2})
    run.finish()
    with pytest.raises(ValueError, match="resume"):
        new_run(id="res")
    again = new_run(id="res", resume="allow")
    assert again.step == 2
    again.log({"x": 3})
    again.finish()
    assert [r["_step"] for r in api_run(again).scan_history()] == [0, 1, 2]


def test_atomic_files_are_complete_json(new_run):
    run = new_run(config={"lr": 0.1})
    run.log({"x": 1})
    run.finish()
    for name in ("summary.json", "config.json", "run.json"):
        json.loads((Path(run.dir) / name).read_text())
    assert not [p for p in Path(run.dir).iterdir() if p.name.endswith(".tmp")]


def test_a_failing_disk_warns_once_and_never_stops_the_loop(root):
    out = run_child(
        f"""
        import io, resource, signal, sys, time, warnings, turbotrack
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
        run = turbotrack.init(project="p", id="full", settings={{**{NO_CAPTURE!r}, "flush_interval": 0.05}})
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))  # the "disk" fills after ~20 kB
        sys.stderr = notices = io.StringIO()  # the core's notices are written there
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for i in range(100_000):
                run.log({{"x": float(i), "y": i}})
                if i % 5000 == 0:
                    time.sleep(0.1)  # let the writer flush, and fail
            run.finish()
        sys.stderr = sys.__stderr__
        msgs = [str(w.message) for w in caught]
        print(notices.getvalue().count("could not write this run's files"), sum("could not be written" in m for m in msgs))
        print(run.step)
        """,
        env={"TURBOTRACK_DIR": str(root)},
    )
    assert out.returncode == 0, out.stderr
    during, at_finish = map(int, out.stdout.split()[:2])
    assert (during, at_finish) == (1, 1)
    assert out.stdout.split()[2] == "100000"
    r = turbotrack.Api(dir=root).run("p/full")
    rows = list(r.scan_history())
    assert 0 < len(rows) < 100_000  # what fitted reads back, intact
    assert [row["y"] for row in rows] == list(range(len(rows)))


def test_a_run_the_program_dropped_is_still_finished_at_exit(root):
    out = run_child(
        f"""
        import gc, turbotrack
        run = turbotrack.init(project="p", id="dropped", settings={NO_CAPTURE!r})
        run.log({{"x": 1}})
        turbotrack.init(project="p", id="other", settings={NO_CAPTURE!r}, reinit="create_new")
        del run
        gc.collect()
        """,
        env={"TURBOTRACK_DIR": str(root)},
    )
    assert out.returncode == 0, out.stderr
    assert turbotrack.Api(dir=root).run("p/dropped").state == "finished"
    assert turbotrack.Api(dir=root).run("p/other").state == "finished"
