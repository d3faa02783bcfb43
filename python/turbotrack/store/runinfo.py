"""``run.json``: a run's identity and state, and how a reader tells a live run from a crashed one."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any, Callable, Optional

from .._fs import DamagedFile, atomic_write_json, read_json
from . import layout

RUN_FILE = layout.RUN
#: ``unreadable``: the run's run.json (or a rank's) is damaged, so its state cannot be told.
STATES = ("running", "finished", "failed", "crashed", "killed", "unreadable")
#: Called with each damaged file a reader skips (readers report it; the writer's side raises).
OnDamage = Optional[Callable[[DamagedFile], None]]


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


def _read_info(path: Path, default: Any, on_damage: OnDamage) -> Any:
    try:
        return read_json(path, default, dict)
    except DamagedFile as e:
        if on_damage is None:
            raise
        on_damage(e)
        return {"state": "unreadable"}


def rank_infos(run_dir: Path, on_damage: OnDamage = None) -> list[dict[str, Any]]:
    """``run.json`` and every rank's ``run.r<k>.json`` of a shared run. A damaged one raises
    ``DamagedFile``, or with ``on_damage`` is reported to it and stands as ``{"state": "unreadable"}``."""
    return [_read_info(p, {}, on_damage) or {} for p in sorted(run_dir.glob(layout.RUN_GLOB))]


def read(run_dir: Path, on_damage: OnDamage = None) -> dict[str, Any]:
    """The run's identity: rank 0's ``run.json``, else (rank 0 not started yet) the lowest rank's."""
    primary = _read_info(run_dir / RUN_FILE, None, on_damage)
    if primary:
        return primary
    return min(rank_infos(run_dir, on_damage), key=_rank_of, default={})


def _rank_of(info: dict[str, Any]) -> int:
    rank = info.get("rank")
    return rank if isinstance(rank, int) else 0


#: The states a run.json may record (wandb's, less those this project never writes: killed is
#: kept as recorded, as an import from wandb may bring it).
RECORDED = ("running", "finished", "failed", "crashed", "killed")
#: How the ranks of a shared run combine: the first of these any rank is in, else ``finished``.
RANK_ORDER = ("unreadable", "crashed", "killed", "running", "failed")


def rank_state(info: Any, heartbeat_fresh: Optional[bool] = None, host: Optional[str] = None) -> str:
    """The state of one rank from its run file: as recorded, except that a rank recorded as
    ``running`` is ``running`` only while its process lives (same pid and start time, on this host),
    else ``crashed``. A process on another host is told by ``heartbeat_fresh`` (the server's: its
    uploader's heartbeat is fresh); without one (a local reader) it counts as ``running``, as
    nothing here can tell. A fresh heartbeat also keeps a rank on this host running. What is not a
    run file's dict, or records an unknown state, is ``unreadable``; no state recorded is ``crashed``."""
    if not isinstance(info, dict):
        return "unreadable"
    state = info.get("state", "crashed")
    if state == "unreadable" or state not in RECORDED:
        return "unreadable"
    if state != "running":
        return str(state)
    if heartbeat_fresh:
        return "running"
    if info.get("host") not in (None, host or socket.gethostname()):
        return "running" if heartbeat_fresh is None else "crashed"
    pid = info.get("pid")
    alive = isinstance(pid, int) and not isinstance(pid, bool) and process_alive(pid, info.get("pid_start"))
    return "running" if alive else "crashed"


def resolve_state(infos: list[Any], heartbeat_fresh: Optional[bool] = None, host: Optional[str] = None) -> str:
    """The one run-state resolver (the local Api and the server both answer with it): each rank's
    :func:`rank_state`, combined — unreadable if a rank's run file is damaged, crashed if any rank
    crashed (then killed), running while any rank runs, failed if any rank failed, else finished; a
    run with no run file is crashed."""
    states = {rank_state(i, heartbeat_fresh, host) for i in infos} or {"crashed"}
    for s in RANK_ORDER:
        if s in states:
            return s
    return "finished"


def combined_state(run_dir: Path, on_damage: OnDamage = None) -> str:
    """The state of the run in ``run_dir`` as a local reader sees it (:func:`resolve_state` of
    every rank's run file; a damaged one reported to ``on_damage``)."""
    return resolve_state(rank_infos(run_dir, on_damage))


def state_of(info: dict[str, Any]) -> str:
    """One run file's state as a local reader sees it (:func:`rank_state`)."""
    return rank_state(info)
