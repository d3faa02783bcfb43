"""The capture helper process (capture/helper.py): it samples and collects for the run's process,
which imports none of that work; a helper that dies leaves the work to the run's process, and a
helper whose run was killed exits."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from test_capture_system import helpers_of, wait_for

from turbotrack.capture import Capture, _warn
from turbotrack.settings import Settings


@pytest.fixture
def warned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The capture warnings emitted."""
    seen: list[str] = []
    monkeypatch.setattr(_warn, "_emit", seen.append)
    return seen


def test_the_run_process_imports_none_of_the_sampling_or_collecting(tmp_path: Path) -> None:
    """System rows, GPU names, CPU counts and requirements all come from the helper: the run's
    process never imports psutil, pynvml or importlib.metadata for them (their Python work would
    hold its GIL), and its rows describe the run's process, not the helper."""
    script = f"""
import json, os, sys, time
from pathlib import Path
from turbotrack.capture import Capture
from turbotrack.settings import Settings
run = Path({str(tmp_path / "run")!r})
rows = []
cap = Capture(run, Settings(capture_stdout=False, system_interval=0.05), rows.append, {{"id": "h"}})
cap.start()
deadline = time.monotonic() + 60
while len(rows) < 3 and time.monotonic() < deadline:
    time.sleep(0.02)
cap.stop()
meta = json.loads((run / "metadata.json").read_text())
print(json.dumps({{
    "imported": sorted(m for m in ("psutil", "pynvml", "importlib.metadata") if m in sys.modules),
    "rows": len(rows), "threads": [r["system.proc.cpu.threads"] for r in rows],
    "rss": [r["system.proc.memory.rssMB"] for r in rows],
    "cpu_count": meta["cpu_count"], "memory": meta["memory"]["total"],
    "requirements": (run / "requirements.txt").read_text().count("=="),
}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["imported"] == []
    assert got["rows"] >= 3
    assert all(n >= 2 for n in got["threads"])  # the run's main thread and its capture thread
    assert all(mb > 5 for mb in got["rss"])  # turbotrack imported: not an empty helper
    assert got["cpu_count"] >= 1 and got["memory"] > 0 and got["requirements"] > 5


def test_a_helper_that_dies_leaves_sampling_to_the_run(tmp_path: Path, warned: list[str]) -> None:
    rows: list[dict] = []
    settings = Settings(capture_stdout=False, capture_git=False, capture_requirements=False, system_interval=0.05)
    cap = Capture(tmp_path / "run", settings, rows.append, {"id": "d"})
    cap.start()
    try:
        wait_for(lambda: len(rows) >= 2)
        (helper,) = helpers_of(os.getpid())
        helper.kill()
        helper.wait(30)
        seen = len(rows)
        wait_for(lambda: len(rows) >= seen + 3)  # sampled here now
    finally:
        cap.stop()
    assert (tmp_path / "run" / "metadata.json").exists()
    assert len(warned) == 1 and "capture helper process exited" in warned[0] and "system metrics" in warned[0]
    assert helpers_of(os.getpid()) == []


def test_a_helper_whose_run_is_killed_exits(tmp_path: Path) -> None:
    script = f"""
import os, sys, time
from pathlib import Path
from turbotrack.capture import Capture
from turbotrack.settings import Settings
cap = Capture(Path({str(tmp_path / "run")!r}), Settings(capture_stdout=False, system_interval=3600), print, {{"id": "k"}})
cap.start()
while not Path({str(tmp_path / "run" / "metadata.json")!r}).exists():
    time.sleep(0.02)
print("ready", flush=True)
time.sleep(600)
"""
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        (helper,) = helpers_of(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        helper.wait(60)  # its stdin closed with its parent: it stops sampling and exits
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_a_forked_child_does_not_hold_the_helper_open(tmp_path: Path) -> None:
    """A process forked from the run (a DataLoader worker) gets the helper's pipes pointed at
    /dev/null: else, while it lives, the helper never sees its stdin close, and finish() waited
    out STOP_TIMEOUT (20 s) for it."""
    script = f"""
import json, os, sys, time
from pathlib import Path
from turbotrack.capture import Capture, STOP_TIMEOUT
from turbotrack.settings import Settings
run = Path({str(tmp_path / "run")!r})
cap = Capture(run, Settings(capture_stdout=False, system_interval=3600), lambda row: None, {{"id": "f"}})
cap.start()
while not (run / "metadata.json").exists():
    time.sleep(0.02)
r, w = os.pipe()
pid = os.fork()
if pid == 0:  # the worker: tell what its copies of the helper's pipes are, then live on
    fds = [s.fileno() for s in (cap._helper._proc.stdin, cap._helper._proc.stdout)]
    os.write(w, json.dumps([os.readlink(f"/proc/self/fd/{{fd}}") for fd in fds]).encode())
    time.sleep(120)
    os._exit(0)
os.close(w)
seen = json.loads(os.read(r, 4096))
t = time.monotonic()
cap.stop()
took = time.monotonic() - t
code = cap._helper._proc.returncode
os.kill(pid, 9)
os.waitpid(pid, 0)
print(json.dumps({{"seen": seen, "took": took, "limit": STOP_TIMEOUT, "code": code}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["seen"] == ["/dev/null", "/dev/null"]
    assert got["code"] == 0  # it exited when stop() closed its stdin; it was not killed
    assert got["took"] < got["limit"] / 2
