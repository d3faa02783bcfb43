"""wandb.sdk.wandb_settings, served by turbotrack."""

from turbotrack.compat.settings import Settings

__all__ = ["Settings"]
