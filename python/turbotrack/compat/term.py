"""``wandb.termlog`` / ``termwarn`` / ``termerror``: messages on stderr, silenced by
``$TURBOTRACK_SILENT`` (or ``$WANDB_SILENT``)."""

from __future__ import annotations

import os
import sys

_said: set[str] = set()


def _say(prefix: str, string: str, newline: bool, repeat: bool) -> None:
    if not repeat:
        if string in _said:
            return
        _said.add(string)
    if os.environ.get("TURBOTRACK_SILENT", os.environ.get("WANDB_SILENT", "")).lower() in ("1", "true"):
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
