"""Automatic capture for a run: console output, system metrics, git, packages, metadata.

The run builds one :class:`Capture` in ``init()`` and stops it in ``finish()``::

    cap = Capture(run_dir, settings, system_sink, run_info)
    cap.start()  # fast: the slow parts run on daemon threads
    ...
    cap.stop()   # idempotent; bounded waits; the files are complete afterwards

Each part is switched by a setting (``capture_stdout``, ``capture_system``, ``capture_git``,
``capture_requirements``, ``capture_metadata``). A part that fails warns once (:class:`CaptureWarning`) and the run goes
on. See docs/capture.md for what is stored and in which form.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

from ..store import layout
from . import helper as _helper
from . import metadata as _metadata
from ._warn import CaptureWarning, WarnOnce, part
from .console import Console
from .gpu import SharedProbe
from .outputlog import OutputLog
from .system import SystemSampler

__all__ = ["Capture", "CaptureFiles", "CaptureWarning"]

#: How long stop() waits, in all, for the metadata / git / requirements threads.
STOP_TIMEOUT = 20.0
#: How long start() waits for the capture thread to be listening to the helper.
READY_TIMEOUT = 1.0


@dataclasses.dataclass(frozen=True)
class CaptureFiles:
    """Where capture writes, inside the run folder.

    Rank ``k > 0`` of a shared run writes ``output.r<k>.log`` and ``metadata.r<k>.json``, and leaves
    ``requirements.txt`` and ``diff.patch`` to rank 0.
    """

    output: Path
    metadata: Path
    requirements: Path
    diff: Path

    @classmethod
    def for_rank(cls, run_dir: Path, rank: int) -> CaptureFiles:
        return cls(
            output=run_dir / layout.ranked(layout.OUTPUT, rank, shared=True),
            metadata=run_dir / layout.ranked(layout.METADATA, rank, shared=True),
            requirements=run_dir / layout.REQUIREMENTS,
            diff=run_dir / layout.DIFF,
        )


class Capture:
    """Everything captured automatically for one run in one process."""

    def __init__(
        self,
        run_dir: Path,
        settings: Any,
        system_sink: Callable[[dict[str, float]], None],
        run_info: dict[str, Any],
    ) -> None:
        self.run_dir = Path(run_dir)
        self.settings = settings
        self._sink = system_sink
        self._run_info = dict(run_info)
        rank = int(self._run_info.get("rank", getattr(settings, "rank", 0)) or 0)
        self._primary = not (getattr(settings, "shared", False) and rank)
        #: The files this capture writes.
        self.files = CaptureFiles.for_rank(self.run_dir, 0 if self._primary else rank)
        self._warn = WarnOnce()
        self._gpus = SharedProbe(self._warn)
        self._lock = threading.Lock()
        self._state = "new"
        self._pid = os.getpid()
        self._console: Optional[Console] = None
        self._sampler: Optional[SystemSampler] = None
        self._threads: list[threading.Thread] = []
        self._start_info: dict[str, Any] = {}
        self._helper: Optional[_helper.Helper] = None  # the helper process's parent side
        self._metadata_written = threading.Event()

    @property
    def console_mode(self) -> Optional[str]:
        """How stdout/stderr are captured: ``"fd"``, ``"python"``, ``"fd+python"`` or ``None``."""
        return self._console.mode if self._console is not None else None

    def start(self) -> None:
        """Start every enabled capture. Returns quickly; never raises (a failing part warns)."""
        with self._lock:
            if self._state != "new":
                return
            self._state = "started"
        self._pid = os.getpid()
        atexit.register(self.stop)  # a run never finished must still give the terminal back
        self._start_info = self._part("metadata", lambda: _metadata.snapshot(self._run_info, time.time())) or {
            "startedAt": _metadata.iso_time(time.time())
        }
        cwd = Path(self._start_info["cwd"]) if self._start_info.get("cwd") else None
        self._part("run-dir", lambda: self.run_dir.mkdir(parents=True, exist_ok=True))
        if getattr(self.settings, "capture_stdout", True):
            self._part("console", self._start_console)
        job = self._job(cwd)
        if not job.empty():  # git, GPUs, metadata.json, requirements.txt, system metrics: the helper
            self._helper = _helper.Helper(job, self._warn, self._done, self._sink, self._fallback_sampler)
            self._helper.launch()
            self._spawn("turbotrack-capture", self._helper.run)
            self._helper.ready.wait(READY_TIMEOUT)
            if not self._threads and job.system is not None:  # no thread could start: sample here
                self._fallback_sampler()

    def stop(self) -> None:
        """Stop capturing and complete the files. Idempotent, bounded, never raises.

        In a process forked after :meth:`start` it does nothing: the parent owns the files.
        """
        with self._lock:
            if self._state != "started":
                self._state = "stopped"
                return
            self._state = "stopped"
        if os.getpid() != self._pid:
            return
        atexit.unregister(self.stop)
        if self._helper is not None:
            self._helper.stop()
        self._stop_sampler()
        deadline = time.monotonic() + STOP_TIMEOUT
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._helper is not None and any(t.is_alive() for t in self._threads):
            self._part("helper-kill", self._helper.kill)  # stuck (a git that hangs): give up on it
            for thread in self._threads:
                thread.join(1.0)
        self._stop_sampler()  # one the capture thread started meanwhile
        if not self._metadata_written.is_set() and getattr(self.settings, "capture_metadata", True):
            self._warn("metadata-late", "metadata.json was written before git/GPU details were known")
            self._part("metadata", self._write_metadata)
        if not any(t.is_alive() for t in self._threads):
            self._part("gpu-close", self._gpus.close)
        else:
            self._warn(
                "stop-late",
                "some capture threads did not finish in time; their files may be missing",
            )
        if self._console is not None:
            self._part("console-stop", self._console.stop)
        self._warn.flush()

    # -- the parts -------------------------------------------------------------------------------

    def _start_console(self) -> None:
        log = OutputLog(self.files.output)
        console = Console(log, self._warn)
        try:
            console.start()
        except BaseException:
            log.close()
            raise
        self._console = console

    def _fallback_sampler(self) -> None:
        """Sample system metrics on a thread here: the helper cannot (it could not start, or
        exited while the run goes on)."""
        with self._lock:
            if self._state != "started" or self._sampler is not None:
                return
            sampler = SystemSampler(self._sink, self.settings.system_interval, self._gpus, self._warn, self.run_dir)
            self._sampler = sampler
        self._part("system", sampler.start)

    def _stop_sampler(self) -> None:
        with self._lock:
            sampler, self._sampler = self._sampler, None
        if sampler is not None:
            self._part("system-stop", sampler.stop)

    def _job(self, cwd: Optional[Path]) -> _helper.Job:
        """What the helper is to do, as the settings say (see capture/helper.py)."""
        s = self.settings
        meta = getattr(s, "capture_metadata", True)  # off with wandb's x_disable_meta
        git = meta and getattr(s, "capture_git", True) and cwd is not None
        system = getattr(s, "capture_system", True)
        return _helper.Job(
            start=self._start_info,
            run_info=self._run_info,
            cwd=str(cwd) if git else None,
            metadata=str(self.files.metadata) if meta else None,
            diff=str(self.files.diff) if git and self._primary else None,
            requirements=str(self.files.requirements)
            if getattr(s, "capture_requirements", True) and self._primary
            else None,
            system={"interval": float(s.system_interval), "pid": os.getpid(), "disk": str(self.run_dir)}
            if system
            else None,
        )

    def _done(self, part: str) -> None:
        if part == "metadata":
            self._metadata_written.set()

    def _write_metadata(self) -> None:
        """metadata.json with what the run's process knows (the helper did not write it in time)."""
        meta = _metadata.build(self._start_info, self._run_info, None, None)
        _metadata.write(self.files.metadata, meta)

    # -- helpers -----------------------------------------------------------------------------------

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        try:
            thread.start()
        except Exception as exc:  # RuntimeError: can't start new thread
            self._warn(name, f"{name} capture failed and is skipped: {exc!r}")
            return
        self._threads.append(thread)

    def _part(self, key: str, call: Callable[[], Any]) -> Any:
        """Run ``call``; on an exception warn once (keyed ``key``) and return ``None``."""
        return part(self._warn, key, call)
