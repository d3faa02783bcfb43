"""``Run``: one run's files, its native core, and its lifecycle (init → log → finish)."""

from __future__ import annotations

import os
import random
import shutil
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Optional, Sequence

from . import _core, _hooks, _state
from ._config import Config
from ._fs import read_json
from ._metric import Metric
from ._run_wandb import RunWandb, check_tags
from ._summary import Summary
from .compat.term import termwarn
from .data_types import Converter
from .data_types.base import _tag as _media_tag
from .data_types.deferred import Resolver
from .settings import RunSettings
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


def _check_path_part(what: str, value: str) -> str:
    return layout.check_part(what, value)  # the one name rule (store/names.py), a ValueError naming `what`


class Run(RunWandb):
    """A run: what ``turbotrack.init()`` returns.

    Attributes: ``id``, ``name``, ``project``, ``entity``, ``path`` ("entity/project/id"), ``dir``
    (the folder with this run's files), ``config``, ``summary``, ``step`` (the pending step).
    Use it as a context manager to finish it (as failed when an exception escapes).
    """

    def __init__(
        self,
        *,
        settings: RunSettings,
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
        self._tags = check_tags(tags or ())
        self._notes = notes
        run_dir = root / self.entity / self.project / self.id
        self.shared = bool(settings.shared)
        if self.shared and not id:
            raise ValueError(
                'settings={"shared": True} needs id=: every process of a shared run passes the same id '
                "(e.g. one made by rank 0 and broadcast, or a name of the job)"
            )
        self.rank = int(settings.rank) if self.shared else 0
        previous = runinfo.read(run_dir) if run_dir.exists() else {}
        resuming = False if self.shared else _check_resume(resume, run_dir, previous)
        self._resumed = resuming
        self._name = (
            name or previous.get("name") or f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{self.id[:4]}"
        )
        made = not run_dir.exists()
        run_dir.mkdir(parents=True, exist_ok=True)
        self._core: Any = None
        self._system: Optional[Any] = None
        self._capture: Optional[Any] = None
        try:
            self._start(settings, run_dir, resuming, previous, config)
        except BaseException:
            self._undo_start(run_dir, made, resuming)
            raise
        _hooks.track(self)

    def _start(
        self, settings: RunSettings, run_dir: Path, resuming: bool, previous: dict[str, Any], config: Any
    ) -> None:
        """The part of ``__init__`` that writes files (undone by :meth:`_undo_start` if it fails)."""
        group, job_type, notes = self.group, self.job_type, self._notes
        self.dir = str(run_dir)
        self._dir = run_dir
        self._start_time = time.time()
        self._finished = False
        self._forked = False
        self._lock = threading.Lock()
        self._defs: list[tuple[Optional[str], ...]] = []  # metrics.json: name, summary, objective, step_metric
        self._metrics: dict[str, Metric] = {}
        self._config_warned: set[str] = set()
        initial_step = 0
        if resuming:
            last = (read_json(run_dir / layout.SUMMARY) or {}).get("_step")
            initial_step = int(last) + 1 if isinstance(last, int) else 0
            self._start_time = float(previous.get("start_time", self._start_time))
            self._defs = [tuple(d) for d in read_json(run_dir / layout.METRICS) or []]  # type: ignore[misc]
        self._resolver = Resolver(lambda: self._core)
        self._core = _core.Core(
            run_dir / self._file(layout.HISTORY),
            summary_path=run_dir / self._file(layout.SUMMARY),
            start_time=self._start_time,
            flush_interval=settings.flush_interval,
            metric_names=settings.metric_names,
            queue_capacity=settings.queue_capacity,
            meta=self._meta("history"),
            initial_step=initial_step,
            converter=_TaggedConverter(run_dir, self._resolver, self._media_tag()),
            quiet=bool(getattr(settings, "silent", False)),
        )
        # The fast path: run.log is the native method itself, no Python frame in between.
        self.log = self._core.log  # type: ignore[method-assign]
        old_config = read_json(run_dir / layout.CONFIG) if resuming else None
        self.config = Config(
            run_dir / self._file(layout.CONFIG),
            old_config or {},
            on_change=lambda items: _check_config(self, items),
            allow_val_change=settings.allow_val_change,
        )
        if config is not None:
            self.config.update(config, allow_val_change=True)  # a resumed run takes init's values
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
        runinfo.write(run_dir, self._info, self._file(layout.RUN))
        self._uploader = None
        if settings.mode == "online":  # background upload to settings.base_url (sync/uploader.py)
            from .sync.uploader import for_run

            self._uploader = for_run(settings, run_dir, self._core)
        self._start_capture()

    def _undo_start(self, run_dir: Path, made: bool, resuming: bool) -> None:
        """A failed init(): stop what was started and remove what it made (the run's folder if
        this init made it, else its new history), so that a retry with the same id starts afresh
        instead of finding a half-made run. A shared run's folder holds other ranks' files: kept."""
        for stop in (
            getattr(self._capture, "stop", None),
            getattr(self._system, "finish", None),
            getattr(self._core, "finish", None),
        ):
            try:
                if stop is not None:
                    stop()
            except Exception:
                pass
        if self.shared or resuming:
            return
        if made:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:  # the folder was there without a history (else init refused): the history is this init's
            for name in (layout.HISTORY, layout.SYSTEM):
                try:
                    (run_dir / name).unlink()
                except OSError:
                    pass

    def _media_tag(self) -> str:
        """What names this process's media files apart from other processes' in the same run."""
        if self._forked:
            return f"r{self.rank}p{os.getpid()}"
        return f"r{self.rank}" if self.shared else ""

    def _file(self, name: str) -> str:
        return layout.ranked(name, self.rank, self.shared)

    def _meta(self, stream: str) -> str:
        meta = f"stream={stream};run={self.id}"
        return f"{meta};shared=1;rank={self.rank}" if self.shared else meta

    def _start_capture(self) -> None:
        s = self.settings
        if s.capture_system:
            self._system = _core.Core(
                self._dir / self._file(layout.SYSTEM),
                start_time=self._start_time,
                flush_interval=max(s.flush_interval or 1.0, 1.0),
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
    def start_time(self) -> float:
        return self._start_time

    def finish(self, exit_code: Optional[int] = None, quiet: Optional[bool] = None) -> None:
        """Commit the pending step, write every file, stop capture and mark the run finished
        (``failed`` with a non-zero ``exit_code``). Calling it again does nothing once it succeeded;
        if it failed (a full disk, say: ``turbotrack.Error`` says what), calling it again retries."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        try:
            self._finish(exit_code)
        except BaseException:
            with self._lock:
                self._finished = False  # still finishable: a second finish() retries what failed
            raise

    def _finish(self, exit_code: Optional[int]) -> None:
        self._resolver.drain(timeout=60)
        if self._forked:
            self._core.finish()
            _hooks.untrack(self)
            return
        failure = self._core.finish()  # every step up to the run.json write is idempotent
        if self._capture is not None:
            try:
                self._capture.stop()
            except Exception as e:
                warnings.warn(f"turbotrack: stopping capture failed: {e}", stacklevel=3)
        if self._system is not None:
            self._system.finish()
        code = int(exit_code or 0)
        info = {**self._info, "state": "failed" if code else "finished", "exit_code": code, "end_time": time.time()}
        name = self._file(layout.RUN)
        try:
            runinfo.write(self._dir, info, name)
        except OSError as e:
            raise _core.Error(
                f"turbotrack could not finish run {self.path}: writing {self._dir / name} failed ({e}); "
                "the run stays 'running' on disk. Free space (or fix the folder) and call finish() again to retry"
            ) from e
        self._info = info
        if self._uploader is not None:
            self._uploader.finish(self.settings.sync_timeout)
        _hooks.untrack(self)
        _state.forget(self)
        if failure:
            warnings.warn(f"turbotrack: some data of run {self.path} could not be written: {failure}", stacklevel=3)

    def _become_fork_child(self) -> None:
        """In a process forked after init(): the parent's writer thread did not survive the fork,
        so log to a file of this process's own, made on the first log() (none if it never logs)."""
        # The inherited objects are never touched again (a lock in them may be held forever).
        _hooks.keep_forever((self._core, self._system, self._capture))
        self._forked = True
        self._finished = False
        self._lock = threading.Lock()
        self._system = self._capture = None
        pid = os.getpid()
        meta = f"stream=history;run={self.id};shared=1;rank={self.rank};pid={pid}"
        path = self._dir / layout.forked_history(self.rank, pid)
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
                converter=_TaggedConverter(self._dir, self._resolver, self._media_tag()),
                quiet=bool(getattr(settings, "silent", False)),
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
        self.finish(exit_code=0 if exc_type is None else _hooks.exit_status(exc) if isinstance(exc, SystemExit) else 1)

    def __repr__(self) -> str:
        return f"<turbotrack Run {self.path} ({self.name}) dir={self.dir!r}>"


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


def _check_config(run: Run, items: dict[str, Any]) -> None:
    """A rank > 0 of a shared run warns, once per key, about config values that differ from rank 0's."""
    if not (run.shared and run.rank):
        return
    primary = read_json(run._dir / layout.CONFIG) or {}
    clashes = sorted(k for k, v in items.items() if k in primary and primary[k] != v and k not in run._config_warned)
    for k in clashes:
        run._config_warned.add(k)
        termwarn(
            f"config[{k!r}] = {items[k]!r} on rank {run.rank} differs from rank 0's {primary[k]!r}; "
            "the run keeps rank 0's value"
        )


def _check_resume(resume: Any, run_dir: Path, previous: dict[str, Any]) -> bool:
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


class _TaggedConverter(Converter):
    """The run's converter: media files it writes carry this process's tag (see data_types.base)."""

    def __init__(self, run_dir: Path, resolver: Resolver, tag: str) -> None:
        super().__init__(run_dir, resolver)
        self._tag = tag

    def __call__(self, name: str, value: Any, step: int = 0) -> Any:
        if not self._tag:
            return super().__call__(name, value, step)
        token = _media_tag.set(self._tag)
        try:
            return super().__call__(name, value, step)
        finally:
            _media_tag.reset(token)
