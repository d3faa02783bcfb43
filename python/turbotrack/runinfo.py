"""``run.json``: a run's identity and state, and how a reader tells a live run from a crashed one."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Optional

from ._fs import atomic_write_json, read_json

RUN_FILE = "run.json"
STATES = ("running", "finished", "failed", "crashed")


def process_start(pid: int) -> Optional[str]:
    """The kernel's start time of process ``pid`` (Linux), to tell it from a later one with its pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read().decode(errors="replace")
    except OSError:
        return None
    # Field 22 (starttime), counted after the parenthesised command name, which may hold spaces.
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def process_alive(pid: int, start: Optional[str]) -> bool:
    """Whether the process that wrote a run still runs (same pid and same start time)."""
    if pid <= 0:
        return False
    now = process_start(pid)
    if now is not None:
        return start is None or now == start
    try:  # no /proc (not Linux): the pid alone must do
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def this_process() -> dict[str, Any]:
    pid = os.getpid()
    return {"pid": pid, "pid_start": process_start(pid), "host": socket.gethostname()}


def write(run_dir: Path, info: dict[str, Any], name: str = RUN_FILE) -> None:
    atomic_write_json(run_dir / name, info)


def rank_infos(run_dir: Path) -> list[dict[str, Any]]:
    """``run.json`` and every rank's ``run.r<k>.json`` of a shared run."""
    return [read_json(p, {}) or {} for p in sorted(run_dir.glob("run*.json"))]


def read(run_dir: Path) -> dict[str, Any]:
    """The run's identity: rank 0's ``run.json``, else (rank 0 not started yet) the lowest rank's."""
    primary = read_json(run_dir / RUN_FILE, None)
    if primary:
        return primary
    return min(rank_infos(run_dir), key=lambda i: i.get("rank", 0), default={})


def combined_state(run_dir: Path) -> str:
    """A shared run is crashed if any rank crashed, running while any rank runs, failed if any
    rank failed, else finished."""
    states = {state_of(i) for i in rank_infos(run_dir)} or {"crashed"}
    for s in ("crashed", "running", "failed"):
        if s in states:
            return s
    return "finished"


def state_of(info: dict[str, Any]) -> str:
    """``running`` while the writing process lives, else ``crashed``; finished runs as recorded."""
    state = info.get("state", "crashed")
    if state != "running":
        return state
    if info.get("host") not in (None, socket.gethostname()):
        return "running"  # another machine's process: nothing here can tell
    return "running" if process_alive(int(info.get("pid", -1)), info.get("pid_start")) else "crashed"
