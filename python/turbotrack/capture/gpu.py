"""NVIDIA GPUs: device names for metadata and per-GPU metrics for the system stream.

In-process through NVML (``import pynvml``, from nvidia-ml-py) when it loads; else by running
``nvidia-smi --query-gpu=... --format=csv,noheader,nounits`` when it is on PATH; else no GPUs.
A query a device does not support is left out of its rows. Keys are ``system.gpu.<i>.<name>``:

=========================  ===========================================
``gpu``                    utilisation, %
``memory``                 memory-controller utilisation, %
``memoryAllocated``        memory used / memory total, %
``memoryAllocatedBytes``   memory used, bytes
``memoryTotalBytes``       memory total, bytes
``temp``                   temperature, C
``powerWatts``             power draw, W
``enforcedPowerLimitWatts`` power limit, W
``powerPercent``           power draw / power limit, %
``smClock``                SM clock, MHz
``memoryClock``            memory clock, MHz
=========================  ===========================================
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from typing import Any, Callable, Optional

from . import spawn

Warn = Callable[..., None]
#: Seconds one ``nvidia-smi`` call may take.
SMI_TIMEOUT = 10.0
#: Fields asked of ``nvidia-smi``, in order; their units are MiB, %, C, W and MHz.
SMI_FIELDS = (
    "index",
    "name",
    "utilization.gpu",
    "utilization.memory",
    "memory.used",
    "memory.total",
    "temperature.gpu",
    "power.draw",
    "power.limit",
    "clocks.sm",
    "clocks.mem",
    "driver_version",
)
_MIB = 1024 * 1024


class GpuInfo:
    """What is known of the machine's GPUs, and how to sample them.

    ``names`` is the list of device names (empty without GPUs); ``driver`` and ``cuda_version``
    are strings or ``None``; ``source`` is ``"nvml"``, ``"nvidia-smi"`` or ``None``.
    """

    source: Optional[str] = None

    def __init__(self) -> None:
        self.names: list[str] = []
        self.driver: Optional[str] = None
        self.cuda_version: Optional[str] = None

    def sample(self) -> dict[str, float]:
        """One reading of every GPU as ``system.gpu.<i>.<name>`` keys."""
        return {}

    def close(self) -> None:
        """Release what sampling holds (NVML)."""


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _put(row: dict[str, float], index: int, name: str, value: Optional[float]) -> None:
    if value is not None:
        row[f"system.gpu.{index}.{name}"] = float(value)


def _derived(row: dict[str, float], i: int) -> None:
    used = row.get(f"system.gpu.{i}.memoryAllocatedBytes")
    total = row.get(f"system.gpu.{i}.memoryTotalBytes")
    if used is not None and total:
        row[f"system.gpu.{i}.memoryAllocated"] = 100.0 * used / total
    power = row.get(f"system.gpu.{i}.powerWatts")
    limit = row.get(f"system.gpu.{i}.enforcedPowerLimitWatts")
    if power is not None and limit:
        row[f"system.gpu.{i}.powerPercent"] = 100.0 * power / limit


class NvmlGpus(GpuInfo):
    """GPUs read in-process through NVML."""

    source = "nvml"

    def __init__(self, nvml: Any, warn: Warn) -> None:
        super().__init__()
        self._nvml = nvml
        self._warn = warn
        self._unsupported: set[str] = set()
        self._lock = threading.Lock()
        self._open = True
        count = nvml.nvmlDeviceGetCount()
        self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        self.names = [_text(nvml.nvmlDeviceGetName(h)) for h in self._handles]
        self.driver = self._optional(lambda: _text(nvml.nvmlSystemGetDriverVersion()))
        cuda = self._optional(nvml.nvmlSystemGetCudaDriverVersion)
        if cuda:
            self.cuda_version = f"{int(cuda) // 1000}.{int(cuda) % 1000 // 10}"

    @staticmethod
    def _optional(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception:
            return None

    def _query(self, i: int, what: str, call: Callable[..., Any], *args: Any) -> Any:
        """``call(handle of GPU i, *args)``, or ``None`` when the device does not answer."""
        key = f"{i}.{what}"
        if key in self._unsupported:
            return None
        try:
            return call(self._handles[i], *args)
        except Exception as exc:
            self._unsupported.add(key)  # not asked again: most such errors are "not supported"
            if getattr(exc, "value", None) != getattr(self._nvml, "NVML_ERROR_NOT_SUPPORTED", object()):
                self._warn(f"nvml-{key}", f"NVML query {what} of GPU {i} failed: {exc!r}")
            return None

    def sample(self) -> dict[str, float]:
        nvml = self._nvml
        row: dict[str, float] = {}
        with self._lock:
            if not self._open:
                return row
            for i in range(len(self._handles)):
                util = self._query(i, "utilization", nvml.nvmlDeviceGetUtilizationRates)
                if util is not None:
                    _put(row, i, "gpu", util.gpu)
                    _put(row, i, "memory", util.memory)
                mem = self._query(i, "memory", nvml.nvmlDeviceGetMemoryInfo)
                if mem is not None:
                    _put(row, i, "memoryAllocatedBytes", mem.used)
                    _put(row, i, "memoryTotalBytes", mem.total)
                temp = self._query(i, "temp", nvml.nvmlDeviceGetTemperature, nvml.NVML_TEMPERATURE_GPU)
                _put(row, i, "temp", temp)
                power = self._query(i, "power", nvml.nvmlDeviceGetPowerUsage)
                _put(row, i, "powerWatts", None if power is None else power / 1000.0)
                limit = self._query(i, "powerLimit", nvml.nvmlDeviceGetEnforcedPowerLimit)
                _put(row, i, "enforcedPowerLimitWatts", None if limit is None else limit / 1000.0)
                sm = self._query(i, "smClock", nvml.nvmlDeviceGetClockInfo, nvml.NVML_CLOCK_SM)
                _put(row, i, "smClock", sm)
                memclk = self._query(i, "memoryClock", nvml.nvmlDeviceGetClockInfo, nvml.NVML_CLOCK_MEM)
                _put(row, i, "memoryClock", memclk)
                _derived(row, i)
        return row

    def close(self) -> None:
        with self._lock:
            if self._open:
                self._open = False
                self._optional(self._nvml.nvmlShutdown)


def _smi_number(text: str) -> Optional[float]:
    try:
        return float(text)
    except ValueError:  # "[N/A]", "[Not Supported]", ...
        return None


class SmiGpus(GpuInfo):
    """GPUs read by running ``nvidia-smi`` once per sample."""

    source = "nvidia-smi"

    def __init__(self, path: str, warn: Warn) -> None:
        super().__init__()
        self._path = path
        self._warn = warn
        rows = self._query()
        if rows is None:
            raise RuntimeError("nvidia-smi gave no readable output")
        self.names = [r["name"] for r in rows]
        self.driver = next((r["driver_version"] for r in rows if r.get("driver_version")), None)

    def _query(self) -> Optional[list[dict[str, str]]]:
        done = spawn.run(
            [self._path, "--query-gpu=" + ",".join(SMI_FIELDS), "--format=csv,noheader,nounits"], timeout=SMI_TIMEOUT
        )
        if done.returncode != 0:
            return None
        rows = []
        for line in done.stdout.decode("utf-8", "replace").splitlines():
            if line.strip():
                values = [v.strip() for v in line.split(",")]
                if len(values) == len(SMI_FIELDS):
                    rows.append(dict(zip(SMI_FIELDS, values)))
        return rows

    def sample(self) -> dict[str, float]:
        try:
            rows = self._query()
        except (OSError, subprocess.SubprocessError) as exc:
            self._warn("smi-sample", f"nvidia-smi failed: {exc!r}")
            return {}
        if rows is None:
            self._warn("smi-sample", "nvidia-smi exited with an error")
            return {}
        out: dict[str, float] = {}
        for pos, r in enumerate(rows):
            index = _smi_number(r["index"])
            i = int(index) if index is not None else pos
            _put(out, i, "gpu", _smi_number(r["utilization.gpu"]))
            _put(out, i, "memory", _smi_number(r["utilization.memory"]))
            used, total = _smi_number(r["memory.used"]), _smi_number(r["memory.total"])
            _put(out, i, "memoryAllocatedBytes", None if used is None else used * _MIB)
            _put(out, i, "memoryTotalBytes", None if total is None else total * _MIB)
            _put(out, i, "temp", _smi_number(r["temperature.gpu"]))
            _put(out, i, "powerWatts", _smi_number(r["power.draw"]))
            _put(out, i, "enforcedPowerLimitWatts", _smi_number(r["power.limit"]))
            _put(out, i, "smClock", _smi_number(r["clocks.sm"]))
            _put(out, i, "memoryClock", _smi_number(r["clocks.mem"]))
            _derived(out, i)
        return out


def probe(warn: Warn) -> GpuInfo:
    """Find the GPUs: NVML, then ``nvidia-smi``, else an empty :class:`GpuInfo`. Never raises."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # not installed, no driver, no GPU: try nvidia-smi
        pass
    else:
        try:
            return NvmlGpus(pynvml, warn)
        except Exception as exc:
            warn("nvml-probe", f"NVML loaded but listing GPUs failed: {exc!r}")
            try:
                pynvml.nvmlShutdown()
            except Exception:
                pass
    path = shutil.which("nvidia-smi")
    if path:
        try:
            return SmiGpus(path, warn)
        except Exception as exc:
            warn("smi-probe", f"nvidia-smi is on PATH but could not list GPUs: {exc!r}")
    return GpuInfo()


class SharedProbe:
    """Probes the GPUs once, on whichever thread asks first; later callers get the same answer."""

    def __init__(self, warn: Warn) -> None:
        self._warn = warn
        self._lock = threading.Lock()
        self._info: Optional[GpuInfo] = None

    def get(self) -> GpuInfo:
        with self._lock:
            if self._info is None:
                self._info = probe(self._warn)
            return self._info

    def close(self) -> None:
        with self._lock:
            if self._info is not None:
                self._info.close()
