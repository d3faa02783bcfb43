"""The capture helper: a process beside the run that does capture's Python-heavy work — git
state and ``diff.patch``, GPU names, ``metadata.json``, ``requirements.txt`` and, for the whole
run, the system-metrics sampling (psutil, NVML) — so that none of it runs in the training process.

Why a process. This work is Python (importing psutil and pynvml, scanning every installed
distribution's metadata, parsing git's and /proc's answers): tens of milliseconds at start, more
in a big environment, and a sample every ``system_interval``. On a thread of the training process
it holds the GIL in 5 ms turns (``sys.getswitchinterval()``) while the training loop waits: the
first second of every run had dozens of ``log()`` calls (and training steps) stalled 0.1-12 ms
each (benches/tail.py; RESULTS.md section 26). With the helper the training process only waits on
a pipe, and takes each system row (one JSON line) into the system stream. The helper runs at the
lowest priority (nice 19, never real-time), so it yields its core to the training.

The protocol. A capture thread (``turbotrack-capture``) starts ``python -I -S _helper_program.py`` (with
fork, see :mod:`.spawn`), writes one JSON line (a :class:`Job`) to its stdin and reads JSON lines
back: ``{"warn": key, "message": text}`` for a part that failed (warned once, as in-process),
``{"done": part}`` for each one-off part finished, ``{"row": {...}}`` for each system sample. The
helper exits once its one-off parts are done and, when it samples, its stdin is closed
(:meth:`Helper.stop`, from ``Capture.stop()``) or its parent died. A helper that cannot be
started, or that exits early, leaves the rest to the capture thread, which does it in-process
(:func:`collect` and ``SystemSampler``, the same code), with one warning: nothing is lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import Any, Callable, Optional

from . import metadata as _metadata
from . import spawn
from ._warn import part
from .gpu import GpuInfo

Warn = Callable[..., None]

#: The helper's program (see that file), run as ``python -I -S PROGRAM turbotrack-capture RUN_ID``
#: so that ``ps`` names it.
PROGRAM = Path(__file__).with_name("_helper_program.py")

#: The parts a job may hold, in the order they are done.
PARTS = ("metadata", "diff", "requirements")


class Job:
    """What the helper is to do (JSON-able: it is sent to the helper).

    ``metadata`` / ``diff`` / ``requirements`` are the files to write (``None``: that part is off);
    ``cwd`` is the working directory git is asked about (``None``: git capture is off or the
    directory is gone); ``start`` and ``run_info`` go into metadata.json as they are; ``system``
    is ``{"interval", "pid", "disk"}`` when the helper samples system metrics (of process ``pid``,
    and the disk holding ``disk``), else ``None``.
    """

    FIELDS = ("start", "run_info", "cwd", "metadata", "diff", "requirements", "system")

    def __init__(
        self,
        start: dict[str, Any],
        run_info: dict[str, Any],
        cwd: Optional[str] = None,
        metadata: Optional[str] = None,
        diff: Optional[str] = None,
        requirements: Optional[str] = None,
        system: Optional[dict[str, Any]] = None,
    ) -> None:
        self.start, self.run_info, self.cwd = start, run_info, cwd
        self.metadata, self.diff, self.requirements = metadata, diff, requirements
        self.system = system

    def parts(self) -> list[str]:
        """The one-off parts this job asks for."""
        return [p for p in PARTS if getattr(self, p) is not None]

    def empty(self) -> bool:
        return not self.parts() and self.system is None

    def message(self) -> dict[str, Any]:
        """The job as the helper reads it."""
        return {f: getattr(self, f) for f in self.FIELDS}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Job:
        return cls(**{f: message[f] for f in cls.FIELDS if f in message})


def collect(
    job: Job,
    warn: Warn,
    done: Callable[[str], None],
    skip: frozenset[str] = frozenset(),
    gpus: Optional[Callable[[], GpuInfo]] = None,
) -> None:
    """Do every one-off part of ``job`` not in ``skip``, here; ``done(part)`` after each (also when
    it failed and warned). ``gpus`` gives the GPUs (a probe shared with a sampler); without it they
    are probed for metadata.json and released after. Never raises."""
    from .git import git_info, write_diff
    from .gpu import probe

    wanted = [p for p in job.parts() if p not in skip]
    repo = Path(job.cwd) if job.cwd else None
    needs_git = repo is not None and ("metadata" in wanted or "diff" in wanted)
    git = part(warn, "git", lambda: git_info(repo)) if needs_git and repo is not None else None
    if "metadata" in wanted and job.metadata is not None:
        path = Path(job.metadata)
        info = part(warn, "gpu", gpus or (lambda: probe(warn)))
        part(warn, "metadata", lambda: _metadata.write(path, _metadata.build(job.start, job.run_info, git, info)))
        if gpus is None and info is not None:
            part(warn, "gpu-close", info.close)
        done("metadata")
    if "diff" in wanted and job.diff is not None:
        target = Path(job.diff)
        if repo is not None and git is not None:
            part(warn, "diff", lambda: write_diff(repo, target))
        done("diff")
    if "requirements" in wanted and job.requirements is not None:
        from .requirements import write_requirements

        target = Path(job.requirements)
        part(warn, "requirements", lambda: write_requirements(target))
        done("requirements")


#: The helpers of this process whose pipes are open (see :func:`_after_fork_in_child`).
_live: weakref.WeakSet[Helper] = weakref.WeakSet()
_fork_hook = False


def _after_fork_in_child() -> None:
    """A process forked from the run's (a DataLoader worker, say) must not hold the helper's pipes:
    while a copy of the helper's stdin stays open the helper never sees it close, and would go on
    sampling after the run finished (and ``finish()`` would wait for it). Each is pointed at
    /dev/null, so the objects that own them stay valid and harmless."""
    for helper in list(_live):
        helper._forked_away()


class Helper:
    """The parent's side of one helper process. :meth:`run` is the body of the capture thread;
    :meth:`stop` and :meth:`kill` come from ``Capture.stop()``.

    ``sink(row)`` takes each system row; ``fallback_sampler()`` starts an in-process sampler when
    the helper cannot sample (it could not start, or exited while the run goes on)."""

    def __init__(
        self,
        job: Job,
        warn: Warn,
        done: Callable[[str], None],
        sink: Callable[[dict[str, float]], None],
        fallback_sampler: Callable[[], None],
    ) -> None:
        self.job, self._warn, self._done, self._sink = job, warn, done, sink
        self._fallback_sampler = fallback_sampler
        self._finished: set[str] = set()
        self._lock = threading.Lock()
        self._proc: Optional[subprocess.Popen[bytes]] = None
        self._stopping = False  # stop() was called: the helper's exit is expected
        self._killed = False  # kill() was called: nothing more is done here
        #: Set once the capture thread waits on the helper's pipe (or does its work here):
        #: ``Capture.start()`` waits for it, so the thread's start-up does not take the GIL from
        #: the first ``log()`` calls.
        self.ready = threading.Event()

    def launch(self) -> None:
        """Start the helper and hand it the job, on the calling thread (``Capture.start()``, in
        ``init()``): the fork then holds the GIL inside ``init()``, not during the first steps of
        the training loop. Never raises."""
        try:
            self._start()
        except Exception as exc:
            self._warn("capture-helper", f"the capture helper process could not start ({exc!r}); capturing in-process")

    def run(self) -> None:
        """Take the messages of the helper :meth:`launch` started until it exits; then do here what
        it left undone (everything, when it did not start). Never raises."""
        try:
            self._run()
        except Exception as exc:  # a bug here must not reach the run: one warning
            self._warn("capture-helper", f"capture's helper thread failed: {exc!r}")
        finally:
            self.ready.set()

    def _run(self) -> None:
        proc = self._proc
        if proc is None:
            self.ready.set()
        else:
            tail, code = self._talk(proc)
            missing = [p for p in self.job.parts() if p not in self._finished]
            quits = self.job.system is not None and not self._stopping
            if (missing or quits) and not self._killed:
                what = ", ".join(missing + (["system metrics"] if quits else []))
                text = tail.decode("utf-8", "replace").strip()[-500:]
                self._warn(
                    "capture-helper", f"the capture helper process exited ({code}); {what} go on in-process: {text}"
                )
        if self._killed:
            return
        if self.job.system is not None and (proc is None or not self._stopping):
            self._fallback_sampler()
        if any(p not in self._finished for p in self.job.parts()):
            collect(self.job, self._warn, self._mark, skip=frozenset(self._finished))

    def stop(self) -> None:
        """The run is finishing: the helper stops sampling and exits once its one-off parts are done."""
        with self._lock:
            self._stopping = True
            if self._proc is not None and self._proc.stdin is not None:
                try:
                    self._proc.stdin.close()
                except (OSError, ValueError):
                    pass

    def kill(self) -> None:
        """Give up on the helper (it took too long): kill it; nothing more is done in-process."""
        with self._lock:
            self._killed = True
            proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()

    def _start(self) -> Optional[subprocess.Popen[bytes]]:
        try:
            proc = spawn.popen(
                [sys.executable, "-I", "-S", str(PROGRAM), "turbotrack-capture", str(self.job.run_info.get("id", ""))],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except Exception as exc:  # no usable interpreter (an embedded Python): do it here
            self._warn("capture-helper", f"the capture helper process could not start ({exc!r}); capturing in-process")
            return None
        global _fork_hook
        if not _fork_hook and hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _fork_hook = True
        _live.add(self)
        message = {**self.job.message(), "path": list(sys.path), "package": _package_dir()}
        with self._lock:  # stop() closes stdin: not while the job is being written
            self._proc = proc
            assert proc.stdin is not None
            try:
                proc.stdin.write(json.dumps(message, default=str).encode() + b"\n")  # as metadata.json
                proc.stdin.flush()
                if self.job.system is None or self._stopping:
                    proc.stdin.close()
            except (OSError, ValueError):  # it died at once: its output says why
                pass
        return proc

    def _talk(self, proc: subprocess.Popen[bytes]) -> tuple[bytes, Optional[int]]:
        """Handle the helper's messages until it closes its end; the last bytes of anything else it
        wrote (a traceback, for the warning if it failed) and its exit code."""
        assert proc.stdout is not None
        tail = b""
        try:
            self.ready.set()
            for line in proc.stdout:
                try:
                    msg = json.loads(line)
                except ValueError:
                    msg = None
                if not isinstance(msg, dict):
                    tail = (tail + line)[-2000:]
                elif "row" in msg:
                    self._take(msg["row"])
                elif "warn" in msg:
                    self._warn(str(msg["warn"]), str(msg.get("message", "")))
                elif msg.get("done") in PARTS:
                    self._mark(str(msg["done"]))
        except Exception as exc:
            tail += repr(exc).encode()
        finally:
            _live.discard(self)
            proc.stdout.close()
            with self._lock:
                try:
                    if proc.stdin is not None:
                        proc.stdin.close()
                except (OSError, ValueError):
                    pass
        return tail, proc.wait()

    def _forked_away(self) -> None:
        """In a forked child: point this helper's pipes at /dev/null (see :func:`_after_fork_in_child`)."""
        proc = self._proc
        if proc is None:
            return
        for stream in (proc.stdin, proc.stdout):
            try:
                if stream is not None and not stream.closed:
                    null = os.open(os.devnull, os.O_RDWR)
                    os.dup2(null, stream.fileno())
                    os.close(null)
            except (OSError, ValueError):
                pass

    def _take(self, row: Any) -> None:
        if not isinstance(row, dict):
            return
        try:
            self._sink({str(k): float(v) for k, v in row.items()})
        except Exception as exc:
            self._warn("system-sink", f"recording system metrics failed: {exc!r}")

    def _mark(self, name: str) -> None:
        self._finished.add(name)
        self._done(name)


def _package_dir() -> str:
    return str(Path(__file__).resolve().parents[1])


def helper_main(message: dict[str, Any]) -> None:
    """The helper's side: do the job, telling the parent on the stdout it was started with
    (stdout itself goes to /dev/null, so nothing a library prints is taken for a message); when
    it samples, until its stdin closes (the run's stop, or its death)."""
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    job = Job.from_message(message)
    lock = threading.Lock()

    def send(msg: dict[str, Any]) -> None:
        with lock:
            try:
                out.write(json.dumps(msg) + "\n")
                out.flush()
            except (OSError, ValueError):  # the parent is gone: finish the files all the same
                pass

    def warn(key: str, text: str, **_: Any) -> None:
        send({"warn": key, "message": text})

    from .gpu import SharedProbe

    probe = SharedProbe(warn)
    sampler = None
    if job.system is not None:
        from .system import SystemSampler

        system = job.system
        sampler = SystemSampler(
            lambda row: send({"row": row}),
            float(system["interval"]),
            probe,
            warn,
            Path(system["disk"]),
            pid=int(system["pid"]),
        )
        sampler.start()
    collect(job, warn, lambda p: send({"done": p}), gpus=probe.get)
    if sampler is not None:
        sys.stdin.read()  # until the parent closes it, or dies
        sampler.stop()
    probe.close()
    with lock:
        try:
            out.close()
        except OSError:
            pass
