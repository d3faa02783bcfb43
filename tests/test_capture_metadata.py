"""metadata.json and the Capture lifecycle: keys, switches, shared-run file names, never raising."""

from __future__ import annotations

import datetime
import json
import os
import platform
import socket
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest

from turbotrack.capture import Capture, CaptureFiles, CaptureWarning, _warn
from turbotrack.capture.metadata import iso_time, program_and_args
from turbotrack.settings import Settings

RUN_INFO = {
    "id": "abc123",
    "name": "bright-sun-1",
    "project": "p",
    "entity": "e",
    "rank": 0,
    "start_time": 1700000000.25,
}
QUIET = {"capture_stdout": False, "capture_system": False, "system_interval": 0.05}


@pytest.fixture
def warned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(_warn, "_emit", seen.append)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    return seen


def run(tmp_path: Path, settings: Settings, run_info: Any = None) -> Capture:
    cap = Capture(tmp_path / "run", settings, lambda row: None, dict(run_info or RUN_INFO))
    cap.start()
    cap.stop()
    return cap


def test_metadata_has_the_contract_keys(tmp_path: Path, warned: list[str]) -> None:
    run(tmp_path, Settings(**QUIET), {**RUN_INFO, "state": "running", "exit_code": None})
    meta = json.loads((tmp_path / "run" / "metadata.json").read_text())
    for key in ("git", "host", "os", "python", "program", "args", "cpu_count", "gpu", "cwd"):
        assert key in meta, key
    assert set(meta["git"]) == {"commit", "branch", "remote"}
    assert meta["host"] == socket.gethostname()
    assert meta["python"] == platform.python_version()
    assert meta["executable"] == sys.executable
    assert meta["args"] == sys.argv[1:]
    assert meta["cwd"] == str(tmp_path)
    assert meta["startedAt"] == "2023-11-14T22:13:20.250000+00:00"
    assert isinstance(meta["cpu_count"], int) and meta["cpu_count"] >= 1
    assert meta["cpu_count_logical"] == os.cpu_count()
    assert meta["memory"]["total"] > 0
    assert isinstance(meta["gpu"], list)
    assert meta["pid"] == os.getpid()
    assert meta["run"] == RUN_INFO
    assert warned == []


def test_a_start_time_given_as_a_datetime(tmp_path: Path, warned: list[str]) -> None:
    start = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    run(tmp_path, Settings(**QUIET), {**RUN_INFO, "start_time": start})
    meta = json.loads((tmp_path / "run" / "metadata.json").read_text())
    assert meta["startedAt"] == "2024-01-02T03:04:05+00:00"
    assert meta["run"]["start_time"] == str(start)  # as any value JSON cannot hold
    assert warned == []


def test_switched_off_by_environment(tmp_path: Path, warned: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for part in ("STDOUT", "SYSTEM", "GIT", "REQUIREMENTS"):
        monkeypatch.setenv(f"TURBOTRACK_CAPTURE_{part}", "false")
    rows: list[dict] = []
    cap = Capture(tmp_path / "run", Settings.resolve(), rows.append, RUN_INFO)
    cap.start()
    cap.stop()
    assert cap.console_mode is None
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["metadata.json"]
    assert rows == []


def test_lifecycle_is_idempotent_and_stop_before_start_writes_nothing(tmp_path: Path, warned: list[str]) -> None:
    never = Capture(tmp_path / "never", Settings(**QUIET), lambda row: None, RUN_INFO)
    never.stop()
    never.start()  # after stop, start does nothing
    never.stop()
    assert not (tmp_path / "never").exists()

    cap = Capture(tmp_path / "run", Settings(**QUIET), lambda row: None, RUN_INFO)
    cap.start()
    cap.start()
    cap.stop()
    (tmp_path / "run" / "metadata.json").unlink()
    cap.stop()
    assert not (tmp_path / "run" / "metadata.json").exists()
    assert warned == []


def test_rank_of_a_shared_run_writes_its_own_files(tmp_path: Path, warned: list[str]) -> None:
    info = {**RUN_INFO, "rank": 2}
    cap = run(tmp_path, Settings(**QUIET, shared=True, rank=2), info)
    assert cap.files == CaptureFiles(
        output=tmp_path / "run" / "output.r2.log",
        metadata=tmp_path / "run" / "metadata.r2.json",
        requirements=tmp_path / "run" / "requirements.txt",
        diff=tmp_path / "run" / "diff.patch",
    )
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["metadata.r2.json"]
    # Not shared: the rank does not change the names.
    assert run(tmp_path / "x", Settings(**QUIET, rank=2), info).files.metadata.name == ("metadata.json")


def test_a_failing_part_warns_once_and_never_raises(tmp_path: Path, warned: list[str]) -> None:
    (tmp_path / "run" / "metadata.json").mkdir(parents=True)  # where the file goes is a folder
    run(tmp_path, Settings(**QUIET))
    assert len(warned) == 1, warned
    assert "metadata capture failed" in warned[0] and "IsADirectoryError" in warned[0]


def test_without_a_helper_the_collection_runs_here(
    tmp_path: Path, warned: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    cap = run(tmp_path, Settings(**QUIET))
    meta = json.loads((tmp_path / "run" / "metadata.json").read_text())
    assert meta["cpu_count"] >= 1 and meta["run"] == RUN_INFO
    assert (tmp_path / "run" / "requirements.txt").read_text().count("==") > 5
    assert len(warned) == 1 and "capture helper process could not start" in warned[0]
    assert cap.files.metadata.exists()


def test_a_deleted_working_directory_is_no_error(
    tmp_path: Path, warned: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    run(tmp_path, Settings(**QUIET))
    meta = json.loads((tmp_path / "run" / "metadata.json").read_text())
    assert meta["cwd"] is None
    assert meta["git"] == {"commit": None, "branch": None, "remote": None}
    assert "program" in meta
    assert warned == []


def test_warn_once_uses_warnings_but_never_raises_from_them() -> None:
    warn = _warn.WarnOnce()
    with pytest.warns(CaptureWarning, match="turbotrack capture: first"):
        warn("k", "first")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn("k", "again")  # same key: silent
        warn("other", "would be an error")  # the filter raises inside; it is swallowed
    warn("late", "deferred", defer=True)
    with pytest.warns(CaptureWarning, match="deferred"):
        warn.flush()


def test_program_and_start_time_forms() -> None:
    assert program_and_args(["-c", "x"]) == ("-c", ["x"])
    assert program_and_args([]) == ("<python>", [])
    here = os.path.abspath(__file__)
    prog, args = program_and_args([here, "--lr", "0.1"])
    assert args == ["--lr", "0.1"]
    assert prog == here or prog.startswith("-m ")  # pytest may run as `python -m pytest`
    assert iso_time(0) == "1970-01-01T00:00:00+00:00"
    assert iso_time("2024-01-01T00:00:00Z") == "2024-01-01T00:00:00Z"
