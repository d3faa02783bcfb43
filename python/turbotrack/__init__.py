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

import sys as _sys
from typing import Any

from . import (
    _plug,  # noqa: F401  (plugs the SDK's types into the readers: store/types.py)
    _state,
    apis,
    errors,
    plot,
    sdk,
    util,
)
from ._config import Config
from ._core import Error
from ._disabled import DisabledRun
from ._metric import Metric
from ._run import Run
from .api import Api
from .artifacts import Artifact
from .compat import as_wandb
from .compat.api import (
    AlertLevel,
    alert,
    log_artifact,
    login,
    mark_preempting,
    plot_table,
    require,
    teardown,
    termerror,
    termlog,
    termwarn,
    use_artifact,
)
from .data_types import Audio, Histogram, Html, Image, Table, Video
from .sdk import define_metric, finish, init, log, save, setup
from .settings import Settings
from .watch import unwatch, watch

__version__ = "0.1.0"


#: The current run (None before ``init()`` and after its ``finish()``), its ``config`` and ``summary``:
#: plain attributes, set by ``init()`` and ``finish()`` (see ``turbotrack._state``), as wandb's are.
run: Any = None
config: Any = None
summary: Any = None
_state.register(_sys.modules[__name__])

__all__ = [
    "AlertLevel",
    "Api",
    "Artifact",
    "Audio",
    "Config",
    "DisabledRun",
    "Error",
    "Histogram",
    "Html",
    "Image",
    "Metric",
    "Run",
    "Settings",
    "Table",
    "Video",
    "alert",
    "apis",
    "as_wandb",
    "config",
    "define_metric",
    "errors",
    "finish",
    "init",
    "log",
    "log_artifact",
    "login",
    "mark_preempting",
    "plot",
    "plot_table",
    "require",
    "run",
    "save",
    "sdk",
    "setup",
    "summary",
    "teardown",
    "termerror",
    "termlog",
    "termwarn",
    "unwatch",
    "use_artifact",
    "util",
    "watch",
]
