"""``turbotrack.errors`` (``wandb.errors``): the exception classes scripts catch (all are ``turbotrack.Error``).

``from turbotrack.errors import CommError`` works as ``from wandb.errors import CommError`` does."""

from __future__ import annotations

from typing import Optional

from ._core import Error

# wandb's base error *is* turbotrack's: every error turbotrack raises on its own account (a log() after
# finish(), a write that failed) is caught by a script's ``except wandb.Error`` / ``wandb.errors.Error``.


class CommError(Error):
    """Talking to a server failed."""

    def __init__(self, msg: str = "", exc: Optional[BaseException] = None) -> None:
        super().__init__(msg)
        self.exc = exc


class AuthenticationError(CommError):
    """The server refused the API key."""


class UsageError(Error):
    """The SDK was called the wrong way."""


class UnsupportedError(UsageError):
    """A wandb feature turbotrack does not have."""


class ConfigError(Error):
    """A config key was given another value without ``allow_val_change=True``
    (``wandb.sdk.lib.config_util.ConfigError``)."""


__all__ = ["AuthenticationError", "CommError", "ConfigError", "Error", "UnsupportedError", "UsageError"]
