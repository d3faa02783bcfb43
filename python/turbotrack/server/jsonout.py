"""JSON as the server sends it: RFC 8259 only, so a NaN or infinite float goes out as the string
``"NaN"``, ``"Infinity"`` or ``"-Infinity"`` (CONTRACT) and one diverged run cannot make a whole
project's answer unreadable. Values that are not JSON types are sent as their ``str``."""

from __future__ import annotations

import json
import math
from typing import Any

_NONFINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


def _finite(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by its string (walked only when one is there)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else _NONFINITE[repr(obj)]
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def dumps(obj: Any) -> bytes:
    """``obj`` as UTF-8 JSON bytes, valid RFC 8259 whatever floats it holds."""
    try:
        text = json.dumps(obj, allow_nan=False, default=str, separators=(",", ":"))
    except ValueError:  # a NaN or an infinity somewhere: the rare case pays for the walk
        text = json.dumps(_finite(obj), allow_nan=False, default=str, separators=(",", ":"))
    return text.encode()


__all__ = ["dumps"]
