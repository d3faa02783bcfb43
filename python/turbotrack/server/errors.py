"""The one error the server's handlers raise: an HTTP status, a message and extra JSON fields.

The ASGI layer (asgi.py) maps it, once, to ``{"error": message, **extra}`` with its status; anything
else a handler raises is a bug: logged with its traceback and answered 500."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A refused request: ``status`` (4xx/5xx), a message naming what was wrong, extra answer fields."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": str(self), **self.extra}


__all__ = ["ApiError"]
