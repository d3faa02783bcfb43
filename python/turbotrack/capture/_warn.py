"""Warn-once for capture's background work: a failing capture warns one time and carries on."""

from __future__ import annotations

import threading
import warnings
from typing import Any, Callable, Optional


class CaptureWarning(UserWarning):
    """A part of automatic capture failed; the run goes on without it."""


class WarnOnce:
    """Emit at most one :class:`CaptureWarning` per key, never raising into the caller.

    ``defer=True`` keeps the message for :meth:`flush` instead of warning at once; the console
    reader thread uses it, since a warning written to stderr from that thread would go into the
    very pipe it drains.
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._deferred: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, key: str, message: str, *, defer: bool = False) -> None:
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
            if defer:
                self._deferred.append(message)
                return
        _emit(message)

    def flush(self) -> None:
        """Emit the deferred messages (from the run's thread, once the console is restored)."""
        with self._lock:
            pending, self._deferred = self._deferred, []
        for message in pending:
            _emit(message)


def _emit(message: str) -> None:
    try:
        warnings.warn(f"turbotrack capture: {message}", CaptureWarning, stacklevel=3)
    except Exception:
        # A warnings filter set to "error" must not turn a capture failure into an exception.
        pass


def part(warn: Callable[..., None], key: str, call: Callable[[], Any]) -> Optional[Any]:
    """Run one part of capture: its result, or ``None`` after warning once (keyed ``key``) that it
    failed."""
    try:
        return call()
    except Exception as exc:
        warn(key, f"{key} capture failed and is skipped: {exc!r}")
        return None
