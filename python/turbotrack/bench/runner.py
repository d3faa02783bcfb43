"""Run one repetition of one library and workload in a fresh process, and measure it from outside.

From outside the worker: CPU seconds of the whole process tree (``getrusage(RUSAGE_CHILDREN)``
around the worker, which covers every descendant that was waited for, and a psutil sample of each
descendant for those that were not, such as a service that outlives its parent), peak RSS of the
tree (sampled), and the bytes the library left on disk. Each figure is never below what the worker
itself reports.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import signal
import stat
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Optional

import psutil

from .adapters import ADAPTERS, QUIET_ENV
from .worker import PKG_DIR, command
from .workloads import Workload

#: How often the process tree is sampled for RSS and CPU.
SAMPLE_INTERVAL_S = 0.02
#: How long processes left behind by a finished worker (a library's service) may take to exit.
STRAGGLER_GRACE_S = 10.0


@dataclasses.dataclass(frozen=True)
class Task:
    """One library and workload, with the options every repetition shares."""

    library: str
    workload: Workload
    steps: int
    data: str = "random"
    seed: int = 0
    shared_run: bool = False
    timeout_s: float = 600.0
    keep: bool = False
    tmp_root: Optional[Path] = None


@dataclasses.dataclass
class Rep:
    """What one repetition measured (``figures`` keyed as ``stats.FIGURES``)."""

    figures: dict[str, Optional[float]] = dataclasses.field(default_factory=dict)
    calls: int = 0
    points: int = 0
    applied: str = ""
    skipped: Optional[str] = None
    error: Optional[str] = None
    verified: Optional[bool] = None
    verify_note: str = ""
    workdir: Optional[Path] = None


def run_rep(task: Task, rep_index: int = 0) -> Rep:
    """Run ``task`` once in a fresh worker process; verify turbotrack's run; clean up."""
    work = Path(tempfile.mkdtemp(prefix=f"ttbench-{task.library}-{task.workload.name}-", dir=task.tmp_root))
    out, meta = work / "out", work / "meta"
    out.mkdir()
    meta.mkdir()
    try:
        rep = _measure(task, rep_index, out, meta)
        if task.library == "turbotrack" and rep.error is None and rep.skipped is None:
            from .verify import verify_turbotrack

            paths = _read_result(meta / "result.json").get("run_paths", [])
            rep.verified, rep.verify_note = verify_turbotrack(
                out, paths, task.workload, task.steps, task.data, task.seed + rep_index
            )
        rep.workdir = work if task.keep else None
        return rep
    finally:
        if not task.keep:
            _rmtree(work)


def _measure(task: Task, rep_index: int, out: Path, meta: Path) -> Rep:
    adapter = ADAPTERS[task.library]
    env = dict(os.environ)
    env.update(QUIET_ENV)
    env.update(adapter.env(out))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.path.dirname(PKG_DIR), os.environ.get("PYTHONPATH")) if p)
    args = [
        "--library", task.library,
        "--workload", task.workload.name,
        "--steps", str(task.steps),
        "--data", task.data,
        "--seed", str(task.seed + rep_index),
        "--out", str(out),
    ]  # fmt: skip
    if task.shared_run and task.library == "turbotrack" and task.workload.procs > 1:
        args += ["--shared-run-id", uuid.uuid4().hex[:8]]

    if adapter.prepares:
        res = _spawn_and_wait(task, [*args, "--prepare"], out, meta / "prepare", env, sample=False)
        if res["error"] or res["skipped"]:
            return Rep(error=res["error"], skipped=res["skipped"])

    res = _spawn_and_wait(task, args, out, meta / "result", env, sample=True)
    if res["error"] or res["skipped"]:
        return Rep(error=res["error"], skipped=res["skipped"])
    result: dict[str, Any] = res["result"]
    launched_at: float = res["launched_at"]
    points = task.workload.points(task.steps)
    disk = disk_bytes(out)
    figures: dict[str, Optional[float]] = {
        "p50_us": result["p50_us"],
        "p99_us": result["p99_us"],
        "max_us": result["max_us"],
        "loop_s": result["loop_s"],
        "startup_s": result["ready_at"] - launched_at,
        "finish_s": result["finish_s"],
        "cpu_s": max(res["cpu_s"], result.get("cpu_s_before_exit", 0.0)),
        "peak_rss_mb": max(res["peak_rss"], result.get("maxrss_bytes", 0)) / 2**20,
        "disk_bytes": float(disk),
        "bytes_per_point": disk / points if points else None,
    }
    return Rep(figures=figures, calls=result["calls"], points=points, applied=result["applied"])


def _spawn_and_wait(
    task: Task, args: list[str], out: Path, stem: Path, env: dict[str, str], sample: bool
) -> dict[str, Any]:
    """Run a worker to completion; its result, or why there is none, plus the outside figures."""
    result_path, log_path = stem.with_suffix(".json"), stem.with_suffix(".log")
    cmd = command(task.library, [*args, "--result", str(result_path)])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # perf_counter is one system-wide monotonic clock (Linux, macOS, Windows): the worker's
    # timestamps can be compared with this one.
    launched_at = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=out, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        sampler = TreeSampler(proc.pid) if sample else None
        timed_out = False
        try:
            proc.wait(timeout=task.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill_group(proc)
        if sampler is not None:
            sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rusage_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    out_: dict[str, Any] = {
        "error": None,
        "skipped": None,
        "result": None,
        "cpu_s": max(rusage_cpu, sampler.cpu_s if sampler else 0.0),
        "peak_rss": sampler.peak_rss if sampler else 0,
        "launched_at": launched_at,
    }
    if timed_out:
        out_["error"] = f"timed out after {task.timeout_s:g} s (--timeout); log: {_tail(log_path)}"
        return out_
    result = _read_result(result_path)
    if result.get("import_error"):
        out_["skipped"] = f"cannot import: {result['import_error']}; {ADAPTERS[task.library].pip}"
    elif result.get("error"):
        out_["error"] = result["error"]
    elif not result and proc.returncode != 0:
        out_["error"] = f"worker exited with {proc.returncode}; log: {_tail(log_path)}"
    out_["result"] = result
    return out_


class TreeSampler:
    """Samples a process and every descendant it ever had: the peak of their summed RSS, and each
    one's last seen CPU time (so a descendant that is never waited for still counts)."""

    def __init__(self, pid: int, interval: float = SAMPLE_INTERVAL_S) -> None:
        self._root_pid = pid
        self._known: dict[int, psutil.Process] = {}
        self._cpu: dict[int, float] = {}
        self.peak_rss = 0
        try:
            self._known[pid] = psutil.Process(pid)
        except psutil.Error:
            pass
        self._stop = threading.Event()
        self._interval = interval
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)
        self._thread.start()

    @property
    def cpu_s(self) -> float:
        return sum(self._cpu.values())

    def _loop(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self._interval):
                return

    def sample(self) -> None:
        root = self._known.get(self._root_pid)
        if root is not None:
            try:
                for child in root.children(recursive=True):
                    self._known.setdefault(child.pid, child)
            except psutil.Error:
                pass
        rss = 0
        for pid, proc in list(self._known.items()):
            try:
                with proc.oneshot():
                    mem = proc.memory_info().rss
                    times = proc.cpu_times()
            except psutil.Error:
                continue
            rss += mem
            self._cpu[pid] = times.user + times.system
        self.peak_rss = max(self.peak_rss, rss)

    def stop(self) -> None:
        """Wait (a while) for descendants left behind by the worker, end the rest, stop sampling."""
        left = [p for pid, p in self._known.items() if pid != self._root_pid and _alive(p)]
        if left:
            _, still = psutil.wait_procs(left, timeout=STRAGGLER_GRACE_S)
            for proc in still:
                try:
                    proc.kill()
                except psutil.Error:
                    pass
        self._stop.set()
        self._thread.join()


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _kill_group(proc: subprocess.Popen) -> None:
    """Kill the worker's own session (it was started with ``start_new_session``)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()
    proc.wait()


def disk_bytes(root: Path) -> int:
    """Apparent size of every regular file under ``root`` (links are not followed or counted)."""
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


def _read_result(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:]) or "(empty log)"


def _rmtree(path: Path) -> None:
    import shutil

    for _ in range(3):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.2)
