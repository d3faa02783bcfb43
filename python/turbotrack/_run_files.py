"""A run's identity and its folder: entity/project/id, the shared-run rank, the display name, whether
``resume=`` continues an earlier run, and ``run.json`` (what this process writes of it).

Nothing here starts a thread: :class:`RunFiles` is made first by ``Run.__init__`` and is what every
other part of the run (its streams, capture, uploader, saved files) asks where to write."""

from __future__ import annotations

import os
import random
import shutil
import threading
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from . import _core
from ._fs import read_json
from .compat.term import termwarn
from .store import layout, runinfo
from .util import generate_id

_ADJECTIVES = (
    "amber brisk calm daring eager fuzzy gentle hazy icy jolly keen lively misty noble proud quiet rapid silent tidy "
    "vivid witty"
).split()
_NOUNS = (
    "river falcon meadow comet breeze canyon ember forest glacier harbor island lagoon mountain nebula ocean pine "
    "quartz ridge summit tundra"
).split()


def check_path_part(what: str, value: str) -> str:
    """``value`` (an entity, project or id) by the one name rule (store/names.py), else a ValueError naming ``what``."""
    return layout.check_part(what, value)


def check_tags(tags: Any) -> tuple[str, ...]:
    """``tags`` (a list or tuple of strings) as a tuple; a bare string or a non-string tag is a TypeError."""
    if isinstance(tags, (str, bytes)) or not isinstance(tags, (list, tuple, set, frozenset)):
        raise TypeError(f"tags must be a list or tuple of strings, got {type(tags).__name__}")
    bad = [t for t in tags if not isinstance(t, str)]
    if bad:
        raise TypeError(f"tags must be strings, got {bad[0]!r} ({type(bad[0]).__name__})")
    return tuple(tags)


def check_resume(resume: Any, run_dir: Path) -> bool:
    """Whether this init continues the run in ``run_dir`` (``resume=``); ValueError where it must not."""
    exists = (run_dir / layout.HISTORY).exists()
    if resume in (None, False, "never"):
        if exists:
            raise ValueError(
                f"a run with this id already exists in {run_dir}; pass resume='allow' to continue it, or another id"
            )
        return False
    if resume in (True, "allow", "auto", "must"):
        if resume == "must" and not exists:
            raise ValueError(f"resume='must' but there is no run to resume in {run_dir}")
        return exists
    raise ValueError(f"resume must be None, True, 'allow', 'must', 'auto' or 'never', got {resume!r}")


def _env_int(name: str) -> Optional[int]:
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else None


class RunFiles:
    """Who the run is and where its files are. ``dir`` is made here; :meth:`undo` removes what a failed
    ``init()`` made. The names of this process's files come from :meth:`file` (a rank > 0 of a shared run
    writes ``run.r<k>.json`` and the like), and ``info`` is this process's ``run.json``."""

    def __init__(
        self,
        root: Path,
        entity: str,
        project: str,
        id: Optional[str],
        name: Optional[str],
        shared: bool,
        rank: int,
        resume: Any,
    ) -> None:
        self.entity = check_path_part("entity", entity)
        self.project = check_path_part("project", project)
        self.id = check_path_part("id", id) if id else generate_id()
        self.shared = bool(shared)
        if self.shared and not id:
            raise ValueError(
                'settings={"shared": True} needs id=: every process of a shared run passes the same id '
                "(e.g. one made by rank 0 and broadcast, or a name of the job)"
            )
        self.rank = int(rank) if self.shared else 0
        self.dir = root / self.entity / self.project / self.id
        self.previous: dict[str, Any] = runinfo.read(self.dir) if self.dir.exists() else {}
        #: Whether this init continues an earlier run (a shared run's ranks never "resume").
        self.resumed = False if self.shared else check_resume(resume, self.dir)
        self.name: str = (
            name or self.previous.get("name") or f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{self.id[:4]}"
        )
        #: What run.json shows of the run besides its name (set by :meth:`start_info`, :meth:`set_shown`).
        self.tags: tuple[str, ...] = ()
        self.notes: Optional[str] = None
        self.made = not self.dir.exists()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.info: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._config_warned: set[str] = set()

    @property
    def path(self) -> str:
        """``"entity/project/id"``."""
        return f"{self.entity}/{self.project}/{self.id}"

    def file(self, name: str) -> str:
        """The name this process writes ``name`` (a :mod:`store.layout` name) as."""
        return layout.ranked(name, self.rank, self.shared)

    def path_of(self, name: str) -> Path:
        """Where this process writes ``name``."""
        return self.dir / self.file(name)

    def meta(self, stream: str, pid: Optional[int] = None) -> str:
        """The header a stream's file carries (its run, and rank and pid where they tell files apart)."""
        meta = f"stream={stream};run={self.id}"
        if pid is not None:
            return f"{meta};shared=1;rank={self.rank};pid={pid}"
        return f"{meta};shared=1;rank={self.rank}" if self.shared else meta

    def resume_point(self, now: float) -> tuple[int, float, list[tuple[Optional[str], ...]]]:
        """Where a resumed run goes on: its next step, its first start time, its metric definitions
        (``0, now, []`` for a new run)."""
        if not self.resumed:
            return 0, now, []
        last = (read_json(self.dir / layout.SUMMARY) or {}).get("_step")
        step = int(last) + 1 if isinstance(last, int) else 0
        defs = [tuple(d) for d in read_json(self.dir / layout.METRICS) or []]
        return step, float(self.previous.get("start_time", now)), defs

    def old_config(self) -> dict[str, Any]:
        """The config a resumed run had ({} for a new run)."""
        return (read_json(self.dir / layout.CONFIG) or {}) if self.resumed else {}

    def start_info(
        self,
        start_time: float,
        group: Optional[str],
        job_type: Optional[str],
        tags: Sequence[str],
        notes: Optional[str],
    ) -> None:
        """Write this process's ``run.json`` for a run that starts now (state ``running``)."""
        self.tags, self.notes = tuple(tags), notes
        self.info = {
            "id": self.id,
            "name": self.name,
            "project": self.project,
            "entity": self.entity,
            "group": group,
            "job_type": job_type,
            "tags": list(tags),
            "notes": notes,
            "state": "running",
            "start_time": start_time,
            "end_time": None,
            "exit_code": None,
            "shared": self.shared,
            "rank": self.rank,
            "local_rank": _env_int("LOCAL_RANK"),
            "world_size": _env_int("WORLD_SIZE"),
            **runinfo.this_process(),
        }
        runinfo.write(self.dir, self.info, self.file(layout.RUN))

    def set_shown(self, **items: Any) -> None:
        """Set the run's ``name``, ``tags`` or ``notes`` (checked: a TypeError names a wrong one) and save them."""
        if "name" in items and not isinstance(items["name"], str):
            raise TypeError(f"run.name must be a string, got {type(items['name']).__name__}")
        if items.get("notes") is not None and not isinstance(items["notes"], str):
            raise TypeError(f"run.notes must be a string or None, got {type(items['notes']).__name__}")
        if "tags" in items:
            self.tags = check_tags(items["tags"])
            items["tags"] = list(self.tags)
        self.name = items.get("name", self.name)
        self.notes = items.get("notes", self.notes)
        self.update_info(**items)

    def update_info(self, **items: Any) -> None:
        """Update this process's ``run.json`` with ``items`` (a rank of a shared run writes its own file)."""
        with self._lock:
            self.info.update(items)
            runinfo.write(self.dir, self.info, self.file(layout.RUN))

    def finish_info(self, exit_code: int) -> None:
        """Mark the run finished (``failed`` with a non-zero ``exit_code``) in ``run.json``; a failed write
        is a :class:`turbotrack.Error` saying how to retry, and leaves ``info`` as it was."""
        info = {
            **self.info,
            "state": "failed" if exit_code else "finished",
            "exit_code": exit_code,
            "end_time": time.time(),
        }
        name = self.file(layout.RUN)
        try:
            runinfo.write(self.dir, info, name)
        except OSError as e:
            raise _core.Error(
                f"turbotrack could not finish run {self.path}: writing {self.dir / name} failed ({e}); "
                "the run stays 'running' on disk. Free space (or fix the folder) and call finish() again to retry"
            ) from e
        self.info = info

    def exit_records(self, code_marker: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """``run.json``'s path and the two records the C library's exit may write there instead of the one
        written (finished with 0; failed with ``code_marker`` for the status): see ``_hooks``."""
        finished = {**self.info, "state": "finished", "exit_code": 0}
        failed = {**self.info, "state": "failed", "exit_code": code_marker}
        return str(self.path_of(layout.RUN)), finished, failed

    def check_config(self, items: dict[str, Any]) -> None:
        """A rank > 0 of a shared run warns, once per key, about config values that differ from rank 0's."""
        if not (self.shared and self.rank):
            return
        primary = read_json(self.dir / layout.CONFIG) or {}
        warned = self._config_warned
        clashes = sorted(k for k, v in items.items() if k in primary and primary[k] != v and k not in warned)
        for k in clashes:
            warned.add(k)
            termwarn(
                f"config[{k!r}] = {items[k]!r} on rank {self.rank} differs from rank 0's {primary[k]!r}; "
                "the run keeps rank 0's value"
            )

    def undo(self) -> None:
        """After a failed ``init()``: remove what it made (the run's folder if it made it, else its new
        history), so that a retry with the same id starts afresh instead of finding a half-made run.
        A shared run's folder holds other ranks' files, a resumed run's folder the earlier run: kept."""
        if self.shared or self.resumed:
            return
        if self.made:
            shutil.rmtree(self.dir, ignore_errors=True)
            return
        for name in (layout.HISTORY, layout.SYSTEM):  # the folder was there without a history: this init's
            try:
                (self.dir / name).unlink()
            except OSError:
                pass
