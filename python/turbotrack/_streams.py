"""A run's streams: its history core (``run.log`` is that core's own method), its system-metrics core,
the converter and GPU-scalar resolver in front of the history, and their rebirth in a forked child."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Optional

from . import _core
from ._run_files import RunFiles
from .data_types import Converter
from .data_types.base import _tag as _media_tag
from .data_types.deferred import Resolver
from .settings import RunSettings
from .store import layout

#: Told the history core's ``log`` whenever the history core changes (``Run`` binds it as ``run.log``).
BindLog = Callable[[Callable[..., None]], None]


class Streams:
    """The native cores of one run in one process. ``history`` is a ``turbotrack._core.Core`` (in a child
    forked after ``init()``: a :class:`LazyCore` making the child's own file on its first ``log()``);
    ``system`` is the core capture feeds (``None`` until :meth:`start_system`, or without system capture)."""

    def __init__(
        self,
        files: RunFiles,
        settings: RunSettings,
        start_time: float,
        initial_step: int,
        bind_log: BindLog,
    ) -> None:
        self._files = files
        self._settings = settings
        self._bind_log = bind_log
        self.start_time = start_time
        #: Whether this process is a child forked after ``init()`` (it writes files of its own).
        self.forked = False
        self.system: Optional[Any] = None
        self.history: Any = None
        self.resolver = Resolver(lambda: self.history)
        self.history = _core.Core(
            files.path_of(layout.HISTORY),
            summary_path=files.path_of(layout.SUMMARY),
            start_time=start_time,
            flush_interval=settings.flush_interval,
            metric_names=settings.metric_names,
            queue_capacity=settings.queue_capacity,
            meta=files.meta("history"),
            initial_step=initial_step,
            converter=self._converter(),
            quiet=bool(getattr(settings, "silent", False)),
        )
        bind_log(self.history.log)

    def _converter(self) -> Converter:
        return _TaggedConverter(self._files.dir, self.resolver, self.media_tag())

    def media_tag(self) -> str:
        """What names this process's media files apart from other processes' in the same run."""
        if self.forked:
            return f"r{self._files.rank}p{os.getpid()}"
        return f"r{self._files.rank}" if self._files.shared else ""

    def start_system(self) -> Optional[Any]:
        """Start the system-metrics core if the settings capture system metrics; returns it (or None)."""
        s = self._settings
        if s.capture_system:
            self.system = _core.Core(
                self._files.path_of(layout.SYSTEM),
                start_time=self.start_time,
                flush_interval=max(s.flush_interval or 1.0, 1.0),
                metric_names="off",
                queue_capacity=1024,
                meta=self._files.meta("system"),
                converter=Converter(None),
            )
        return self.system

    def drain(self, timeout: Optional[float] = None) -> None:
        """Wait until the GPU scalars logged so far reached the history core."""
        self.resolver.drain(timeout=timeout)

    def finish_history(self) -> Optional[str]:
        """Commit the pending step and close the history (idempotent); what could not be written, if anything."""
        failure: Optional[str] = self.history.finish()
        return failure

    def finish_system(self) -> None:
        if self.system is not None:
            self.system.finish()

    def stop(self) -> None:
        """Stop both cores, ignoring what fails (a failed ``init()`` undoing itself)."""
        for core in (self.system, self.history):
            try:
                if core is not None:
                    core.finish()
            except Exception:
                pass

    def become_fork_child(self) -> tuple[Any, ...]:
        """In a process forked after ``init()``: the parent's writer threads did not survive the fork, so
        log to a file of this process's own, made on the first ``log()`` (none if it never logs). Returns
        the inherited cores, which must be kept and never touched again (a lock in them may be held)."""
        inherited = (self.history, self.system)
        self.forked = True
        self.system = None
        files, settings = self._files, self._settings
        path = files.dir / layout.forked_history(files.rank, os.getpid())
        meta = files.meta("history", pid=os.getpid())
        self.resolver = Resolver(lambda: self.history)

        def make() -> Any:
            core = _core.Core(
                path,
                start_time=self.start_time,
                flush_interval=settings.flush_interval,
                metric_names=settings.metric_names,
                queue_capacity=settings.queue_capacity,
                meta=meta,
                converter=self._converter(),
                quiet=bool(getattr(settings, "silent", False)),
            )
            self._bind_log(core.log)
            # multiprocessing children end with os._exit: finish from its finalizers instead of atexit
            import multiprocessing.util

            multiprocessing.util.Finalize(self, core.finish, exitpriority=100)
            return core

        self.history = LazyCore(make)
        self._bind_log(self.history.log)
        return inherited


class LazyCore:
    """A core made on first use (a forked child that never logs writes no file)."""

    def __init__(self, make: Callable[[], Any]) -> None:
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
