"""``turbotrack.errors`` (``wandb.errors``): the exception classes scripts catch (all are ``turbotrack.Error``).

``from turbotrack.errors import CommError`` works as ``from wandb.errors import CommError`` does: the names
are wandb 0.31's (``Error``, ``CommError``, ``AuthenticationError``, ``UsageError``, ``UnsupportedError``,
``WandbCoreNotAvailableError``), plus turbotrack's own below them. An error may carry a ``hint``: what
to do about it, in a sentence. The command line prints the message after ``error:`` and the hint after
``hint:`` (cli.py, one mapping for every command)."""

from __future__ import annotations

from typing import Any, Optional

from ._core import Error

# wandb's base error *is* turbotrack's: every error turbotrack raises on its own account (a log() after
# finish(), a write that failed) is caught by a script's ``except wandb.Error`` / ``wandb.errors.Error``.


class CommError(Error):
    """Talking to a server failed: it could not be reached, or it answered with an error. The message
    names the server's URL; ``exc`` is the cause (an ``OSError`` for a server that cannot be reached)."""

    def __init__(self, msg: str = "", exc: Optional[BaseException] = None, *, url: str = "", hint: str = "") -> None:
        super().__init__(msg)
        self.message = msg
        self.exc = exc
        self.url = url
        self.hint = hint or (f"is the server running at {url}, and is that its address?" if url else "")


class ServerError(CommError):
    """The server answered with an error status (``status``; ``body``: its JSON answer)."""

    def __init__(
        self, status: int, message: str, body: Optional[dict[str, Any]] = None, *, url: str = "", hint: str = ""
    ) -> None:
        where = f" from {url}" if url else ""
        super().__init__(f"HTTP {status}{where}: {message}", url=url, hint=hint or _status_hint(status, url))
        self.status = status
        self.body = body or {}


class AuthenticationError(CommError):
    """Authentication failed: the server refused the API key."""


class KeyRefusedError(ServerError, AuthenticationError):
    """The server answered 401 (no key, or one it does not know) or 403 (a key that may not do this)."""


def _status_hint(status: int, url: str) -> str:
    login = f"'turbotrack login --base-url {url or 'URL'} KEY'"
    if status == 401:
        return (
            f"the server knows no such key: make one on the server ('turbotrack keys create ENTITY'), "
            f"then {login} or set TURBOTRACK_API_KEY"
        )
    if status == 403:
        return (
            "a key writes only its own entity's runs and a read-only key writes nothing: "
            f"use a read-write key of this run's entity ({login})"
        )
    if status == 404:
        return "check the entity/project/run path (and that the URL is the turbotrack server's)"
    if status == 413:
        return "the request is over the server's body limit: raise the server's --max-body"
    if status >= 500:
        return "the server failed: its log (stderr) says why"
    return "check the request's arguments"


def server_error(status: int, message: str, body: Optional[dict[str, Any]] = None, url: str = "") -> ServerError:
    """The error for an answer with this ``status``: a :class:`KeyRefusedError` for 401 and 403."""
    cls = KeyRefusedError if status in (401, 403) else ServerError
    return cls(status, message, body, url=url)


class UsageError(Error):
    """The SDK or a command was called the wrong way (``hint``: the right way)."""

    def __init__(self, message: str = "", context: Optional[dict[str, Any]] = None, *, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.context = context or {}
        self.hint = hint


class UnsupportedError(UsageError):
    """A wandb feature turbotrack does not have."""


class WandbCoreNotAvailableError(Error):
    """wandb's name for a missing native core (turbotrack's ships in the package: raised for a broken install)."""


class ConfigError(Error):
    """A config key was given another value without ``allow_val_change=True``
    (``wandb.sdk.lib.config_util.ConfigError``)."""


__all__ = [
    "AuthenticationError",
    "CommError",
    "ConfigError",
    "Error",
    "KeyRefusedError",
    "ServerError",
    "UnsupportedError",
    "UsageError",
    "WandbCoreNotAvailableError",
    "server_error",
]
