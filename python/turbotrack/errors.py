"""``turbotrack.errors`` (``wandb.errors``): the exception classes scripts catch (all are ``turbotrack.Error``).

``from turbotrack.errors import CommError`` works as ``from wandb.errors import CommError`` does."""

from __future__ import annotations

from typing import Any, Optional

from ._core import Error as _TurbotrackError


class Error(_TurbotrackError):
    """wandb's base error (also a ``turbotrack.Error``)."""

    def __init__(self, message: str = "", context: Optional[dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.context = context


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
