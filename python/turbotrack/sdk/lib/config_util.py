"""``wandb.sdk.lib.config_util``: ``ConfigError`` (:class:`turbotrack.errors.ConfigError`)."""

from ...errors import ConfigError

__all__ = ["ConfigError"]
