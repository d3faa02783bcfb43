"""turbotrack: experiment tracking whose logging core is Rust.

A drop-in for the Weights & Biases SDK — ``import turbotrack as wandb`` — that costs about a
microsecond per ``log()``, keeps every run on your own disk first, and survives being killed.

    import turbotrack
    run = turbotrack.init(project="demo", config={"lr": 1e-3})
    for step in range(1000):
        turbotrack.log({"loss": 1 / (step + 1)})
    turbotrack.finish()
"""

from __future__ import annotations

from typing import Any

from . import _state, plot
from ._config import Config
from ._core import Error
from ._run import DisabledRun, Run
from .api import Api
from .artifacts import Artifact
from .compat import as_wandb
from .compat.api import alert, log_artifact, login, termerror, termlog, termwarn, use_artifact
from .data_types import Audio, Histogram, Html, Image, Table, Video
from .sdk import define_metric, finish, init, log, save
from .settings import Settings
from .watch import unwatch, watch

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``turbotrack.run`` (the current run, ``None`` before ``init()`` and after ``finish()``),
    ``turbotrack.config`` (its config; an empty, unsaved one before ``init()``) and
    ``turbotrack.summary`` (its summary; an empty dict before ``init()``), read when asked (PEP 562)."""
    if name in ("run", "config", "summary"):
        return _state.attribute(name)
    raise AttributeError(f"module 'turbotrack' has no attribute {name!r}")


__all__ = [
    "Api",
    "Artifact",
    "Audio",
    "Config",
    "DisabledRun",
    "Error",
    "Histogram",
    "Html",
    "Image",
    "Run",
    "Settings",
    "Table",
    "Video",
    "alert",
    "as_wandb",
    "config",
    "define_metric",
    "finish",
    "init",
    "log",
    "log_artifact",
    "login",
    "plot",
    "run",
    "save",
    "summary",
    "termerror",
    "termlog",
    "termwarn",
    "unwatch",
    "use_artifact",
    "watch",
]
