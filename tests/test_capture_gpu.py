"""GPU metrics: NVML (a fake pynvml module), else nvidia-smi (a fake script on PATH), else none."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from turbotrack.capture import Capture, _warn
from turbotrack.capture.gpu import GpuInfo, NvmlGpus, SmiGpus, probe
from turbotrack.settings import Settings

FAKES = Path(__file__).resolve().parent / "fakes"
GIB = 1024**3


@pytest.fixture
def warned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    seen: list[str] = []
    monkeypatch.setattr(_warn, "_emit", seen.append)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return seen


def fake_nvml(monkeypatch: pytest.MonkeyPatch, fail_init: bool = False) -> ModuleType:
    spec = importlib.util.spec_from_file_location("fake_pynvml", FAKES / "fake_pynvml.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.FAIL_INIT = fail_init
    monkeypatch.setitem(sys.modules, "pynvml", module)
    return module


def fake_smi(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Put tests/fakes/nvidia-smi first on PATH, run by this test's Python."""
    bin_dir = tmp_path / "smi-bin"
    bin_dir.mkdir()
    script = (FAKES / "nvidia-smi").read_text().split("\n", 1)[1]
    target = bin_dir / "nvidia-smi"
    target.write_text(f"#!{sys.executable}\n{script}")
    target.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))


def no_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError


def helper_sees(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, nvml: bool) -> None:
    """The same pynvml for capture's helper process (capture/collector.py: GPU names for
    metadata.json), which gets this process's sys.path: the fake, or a module that fails to import."""
    folder = tmp_path / "helper-path"
    folder.mkdir()
    if nvml:
        text = (
            "import importlib.util, sys\n"
            f"spec = importlib.util.spec_from_file_location('fake_pynvml', {str(FAKES / 'fake_pynvml.py')!r})\n"
            "module = importlib.util.module_from_spec(spec)\n"
            "spec.loader.exec_module(module)\n"
            "sys.modules[__name__] = module\n"
        )
    else:
        text = "raise ImportError('no NVML in this test')\n"
    (folder / "pynvml.py").write_text(text)
    monkeypatch.syspath_prepend(str(folder))


EXPECTED = {
    "system.gpu.0.gpu": 87.0,
    "system.gpu.0.memory": 41.0,
    "system.gpu.0.memoryAllocated": 25.0,
    "system.gpu.0.memoryAllocatedBytes": 20.0 * GIB,
    "system.gpu.0.memoryTotalBytes": 80.0 * GIB,
    "system.gpu.0.temp": 64.0,
    "system.gpu.0.powerWatts": 350.5,
    "system.gpu.0.enforcedPowerLimitWatts": 700.0,
    "system.gpu.0.powerPercent": 50.07142857142857,
    "system.gpu.0.smClock": 1980.0,
    "system.gpu.0.memoryClock": 2619.0,
    "system.gpu.1.gpu": 3.0,
    "system.gpu.1.memory": 0.0,
    "system.gpu.1.memoryAllocated": 25.0,
    "system.gpu.1.memoryAllocatedBytes": 6.0 * GIB,
    "system.gpu.1.memoryTotalBytes": 24.0 * GIB,
    "system.gpu.1.temp": 38.0,
    "system.gpu.1.smClock": 210.0,
    "system.gpu.1.memoryClock": 405.0,
}
NAMES = ["NVIDIA H100 80GB HBM3", "NVIDIA A10"]


def test_nvml_names_and_units(monkeypatch: pytest.MonkeyPatch, warned: list[str]) -> None:
    nvml = fake_nvml(monkeypatch)
    gpus = probe(_warn.WarnOnce())
    assert isinstance(gpus, NvmlGpus)
    assert gpus.names == NAMES
    assert (gpus.driver, gpus.cuda_version) == ("550.54.15", "12.4")
    for _ in range(2):  # an unsupported query (GPU 1 power) is left out, without a warning
        assert gpus.sample() == pytest.approx(EXPECTED)
    gpus.close()
    gpus.close()
    assert gpus.sample() == {}
    assert nvml.calls.count("init") == 1 and nvml.calls.count("shutdown") == 1
    assert warned == []


def test_nvidia_smi_when_nvml_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, warned: list[str]) -> None:
    no_nvml(monkeypatch)
    fake_smi(monkeypatch, tmp_path)
    gpus = probe(_warn.WarnOnce())
    assert isinstance(gpus, SmiGpus)
    assert gpus.names == NAMES
    assert gpus.driver == "550.54.15"
    assert gpus.sample() == pytest.approx(EXPECTED)
    assert warned == []


def test_nvidia_smi_when_nvml_cannot_initialise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, warned: list[str]
) -> None:
    fake_nvml(monkeypatch, fail_init=True)
    fake_smi(monkeypatch, tmp_path)
    assert isinstance(probe(_warn.WarnOnce()), SmiGpus)
    assert warned == []


def test_neither_means_no_gpus_and_no_warning(monkeypatch: pytest.MonkeyPatch, warned: list[str]) -> None:
    no_nvml(monkeypatch)
    assert shutil.which("nvidia-smi") is None
    gpus = probe(_warn.WarnOnce())
    assert type(gpus) is GpuInfo
    assert (gpus.names, gpus.driver, gpus.cuda_version, gpus.sample()) == ([], None, None, {})
    assert warned == []


def run_capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, list[dict]]:
    monkeypatch.chdir(tmp_path)
    rows: list[dict] = []
    settings = Settings(capture_stdout=False, capture_git=False, capture_requirements=False, system_interval=0.05)
    cap = Capture(tmp_path / "run", settings, rows.append, {"id": "g"})
    cap.start()
    deadline = time.monotonic() + 60
    while len(rows) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    cap.stop()
    return json.loads((tmp_path / "run" / "metadata.json").read_text()), rows


@pytest.mark.parametrize("source", ["nvml", "nvidia-smi"])
def test_capture_records_gpu_rows_and_metadata(
    source: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, warned: list[str]
) -> None:
    if source == "nvml":
        fake_nvml(monkeypatch)
    else:
        no_nvml(monkeypatch)
        fake_smi(monkeypatch, tmp_path)
    helper_sees(monkeypatch, tmp_path, nvml=source == "nvml")
    meta, rows = run_capture(tmp_path, monkeypatch)
    assert meta["gpu"] == NAMES
    assert meta["gpu_count"] == 2
    assert meta["gpu_driver"] == "550.54.15"
    assert (meta.get("cuda_version") == "12.4") == (source == "nvml")
    assert len(rows) >= 2
    for row in rows:
        gpu_keys = {k: v for k, v in row.items() if k.startswith("system.gpu.")}
        assert gpu_keys == pytest.approx(EXPECTED)
        assert "system.cpu" in row
    assert warned == []


def test_capture_without_gpus(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, warned: list[str]) -> None:
    no_nvml(monkeypatch)
    helper_sees(monkeypatch, tmp_path, nvml=False)
    meta, rows = run_capture(tmp_path, monkeypatch)
    assert meta["gpu"] == [] and meta["gpu_count"] == 0
    assert "gpu_driver" not in meta and "cuda_version" not in meta
    assert rows and not any(k.startswith("system.gpu.") for row in rows for k in row)
    assert warned == []


def test_smi_failure_warns_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, warned: list[str]) -> None:
    no_nvml(monkeypatch)
    fake_smi(monkeypatch, tmp_path)
    warn: Any = _warn.WarnOnce()
    gpus = probe(warn)
    broken = tmp_path / "smi-bin" / "nvidia-smi"
    broken.write_text("#!/bin/sh\nexit 9\n")
    assert gpus.sample() == {}
    assert gpus.sample() == {}
    assert len(warned) == 1 and "nvidia-smi" in warned[0]
