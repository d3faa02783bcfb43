"""System metrics: rows with the contract's names, sampled on a daemon thread, through a sink."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Callable

import psutil
import pytest

from turbotrack.capture import Capture, _warn
from turbotrack.settings import Settings

CONTRACT = ["system.cpu", "system.memory", "system.proc.memory.rssMB"]
PERCENT = ["system.cpu", "system.memory", "system.proc.memory.percent", "system.disk"]


@pytest.fixture
def warned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(_warn, "_emit", seen.append)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(__import__("sys").modules, "pynvml", None)  # no NVML
    folder = tmp_path / "helper-path"  # nor in the capture helper process, which gets our sys.path
    folder.mkdir()
    (folder / "pynvml.py").write_text("raise ImportError('no NVML in this test')\n")
    monkeypatch.syspath_prepend(str(folder))
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # no nvidia-smi
    return seen


def start(tmp_path: Path, sink: Callable[[dict], None], **settings: Any) -> Capture:
    opts: dict[str, Any] = {
        "capture_stdout": False,
        "capture_git": False,
        "capture_requirements": False,
        "system_interval": 0.05,
    }
    opts.update(settings)
    cap = Capture(tmp_path / "run", Settings(**opts), sink, {"id": "s"})
    cap.start()
    return cap


def wait_for(condition: Callable[[], bool], limit: float = 60.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def helpers_of(pid: int) -> list[psutil.Process]:
    """The capture helpers among the children of ``pid``."""
    found = []
    for child in psutil.Process(pid).children():
        try:
            if "turbotrack-capture" in child.cmdline():
                found.append(child)
        except psutil.Error:
            pass
    return found


def sampler_alive() -> bool:
    """A sampler runs: the capture thread that takes the helper's rows (or one sampling here)."""
    return any(t.name in ("turbotrack-capture", "turbotrack-system") for t in threading.enumerate())


def test_rows_have_the_contract_names_and_sane_values(tmp_path: Path, warned: list[str]) -> None:
    rows: list[dict] = []
    cap = start(tmp_path, rows.append)
    wait_for(lambda: len(rows) >= 3)
    cap.stop()
    assert not sampler_alive()
    expected = list(CONTRACT)
    expected += ["system.proc.cpu.percent", "system.proc.cpu.threads", "system.proc.memory.percent"]
    if psutil.disk_io_counters() is not None:
        expected += ["system.disk.in", "system.disk.out"]
    if psutil.net_io_counters() is not None:
        expected += ["system.network.sent", "system.network.recv"]
    rss = psutil.Process().memory_info().rss / 2**20
    for row in rows:
        assert set(expected) <= set(row), set(expected) - set(row)
        assert all(isinstance(v, float) for v in row.values()), row
        assert not any(k.startswith("system.gpu.") for k in row)
        assert not {"_timestamp", "_runtime", "_step"} & set(row)
        for key in PERCENT:
            if key in row:
                assert 0.0 <= row[key] <= 100.0, (key, row[key])
        assert 0.1 * rss < row["system.proc.memory.rssMB"] < 10 * rss
        assert row["system.proc.cpu.threads"] >= 2  # the main thread and the sampler
        for key in ("system.disk.in", "system.disk.out", "system.network.sent"):
            assert row.get(key, 0.0) >= 0.0
    assert warned == []


def test_stop_wakes_the_sampler_at_once(tmp_path: Path, warned: list[str]) -> None:
    rows: list[dict] = []
    cap = start(tmp_path, rows.append, system_interval=3600)
    assert sampler_alive()
    cap.stop()
    assert not sampler_alive()  # joined, though the interval is an hour (the join waits 5 s at most)
    assert rows == []


def test_capture_system_off(tmp_path: Path, warned: list[str]) -> None:
    rows: list[dict] = []
    cap = start(tmp_path, rows.append, capture_system=False)
    try:  # a helper that does not sample exits once its one-off parts are done, before any stop()
        wait_for(lambda: (tmp_path / "run" / "metadata.json").exists() and not helpers_of(os.getpid()))
    finally:
        cap.stop()
    assert rows == []
    assert not sampler_alive()


def test_a_failing_sink_warns_once_and_sampling_goes_on(tmp_path: Path, warned: list[str]) -> None:
    calls: list[dict] = []

    def sink(row: dict) -> None:
        calls.append(row)
        raise RuntimeError("writer closed")

    cap = start(tmp_path, sink)
    wait_for(lambda: len(calls) >= 3)
    cap.stop()
    assert len(warned) == 1 and "writer closed" in warned[0]
