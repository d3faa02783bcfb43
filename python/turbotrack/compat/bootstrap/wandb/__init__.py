"""wandb, served by turbotrack: every name here is turbotrack's (see turbotrack.compat)."""

import sys as _sys

import turbotrack as _turbotrack
from turbotrack import (
    Api,
    Artifact,
    Audio,
    Histogram,
    Html,
    Image,
    Table,
    Video,
    define_metric,
    finish,
    log,
    plot,
    save,
    unwatch,
    watch,
)
from turbotrack._run import DisabledRun as RunDisabled
from turbotrack._run import Run
from turbotrack.compat import WANDB_VERSION as __version__
from turbotrack.compat import announce as _announce
from turbotrack.compat.api import (
    AlertLevel,
    alert,
    init,
    log_artifact,
    login,
    mark_preempting,
    plot_table,
    require,
    setup,
    teardown,
    termerror,
    termlog,
    termwarn,
    use_artifact,
)
from turbotrack.compat.settings import Settings

from . import errors, sdk, util
from .errors import Error

__turbotrack__ = True
_sys.modules[__name__ + ".plot"] = plot


def __getattr__(name: str):
    """``wandb.run``, ``wandb.config``, ``wandb.summary``: the current run's, read from turbotrack each time."""
    if name in ("run", "config", "summary"):
        return getattr(_turbotrack, name)
    raise AttributeError(f"module 'wandb' (turbotrack) has no attribute {name!r}")


__all__ = [
    "AlertLevel",
    "Api",
    "Artifact",
    "Audio",
    "Error",
    "Histogram",
    "Html",
    "Image",
    "Run",
    "RunDisabled",
    "Settings",
    "Table",
    "Video",
    "__version__",
    "alert",
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
    "save",
    "sdk",
    "setup",
    "teardown",
    "termerror",
    "termlog",
    "termwarn",
    "unwatch",
    "use_artifact",
    "util",
    "watch",
]

_announce()
