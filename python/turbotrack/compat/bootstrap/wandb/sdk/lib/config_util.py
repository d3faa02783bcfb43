"""wandb.sdk.lib.config_util, served by turbotrack."""

from turbotrack.compat.errors import ConfigError

__all__ = ["ConfigError"]
