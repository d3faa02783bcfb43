"""One adapter per library: how it starts a run, logs a dict, finishes, and what it is told to skip.

Every adapter logs the same dicts the way that library's users would. Libraries without wandb's
``commit=False`` get their nearest equivalent in ``log_partial``: both halves of a step written at
the same explicit step. Each adapter turns off what it can of system-metric, console, git and
telemetry capture, so only logging is measured; ``notes`` says what was done. Libraries are imported
inside the methods: a worker process imports only the one it measures.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import importlib.util
import platform
from pathlib import Path
from typing import Any, ClassVar, Optional

from .workloads import Workload

#: Environment every worker gets: no library may phone home or print banners during a measurement.
QUIET_ENV = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "WANDB_SILENT": "true",
    "TURBOTRACK_MODE": "offline",
}

PIP_ALL = "pip install 'turbotrack[bench]'"


@dataclasses.dataclass
class Context:
    """Where and how one process logs."""

    out: Path
    """Folder the library writes into; everything under it counts as what the library wrote."""
    workload: Workload
    rank: int = 0
    """Process index in a multi-process workload, else 0."""
    shared_run_id: Optional[str] = None
    """turbotrack only: log into this one shared run (``settings={"shared": True}``)."""


class Adapter:
    """The interface the worker drives; subclasses fill in one library."""

    name: ClassVar[str]
    module: ClassVar[str]
    """Import name that must be found for the library to count as installed."""
    dist: ClassVar[Optional[str]] = None
    """Distribution whose version is reported (``None``: the Python version)."""
    pip: ClassVar[str] = ""
    notes: ClassVar[str] = ""
    reference: ClassVar[bool] = False
    """A floor: not a tracker, writes nothing."""
    prepares: ClassVar[bool] = False
    """``prepare`` does something: the harness runs it in an unmeasured process first."""

    @classmethod
    def missing(cls) -> Optional[str]:
        """Why the library cannot be benchmarked here (with the command that fixes it), or None."""
        try:
            found = importlib.util.find_spec(cls.module) is not None
        except (ImportError, ValueError) as exc:
            return f"cannot import {cls.module} ({exc}); {cls.pip}"
        return None if found else f"not installed: {cls.pip}"

    @classmethod
    def version(cls) -> Optional[str]:
        if cls.dist is None:
            return platform.python_version()
        try:
            return importlib.metadata.version(cls.dist)
        except importlib.metadata.PackageNotFoundError:
            return None

    @classmethod
    def env(cls, out: Path) -> dict[str, str]:
        """Extra environment for the worker: where the library keeps its files."""
        return {}

    def prepare(self, out: Path) -> None:
        """Create the tracking store ahead of time, in an unmeasured process (a store exists before
        training starts, and several processes must not race to create it)."""

    def start(self, ctx: Context) -> None:
        raise NotImplementedError

    def log(self, data: dict[str, float], step: int) -> None:
        raise NotImplementedError

    def log_partial(self, data: dict[str, float], step: int) -> None:
        """``log(data, commit=False)``; default: the nearest equivalent, the same explicit step."""
        self.log(data, step)

    def finish(self) -> None:
        raise NotImplementedError

    def run_paths(self) -> list[str]:
        """Runs to read back for verification (turbotrack only)."""
        return []

    def applied(self) -> str:
        """What was switched off, as actually applied (after ``start``)."""
        return self.notes


class Turbotrack(Adapter):
    name = "turbotrack"
    module = "turbotrack._core"
    dist = "turbotrack"
    pip = "pip install -e . (builds the native core)"
    notes = "mode='offline'; capture_stdout/system/git/requirements off"

    def start(self, ctx: Context) -> None:
        import turbotrack

        settings: dict[str, Any] = {
            "capture_stdout": False,
            "capture_system": False,
            "capture_git": False,
            "capture_requirements": False,
        }
        kwargs: dict[str, Any] = {}
        if ctx.shared_run_id is not None:
            settings.update(shared=True, rank=ctx.rank)
            kwargs["id"] = ctx.shared_run_id
        self._run = turbotrack.init(project="bench", dir=str(ctx.out), mode="offline", settings=settings, **kwargs)

    def log(self, data: dict[str, float], step: int) -> None:
        self._run.log(data)

    def log_partial(self, data: dict[str, float], step: int) -> None:
        self._run.log(data, commit=False)

    def finish(self) -> None:
        self._run.finish()

    def run_paths(self) -> list[str]:
        return [self._run.path]


class NativeFloor(Adapter):
    name = "native_floor"
    module = "turbotrack._core"
    dist = "turbotrack"
    pip = Turbotrack.pip
    reference = True
    notes = "turbotrack._core.native_floor(d): iterate the dict in Rust and sum its floats"

    def start(self, ctx: Context) -> None:
        from turbotrack._core import native_floor

        self._floor = native_floor
        self.total = 0.0

    def log(self, data: dict[str, float], step: int) -> None:
        self.total += self._floor(data)

    def finish(self) -> None:
        pass


class Floor(Adapter):
    name = "floor"
    module = "json"  # always there
    reference = True
    notes = "pure Python: merge the dict into a pending row, append the row to a list"

    def start(self, ctx: Context) -> None:
        self.rows: list[dict[str, float]] = []
        self._pending: dict[str, float] = {}

    def log(self, data: dict[str, float], step: int) -> None:
        row = self._pending
        row.update(data)
        self.rows.append(row)
        self._pending = {}

    def log_partial(self, data: dict[str, float], step: int) -> None:
        self._pending.update(data)

    def finish(self) -> None:
        pass


#: wandb settings that turn off everything but logging, with older spellings after the current one.
_WANDB_OFF: list[tuple[tuple[str, ...], Any]] = [
    (("x_disable_stats", "_disable_stats"), True),
    (("console",), "off"),
    (("disable_git",), True),
    (("disable_code",), True),
    (("save_code",), False),
    (("x_save_requirements", "_save_requirements"), False),
    (("x_disable_meta", "_disable_meta"), True),
    (("x_disable_machine_info", "_disable_machine_info"), True),
    (("disable_job_creation",), True),
    (("silent",), True),
]


class Wandb(Adapter):
    name = "wandb"
    module = "wandb"
    dist = "wandb"
    pip = "pip install wandb"
    notes = "mode='offline'; system stats, console, git, code, requirements, metadata capture off"

    @classmethod
    def env(cls, out: Path) -> dict[str, str]:
        home = out / "wandb-home"
        return {
            "WANDB_DIR": str(out),
            "WANDB_CACHE_DIR": str(home / "cache"),
            "WANDB_CONFIG_DIR": str(home / "config"),
            "WANDB_DATA_DIR": str(home / "data"),
            "WANDB_ARTIFACT_DIR": str(home / "artifacts"),
        }

    def start(self, ctx: Context) -> None:
        import wandb

        fields = set(getattr(wandb.Settings, "model_fields", {}) or dir(wandb.Settings()))
        chosen: dict[str, Any] = {}
        for names, value in _WANDB_OFF:
            name = next((n for n in names if n in fields), None)
            if name is not None:
                chosen[name] = value
        self._applied = ", ".join(f"{k}={v!r}" for k, v in chosen.items())
        self._run = wandb.init(project="bench", dir=str(ctx.out), mode="offline", settings=wandb.Settings(**chosen))

    def log(self, data: dict[str, float], step: int) -> None:
        self._run.log(data)

    def log_partial(self, data: dict[str, float], step: int) -> None:
        self._run.log(data, commit=False)

    def finish(self) -> None:
        self._run.finish()

    def applied(self) -> str:
        return f"mode='offline'; Settings({self._applied})"


class TensorboardX(Adapter):
    name = "tensorboardX"
    module = "tensorboardX"
    dist = "tensorboardX"
    pip = "pip install tensorboardX"
    notes = (
        "SummaryWriter, one add_scalar(key, value, step) per key; no commit: split_step writes "
        "both halves at the same step; close() flushes"
    )

    def start(self, ctx: Context) -> None:
        from tensorboardX import SummaryWriter

        self._writer = SummaryWriter(logdir=str(ctx.out / "tb" / f"rank{ctx.rank}"))

    def log(self, data: dict[str, float], step: int) -> None:
        add = self._writer.add_scalar
        for key, value in data.items():
            add(key, value, step)

    def finish(self) -> None:
        self._writer.close()


class Mlflow(Adapter):
    name = "mlflow"
    module = "mlflow"
    dist = "mlflow"
    pip = "pip install mlflow"
    prepares = True
    notes = (
        "SQLite store (created beforehand, unmeasured); log_metrics(d, step, run_id), synchronous "
        "(MLflow's default); system metrics off; split_step: two log_metrics at the same step"
    )

    @staticmethod
    def _uri(out: Path) -> str:
        return f"sqlite:///{out / 'mlflow.db'}"

    @classmethod
    def env(cls, out: Path) -> dict[str, str]:
        return {
            "MLFLOW_TRACKING_URI": cls._uri(out),
            "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "false",
        }

    def prepare(self, out: Path) -> None:
        import mlflow

        mlflow.set_tracking_uri(self._uri(out))
        mlflow.set_experiment("bench")

    def start(self, ctx: Context) -> None:
        import mlflow

        self._mlflow = mlflow
        mlflow.set_tracking_uri(self._uri(ctx.out))
        experiment = mlflow.set_experiment("bench")
        self._run_id = mlflow.start_run(experiment_id=experiment.experiment_id, run_name=f"rank{ctx.rank}").info.run_id

    def log(self, data: dict[str, float], step: int) -> None:
        # run_id explicitly: MLflow's active run is per thread.
        self._mlflow.log_metrics(data, step=step, run_id=self._run_id)

    def finish(self) -> None:
        self._mlflow.end_run()


class Trackio(Adapter):
    name = "trackio"
    module = "trackio"
    dist = "trackio"
    pip = "pip install trackio"
    notes = (
        "local SQLite under $TRACKIO_DIR; auto_log_cpu/gpu off; run.log(d, step) with an explicit "
        "step (split_step: both halves at the same step)"
    )

    @classmethod
    def env(cls, out: Path) -> dict[str, str]:
        return {"TRACKIO_DIR": str(out / "trackio")}

    def start(self, ctx: Context) -> None:
        import trackio

        self._run = trackio.init(project="bench", name=f"rank{ctx.rank}", auto_log_cpu=False, auto_log_gpu=False)

    def log(self, data: dict[str, float], step: int) -> None:
        self._run.log(data, step=step)

    def finish(self) -> None:
        self._run.finish()


class Aim(Adapter):
    name = "aim"
    module = "aim"
    dist = "aim"
    pip = "pip install aim"
    prepares = True
    notes = (
        "local repo (created beforehand, unmeasured); system tracking, params and terminal capture "
        "off; run.track(d, step=step) (split_step: both halves at the same step)"
    )

    def prepare(self, out: Path) -> None:
        from aim import Repo

        Repo.from_path(str(out / "aim"), init=True)

    def start(self, ctx: Context) -> None:
        from aim import Run

        self._run = Run(
            repo=str(ctx.out / "aim"),
            experiment="bench",
            system_tracking_interval=None,
            log_system_params=False,
            capture_terminal_logs=False,
        )

    def log(self, data: dict[str, float], step: int) -> None:
        self._run.track(data, step=step)

    def finish(self) -> None:
        self._run.close()


#: Every library by its command-line name, in the order tables list them.
ADAPTERS: dict[str, type[Adapter]] = {
    a.name: a for a in (Turbotrack, Wandb, TensorboardX, Mlflow, Trackio, Aim, Floor, NativeFloor)
}


def parse_libraries(text: Optional[str]) -> list[str]:
    """``--only`` value -> library names (None: all); unknown names raise ``ValueError``."""
    if text is None:
        return list(ADAPTERS)
    names = [n.strip() for n in text.split(",") if n.strip()]
    by_lower = {n.lower(): n for n in ADAPTERS}
    unknown = [n for n in names if n.lower() not in by_lower]
    if unknown or not names:
        raise ValueError(f"unknown library {unknown or [text]}; choose from {', '.join(ADAPTERS)}")
    return list(dict.fromkeys(by_lower[n.lower()] for n in names))
