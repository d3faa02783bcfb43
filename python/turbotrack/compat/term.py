"""``wandb.termlog`` / ``termwarn`` / ``termerror``: the notices the Python SDK gives, as lines on stderr
(``turbotrack: WARNING ...``), never Python warnings (so suites run with ``-W error`` pass). Silenced by
``$TURBOTRACK_SILENT`` (or ``$WANDB_SILENT``), or by ``settings={"silent": True}`` from that init() on."""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

_said: set[str] = set()
_silent = False


def silence(flag: bool) -> None:
    """Silence (True) or not the lines that follow (``init()`` sets it from the ``silent`` setting)."""
    global _silent
    _silent = bool(flag)


@contextlib.contextmanager
def silenced(flag: bool = True) -> Iterator[None]:
    """Silence the lines said inside the ``with`` (when ``flag``), then go back to what was set."""
    global _silent
    before = _silent
    _silent = before or bool(flag)
    try:
        yield
    finally:
        _silent = before


def _say(prefix: str, string: str, newline: bool, repeat: bool) -> None:
    if not repeat:
        if string in _said:
            return
        _said.add(string)
    if _silent or (os.environ.get("TURBOTRACK_SILENT") or os.environ.get("WANDB_SILENT") or "").lower() in (
        "1",
        "true",
    ):
        return
    print(f"{prefix}{string}", end="\n" if newline else "", file=sys.stderr, flush=True)


def termlog(string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """Print ``string`` on stderr (``repeat=False``: only the first time)."""
    _say("turbotrack: " if prefix else "", string, newline, repeat)


def termwarn(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """Print a warning on stderr (``repeat=False``: only the first time)."""
    _say("turbotrack: WARNING " if prefix else "", string, newline, repeat)


def termerror(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """Print an error on stderr (``repeat=False``: only the first time)."""
    _say("turbotrack: ERROR " if prefix else "", string, newline, repeat)
