"""``Run``: one run's files, its native core, and its lifecycle (init → log → finish)."""

from __future__ import annotations

import atexit
import glob
import os
import random
import shutil
import string
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Optional, Sequence

from . import _core, runinfo
from ._fs import atomic_write_json, read_json
from .config import Config
from .data_types import Converter
from .data_types.deferred import Resolver
from .settings import Settings
from .summary import Summary
from .sync import uploader

HISTORY_FILE = "history.ttrk"
SYSTEM_FILE = "system.ttrk"
SUMMARY_FILE = "summary.json"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"


def rank_file(name: str, rank: int, shared: bool) -> str:
    """A per-process file name: ``history.ttrk`` → ``history.r2.ttrk`` for rank 2 of a shared run.
    History and system streams are per rank for every rank; JSON files only for ranks > 0."""
    stem, dot, ext = name.partition(".")
    if shared and (rank or ext == "ttrk"):
        return f"{stem}.r{rank}{dot}{ext}"
    return name


_ADJECTIVES = (
    "amber brisk calm daring eager fuzzy gentle hazy icy jolly keen lively misty noble proud quiet rapid silent tidy "
    "vivid witty"
).split()
_NOUNS = (
    "river falcon meadow comet breeze canyon ember forest glacier harbor island lagoon mountain nebula ocean pine "
    "quartz ridge summit tundra"
).split()


def generate_id(length: int = 8) -> str:
    """A random run id: lowercase letters and digits."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(random.SystemRandom().choice(alphabet) for _ in range(length))


def _check_path_part(what: str, value: str) -> str:
    if not value or value in (".", "..") or any(c in value for c in "/\\\0"):
        raise ValueError(
            f"{what} {value!r} cannot be used as a folder name: it must be non-empty and hold no '/', '\\' or NUL"
        )
    return value


class Run:
    """A run: what ``turbotrack.init()`` returns.

    Attributes: ``id``, ``name``, ``project``, ``entity``, ``path`` ("entity/project/id"), ``dir``
    (the folder with this run's files), ``config``, ``summary``, ``step`` (the pending step).
    Use it as a context manager to finish it (as failed when an exception escapes).
    """

    def __init__(
        self,
        *,
        settings: Settings,
        root: Path,
        entity: str,
        project: str,
        id: Optional[str],
        name: Optional[str],
        config: Any,
        group: Optional[str],
        job_type: Optional[str],
        tags: Optional[Sequence[str]],
        notes: Optional[str],
        resume: Any,
    ) -> None:
        self.settings = settings
        self.entity = _check_path_part("entity", entity)
        self.project = _check_path_part("project", project)
        self.id = _check_path_part("id", id) if id else generate_id()
        self.group = group
        self.job_type = job_type
        self.tags = tuple(tags or ())
        self.notes = notes
        run_dir = root / self.entity / self.project / self.id
        self.shared = bool(settings.shared)
        if self.shared and not id:
            raise ValueError(
                'settings={"shared": True} needs id=: every process of a shared run passes the same id '
                "(e.g. one made by rank 0 and broadcast, or a name of the job)"
            )
        self.rank = int(settings.rank) if self.shared else 0
        previous = runinfo.read(run_dir) if run_dir.exists() else {}
        resuming = False if self.shared else self._check_resume(resume, run_dir, previous)
        self.name = (
            name or previous.get("name") or f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{self.id[:4]}"
        )
        run_dir.mkdir(parents=True, exist_ok=True)
        self.dir = str(run_dir)
        self._dir = run_dir
        self._start_time = time.time()
        self._finished = False
        self._forked = False
        self._lock = threading.Lock()
        self._defs: list[tuple[str, Optional[str], Optional[str]]] = []
        self._config_warned: set[str] = set()
        initial_step = 0
        if resuming:
            last = (read_json(run_dir / SUMMARY_FILE) or {}).get("_step")
            initial_step = int(last) + 1 if isinstance(last, int) else 0
            self._start_time = float(previous.get("start_time", self._start_time))
            self._defs = [tuple(d) for d in read_json(run_dir / METRICS_FILE) or []]  # type: ignore[misc]
        self._resolver = Resolver(lambda: self._core)
        self._core = _core.Core(
            run_dir / self._file(HISTORY_FILE),
            summary_path=run_dir / self._file(SUMMARY_FILE),
            start_time=self._start_time,
            flush_interval=settings.flush_interval,
            metric_names=settings.metric_names,
            queue_capacity=settings.queue_capacity,
            meta=self._meta("history"),
            initial_step=initial_step,
            converter=Converter(run_dir, self._resolver),
        )
        # The fast path: run.log is the native method itself, no Python frame in between.
        self.log = self._core.log  # type: ignore[method-assign]
        old_config = read_json(run_dir / CONFIG_FILE) if resuming else None
        self.config = Config(run_dir / self._file(CONFIG_FILE), old_config or {}, on_change=self._check_config)
        if config is not None:
            self.config.update(config)
        self.summary = Summary(self)
        self._info: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "project": self.project,
            "entity": self.entity,
            "group": group,
            "job_type": job_type,
            "tags": list(self.tags),
            "notes": notes,
            "state": "running",
            "start_time": self._start_time,
            "end_time": None,
            "exit_code": None,
            "shared": self.shared,
            "rank": self.rank,
            "local_rank": _env_int("LOCAL_RANK"),
            "world_size": _env_int("WORLD_SIZE"),
            **runinfo.this_process(),
        }
        runinfo.write(run_dir, self._info, self._file(runinfo.RUN_FILE))
        self._uploader = uploader.for_run(settings, run_dir)  # online mode: background sync
        self._system: Optional[Any] = None
        self._capture: Optional[Any] = None
        self._start_capture()
        _live_runs.add(self)

    def _file(self, name: str) -> str:
        return rank_file(name, self.rank, self.shared)

    def _meta(self, stream: str) -> str:
        meta = f"stream={stream};run={self.id}"
        return f"{meta};shared=1;rank={self.rank}" if self.shared else meta

    def _check_config(self, items: dict[str, Any]) -> None:
        """A rank > 0 of a shared run warns, once per key, about config values that differ from rank 0's."""
        if not (self.shared and self.rank):
            return
        primary = read_json(self._dir / CONFIG_FILE) or {}
        clashes = sorted(
            k for k, v in items.items() if k in primary and primary[k] != v and k not in self._config_warned
        )
        for k in clashes:
            self._config_warned.add(k)
            warnings.warn(
                f"config[{k!r}] = {items[k]!r} on rank {self.rank} differs from rank 0's {primary[k]!r}; "
                "the run keeps rank 0's value",
                stacklevel=4,
            )

    @staticmethod
    def _check_resume(resume: Any, run_dir: Path, previous: dict[str, Any]) -> bool:
        exists = (run_dir / HISTORY_FILE).exists()
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

    def _start_capture(self) -> None:
        s = self.settings
        if s.capture_system:
            self._system = _core.Core(
                self._dir / self._file(SYSTEM_FILE),
                start_time=self._start_time,
                flush_interval=max(s.flush_interval, 1.0),
                metric_names="off",
                queue_capacity=1024,
                meta=self._meta("system"),
                converter=Converter(None),
            )
        try:
            from .capture import Capture

            sink = self._system.log if self._system is not None else (lambda row: None)
            self._capture = Capture(self._dir, s, sink, dict(self._info))
            self._capture.start()
        except Exception as e:  # capture must never stop a training run
            warnings.warn(f"turbotrack could not start capturing system data: {e}", stacklevel=3)
            self._capture = None

    # ----------------------------------------------------------------------------------------
    # The contract's methods. `log` is replaced per instance by the native method (see __init__).

    def log(self, data: dict[str, Any], step: Optional[int] = None, commit: Optional[bool] = None) -> None:
        """Log a dict of metrics into the pending step and commit it (see ``turbotrack.log``)."""
        self._core.log(data, step, commit)

    @property
    def step(self) -> int:
        """The pending step: the step the next ``log()`` merges into."""
        return self._core.step

    @property
    def path(self) -> str:
        """``"entity/project/id"``."""
        return f"{self.entity}/{self.project}/{self.id}"

    @property
    def start_time(self) -> float:
        return self._start_time

    def define_metric(
        self,
        name: str,
        step_metric: Optional[str] = None,
        step_sync: Optional[bool] = None,
        hidden: Optional[bool] = None,
        summary: Optional[str] = None,
        goal: Optional[str] = None,
        objective: Optional[str] = None,
        overwrite: Optional[bool] = None,
    ) -> None:
        """Say how metric ``name`` (or a glob ending in ``*``) is summarised and plotted.

        ``summary``: comma-separated words among min, max, mean, first, last, best, none.
        ``best`` needs ``objective`` (or ``goal``) "minimize" or "maximize". ``step_metric`` makes
        another metric its x-axis; ``step_sync`` (default True with a step_metric) fills that
        metric's last value into rows that lack it.
        """
        if not isinstance(name, str):
            raise TypeError(f"define_metric name must be a string, got {type(name).__name__}")
        if step_metric == "_step":  # the default x-axis already
            step_metric = None
        if goal is not None and objective is not None and goal != objective:
            raise ValueError(f"goal={goal!r} and objective={objective!r} disagree; give one of them")
        self._core.define_metric(name, step_metric, step_sync, hidden, summary, objective or goal)
        self._defs = [d for d in self._defs if d[0] != name] + [(name, summary, objective or goal)]
        atomic_write_json(self._dir / self._file(METRICS_FILE), self._defs)

    def save(self, glob_str: str, base_path: Optional[str] = None, policy: str = "live") -> list[str]:
        """Copy files matching ``glob_str`` into the run's ``files/`` folder (paths relative to
        ``base_path``, default the glob's folder). Returns the copied paths."""
        if policy not in ("live", "now", "end"):
            raise ValueError(f"policy must be 'live', 'now' or 'end', got {policy!r}")
        base = Path(base_path) if base_path else Path(glob.escape(os.path.dirname(glob_str)) or ".")
        out = []
        for match in glob.glob(glob_str, recursive=True):
            src = Path(match)
            if not src.is_file():
                continue
            rel = os.path.relpath(src, base) if base_path or src.is_absolute() else src.name
            dest = self._dir / "files" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            out.append(str(dest))
        return out

    def finish(self, exit_code: Optional[int] = None, quiet: Optional[bool] = None) -> None:
        """Commit the pending step, write every file, stop capture and mark the run finished
        (``failed`` with a non-zero ``exit_code``). Calling it again does nothing."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        self._resolver.drain(timeout=60)
        if self._forked:
            self._core.finish()
            _live_runs.discard(self)
            return
        failure = self._core.finish()
        if self._capture is not None:
            try:
                self._capture.stop()
            except Exception as e:
                warnings.warn(f"turbotrack: stopping capture failed: {e}", stacklevel=2)
        if self._system is not None:
            self._system.finish()
        code = int(exit_code or 0)
        self._info.update(state="failed" if code else "finished", exit_code=code, end_time=time.time())
        runinfo.write(self._dir, self._info, self._file(runinfo.RUN_FILE))
        if self._uploader is not None:
            self._uploader.finish(self.settings.sync_timeout)
        _live_runs.discard(self)
        from . import sdk

        sdk._forget(self)
        if failure:
            warnings.warn(f"turbotrack: some data of run {self.path} could not be written: {failure}", stacklevel=2)

    def watch(
        self,
        models: Any,
        criterion: Any = None,
        log: Optional[str] = "gradients",
        log_freq: int = 1000,
        idx: Optional[int] = None,
        log_graph: bool = False,
    ) -> None:
        """``turbotrack.watch`` for this run."""
        from .watch import watch

        watch(models, criterion, log, log_freq, idx, log_graph, run=self)

    def _become_fork_child(self) -> None:
        """In a process forked after init(): the parent's writer thread did not survive the fork,
        so log to a file of this process's own, made on the first log() (none if it never logs)."""
        # The inherited objects are never touched again (a lock in them may be held forever).
        _fork_leftovers.append((self._core, self._system, self._capture))
        self._forked = True
        self._finished = False
        self._lock = threading.Lock()
        self._system = self._capture = None
        pid = os.getpid()
        meta = f"stream=history;run={self.id};shared=1;rank={self.rank};pid={pid}"
        path = self._dir / f"history.r{self.rank}.p{pid}.ttrk"
        settings = self.settings

        self._resolver = Resolver(lambda: self._core)

        def make() -> Any:
            core = _core.Core(
                path,
                start_time=self._start_time,
                flush_interval=settings.flush_interval,
                metric_names=settings.metric_names,
                queue_capacity=settings.queue_capacity,
                meta=meta,
                converter=Converter(self._dir, self._resolver),
            )
            self.log = core.log  # type: ignore[method-assign]
            # multiprocessing children end with os._exit: finish from its finalizers instead of atexit
            import multiprocessing.util

            multiprocessing.util.Finalize(self, core.finish, exitpriority=100)
            return core

        self._core = _LazyCore(make)  # type: ignore[assignment]
        self.log = self._core.log  # type: ignore[method-assign]

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.finish(exit_code=1 if exc_type is not None else 0)

    def __repr__(self) -> str:
        return f"<turbotrack Run {self.path} ({self.name}) dir={self.dir!r}>"


class DisabledRun:
    """What ``init(mode="disabled")`` returns: every call is a cheap no-op and nothing is written."""

    def __init__(self, config: Any = None, name: Optional[str] = None, id: Optional[str] = None) -> None:
        self.id = id or "disabled"
        self.name = name or "disabled"
        self.entity = "local"
        self.project = "disabled"
        self.path = f"{self.entity}/{self.project}/{self.id}"
        self.dir = os.devnull
        self.group = self.job_type = self.notes = None
        self.tags: tuple[str, ...] = ()
        self.config = Config(None, config or {})
        self.summary: dict[str, Any] = {}
        self.step = 0

    def log(self, data: Any, step: Any = None, commit: Any = None) -> None:
        """Does nothing (mode="disabled")."""

    def define_metric(self, *args: Any, **kwargs: Any) -> None:
        """Does nothing (mode="disabled")."""

    def save(self, *args: Any, **kwargs: Any) -> list[str]:
        return []

    def watch(self, *args: Any, **kwargs: Any) -> None:
        """Does nothing (mode="disabled")."""

    def finish(self, exit_code: Optional[int] = None, quiet: Optional[bool] = None) -> None:
        from . import sdk

        sdk._forget(self)

    def __enter__(self) -> DisabledRun:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish()


class _LazyCore:
    """A core made on first use (a forked child that never logs writes no file)."""

    def __init__(self, make: Any) -> None:
        self._make = make
        self._core: Any = None

    def _get(self) -> Any:
        if self._core is None:
            self._core = self._make()
        return self._core

    def log(self, data: Any, step: Optional[int] = None, commit: Optional[bool] = None) -> None:
        self._get().log(data, step, commit)

    def finish(self) -> Optional[str]:
        return None if self._core is None else self._core.finish()

    @property
    def finished(self) -> bool:
        return self._core is not None and self._core.finished

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


def _env_int(name: str) -> Optional[int]:
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else None


_fork_leftovers: list[Any] = []


def _after_fork_in_child() -> None:
    for run in list(_live_runs):
        run._become_fork_child()


os.register_at_fork(after_in_child=_after_fork_in_child)

# Runs not yet finished, finished at interpreter exit (failed if an exception escaped).
# Strong references: a run the program dropped without finish() is still finished at exit.
_live_runs: set[Run] = set()
_uncaught = False
_previous_hook = sys.excepthook


def _excepthook(tp: Any, value: Any, tb: Any) -> None:
    global _uncaught
    _uncaught = True
    _previous_hook(tp, value, tb)


sys.excepthook = _excepthook


@atexit.register
def _finish_forgotten_runs() -> None:
    for run in list(_live_runs):
        try:
            run.finish(exit_code=1 if _uncaught else 0)
        except Exception as e:  # at exit, report and go on with the others
            print(f"turbotrack: could not finish run {run.path}: {e}", file=sys.stderr)
