"""wandb.sdk, served by turbotrack."""

from turbotrack.compat.settings import Settings

from . import lib, wandb_run, wandb_settings
from .wandb_run import Run

__all__ = ["Run", "Settings", "lib", "wandb_run", "wandb_settings"]
