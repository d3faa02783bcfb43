"""wandb, served by turbotrack: every name here is turbotrack's own object (see turbotrack.compat), and
``wandb.run``, ``wandb.config``, ``wandb.summary`` are plain attributes kept in step with turbotrack's.

wandb's submodules that scripts and frameworks import (``wandb.errors``, ``wandb.util``, ``wandb.sdk``
and its ``wandb_run``, ``wandb_settings``, ``lib``, ``lib.config_util``, ``lib.disabled``, ``wandb.apis``
and ``wandb.apis.public``, ``wandb.plot``, ``wandb.wandb_run``) are turbotrack's modules of those names,
registered under wandb's names."""

import sys as _sys

import turbotrack as _turbotrack
import turbotrack.sdk.lib.config_util
import turbotrack.sdk.lib.disabled
import turbotrack.sdk.wandb_run
import turbotrack.sdk.wandb_settings
from turbotrack import *  # noqa: F403
from turbotrack import __all__ as _names
from turbotrack import _state
from turbotrack.compat import WANDB_VERSION as __version__
from turbotrack.compat import announce as _announce

RunDisabled = _turbotrack.DisabledRun
Error = _turbotrack.errors.Error  # type: ignore[misc,assignment]  # wandb.Error is wandb.errors.Error
__turbotrack__ = True

for _name, _module in {
    "apis": _turbotrack.apis,
    "apis.public": _turbotrack.apis.public,
    "errors": _turbotrack.errors,
    "plot": _turbotrack.plot,
    "sdk": _turbotrack.sdk,
    "sdk.lib": _turbotrack.sdk.lib,
    "sdk.lib.config_util": _turbotrack.sdk.lib.config_util,
    "sdk.lib.disabled": _turbotrack.sdk.lib.disabled,
    "sdk.wandb_run": _turbotrack.sdk.wandb_run,
    "sdk.wandb_settings": _turbotrack.sdk.wandb_settings,
    "util": _turbotrack.util,
    "wandb_run": _turbotrack.sdk.wandb_run,
}.items():
    _sys.modules[f"{__name__}.{_name}"] = _module
wandb_run = _turbotrack.sdk.wandb_run

__all__ = [n for n in _names if n not in ("Error", "as_wandb")] + ["Error", "RunDisabled", "__version__"]

_state.register(_sys.modules[__name__])
_announce()
