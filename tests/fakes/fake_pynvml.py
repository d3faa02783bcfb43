"""A stand-in for ``pynvml`` (nvidia-ml-py) with two fixed GPUs, for tests of the NVML path.

Tests put it in ``sys.modules["pynvml"]``. Values are chosen so that every unit conversion shows:
memory in bytes, power in milliwatts, clocks in MHz. GPU 1 does not support power readings.
``FAIL_INIT = True`` makes ``nvmlInit`` fail the way it does on a machine without a driver.
"""

from __future__ import annotations

from types import SimpleNamespace

NVML_TEMPERATURE_GPU = 0
NVML_CLOCK_SM = 1
NVML_CLOCK_MEM = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_LIBRARY_NOT_FOUND = 12

FAIL_INIT = False
GIB = 1024**3
GPUS = [
    {
        "name": b"NVIDIA H100 80GB HBM3",  # old nvidia-ml-py versions return bytes
        "util": SimpleNamespace(gpu=87, memory=41),
        "mem": SimpleNamespace(total=80 * GIB, used=20 * GIB, free=60 * GIB),
        "temp": 64,
        "power_mw": 350_500,
        "limit_mw": 700_000,
        "clocks": {NVML_CLOCK_SM: 1980, NVML_CLOCK_MEM: 2619},
    },
    {
        "name": "NVIDIA A10",
        "util": SimpleNamespace(gpu=3, memory=0),
        "mem": SimpleNamespace(total=24 * GIB, used=6 * GIB, free=18 * GIB),
        "temp": 38,
        "power_mw": None,  # not supported
        "limit_mw": None,
        "clocks": {NVML_CLOCK_SM: 210, NVML_CLOCK_MEM: 405},
    },
]
calls: list[str] = []


class NVMLError(Exception):
    def __init__(self, value: int) -> None:
        super().__init__(f"NVML error {value}")
        self.value = value


def nvmlInit() -> None:
    calls.append("init")
    if FAIL_INIT:
        raise NVMLError(NVML_ERROR_LIBRARY_NOT_FOUND)


def nvmlShutdown() -> None:
    calls.append("shutdown")


def nvmlDeviceGetCount() -> int:
    return len(GPUS)


def nvmlDeviceGetHandleByIndex(index: int) -> int:
    return index


def nvmlDeviceGetName(handle: int) -> object:
    return GPUS[handle]["name"]


def nvmlSystemGetDriverVersion() -> str:
    return "550.54.15"


def nvmlSystemGetCudaDriverVersion() -> int:
    return 12040


def nvmlDeviceGetUtilizationRates(handle: int) -> object:
    return GPUS[handle]["util"]


def nvmlDeviceGetMemoryInfo(handle: int) -> object:
    return GPUS[handle]["mem"]


def nvmlDeviceGetTemperature(handle: int, sensor: int) -> int:
    assert sensor == NVML_TEMPERATURE_GPU
    return GPUS[handle]["temp"]


def _power(handle: int, key: str) -> int:
    value = GPUS[handle][key]
    if value is None:
        raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
    return value


def nvmlDeviceGetPowerUsage(handle: int) -> int:
    return _power(handle, "power_mw")


def nvmlDeviceGetEnforcedPowerLimit(handle: int) -> int:
    return _power(handle, "limit_mw")


def nvmlDeviceGetClockInfo(handle: int, clock: int) -> int:
    return GPUS[handle]["clocks"][clock]
