"""System metrics: a daemon thread samples CPU, memory, disk, network and GPUs into a stream (in
the capture helper process, for the run's process: see capture/helper.py).

Names follow wandb's (all floats):

==============================  ==========================================================
``system.cpu``                  machine CPU utilisation, % (all cores: 100 = every core busy)
``system.memory``               machine memory in use, %
``system.proc.memory.rssMB``    the run's process's resident memory, MB (2**20 bytes)
``system.proc.memory.percent``  the run's process's resident memory, % of the machine's
``system.proc.memory.availableMB`` memory available to start new work, MB
``system.proc.cpu.percent``     the run's process's CPU use, % of one core (may exceed 100)
``system.proc.cpu.threads``     the run's process's thread count
``system.disk``                 use of the disk that holds the run folder, %
``system.disk.in``              MB read from disks since capture started
``system.disk.out``             MB written to disks since capture started
``system.network.sent``         bytes sent since capture started
``system.network.recv``         bytes received since capture started
``system.gpu.<i>.*``            per GPU; see :mod:`turbotrack.capture.gpu`
==============================  ==========================================================

Each group of readings fails on its own: a missing counter (no disks in a container, say) leaves
its keys out of the rows, with one warning for an unexpected error.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

from .gpu import SharedProbe

Warn = Callable[..., None]
Sink = Callable[[dict[str, float]], None]
#: The first sample comes this many seconds after start, or one interval if that is shorter.
FIRST_SAMPLE_AFTER = 1.0
#: How long stop() waits for the sampler thread.
STOP_TIMEOUT = 5.0
_MB = 1024.0 * 1024.0


class SystemSampler:
    """Calls ``sink(row)`` every ``interval`` seconds from a daemon thread until :meth:`stop`."""

    def __init__(
        self, sink: Sink, interval: float, gpus: SharedProbe, warn: Warn, disk_path: Path, pid: Optional[int] = None
    ) -> None:
        self._sink = sink
        self._pid = os.getpid() if pid is None else pid  # whose ``system.proc.*`` (the helper samples its parent)
        self._interval = float(interval)
        self._gpus = gpus
        self._warn = warn
        self._disk_path = str(disk_path)
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._psutil: Any = None
        self._process: Any = None
        self._disk0: Any = None
        self._net0: Any = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="turbotrack-system", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Wake the thread and wait for it (bounded). Idempotent."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(STOP_TIMEOUT)

    def _run(self) -> None:
        try:
            self._prime()
        except Exception as exc:
            self._warn("system-start", f"system metrics are off: {exc!r}")
            return
        delay = min(self._interval, FIRST_SAMPLE_AFTER)
        while not self._stop.wait(delay):
            began = time.monotonic()
            row = self.sample()
            if row and not self._stop.is_set():
                try:
                    self._sink(row)
                except Exception as exc:
                    self._warn("system-sink", f"recording system metrics failed: {exc!r}")
            delay = max(0.0, self._interval - (time.monotonic() - began))

    def _prime(self) -> None:
        """Import psutil and take the baselines that percentages and "since start" counters need."""
        import psutil

        self._psutil = psutil
        self._process = psutil.Process(self._pid)
        psutil.cpu_percent(interval=None)
        self._process.cpu_percent(interval=None)
        self._disk0 = self._group("disk-io", psutil.disk_io_counters)
        self._net0 = self._group("network", psutil.net_io_counters)
        self._gpus.get()

    def _group(self, name: str, call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:
            self._warn(f"system-{name}", f"reading {name} metrics failed: {exc!r}")
            return None

    def sample(self) -> dict[str, float]:
        """One row of every reading available now."""
        ps = self._psutil
        row: dict[str, float] = {}

        def machine() -> None:
            row["system.cpu"] = float(ps.cpu_percent(interval=None))
            mem = ps.virtual_memory()
            row["system.memory"] = float(mem.percent)
            row["system.proc.memory.availableMB"] = mem.available / _MB

        def process() -> None:
            with self._process.oneshot():
                row["system.proc.memory.rssMB"] = self._process.memory_info().rss / _MB
                row["system.proc.memory.percent"] = float(self._process.memory_percent())
                row["system.proc.cpu.percent"] = float(self._process.cpu_percent(interval=None))
                row["system.proc.cpu.threads"] = float(self._process.num_threads())

        def disk() -> None:
            row["system.disk"] = float(ps.disk_usage(self._disk_path).percent)
            now = ps.disk_io_counters()
            if now is not None and self._disk0 is not None:
                row["system.disk.in"] = (now.read_bytes - self._disk0.read_bytes) / _MB
                row["system.disk.out"] = (now.write_bytes - self._disk0.write_bytes) / _MB

        def network() -> None:
            now = ps.net_io_counters()
            if now is not None and self._net0 is not None:
                row["system.network.sent"] = float(now.bytes_sent - self._net0.bytes_sent)
                row["system.network.recv"] = float(now.bytes_recv - self._net0.bytes_recv)

        def gpus() -> None:
            row.update(self._gpus.get().sample())

        for name, group in (
            ("machine", machine),
            ("process", process),
            ("disk", disk),
            ("network", network),
            ("gpu", gpus),
        ):
            self._group(name, group)
        return row
