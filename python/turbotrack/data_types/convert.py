"""The cold path of ``log()``: values the native core does not read itself.

The core reads Python's own floats, ints, bools and strings, and flattens dicts; every other value
comes here, once, and leaves as what wandb stores for it (see :mod:`.jsonify` for the rules): a
scalar, JSON bytes (lists, media dicts, histograms), or a token for a GPU scalar read later.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from . import arrays, jsonify
from .base import Media
from .deferred import Resolver, is_gpu_scalar

if TYPE_CHECKING:
    import numpy as np

Scalar = Union[float, int, bool, str]
Converted = Union[Scalar, bytes, tuple[str, int]]

#: Media types wandb logs side by side when a list holds only them (its ``BatchableMedia``).
_BATCHABLE = ("Image", "Audio", "Video", "Html")


def to_numpy(v: Any) -> Optional[np.ndarray]:
    """``v`` as a NumPy array if it is an array or a PyTorch/TensorFlow/JAX tensor, else ``None``."""
    np: Any = sys.modules.get("numpy")
    if np is None and not arrays.is_tensor(v):
        return None  # nothing imported NumPy, so v is not an array; a tensor library would have
    if (np is not None and isinstance(v, np.ndarray)) or arrays.is_tensor(v):
        return arrays.to_numpy(v)
    return None


class Converter:
    """Called by the core as ``converter(name, value, step)`` for values that are not Python's own
    numbers, bools or strings. Returns a scalar, JSON bytes for rich values, or
    ``("deferred", token)`` for a GPU scalar whose value comes later; raises ``TypeError`` naming
    the key and the type for a value wandb cannot log either."""

    def __init__(self, run_dir: Optional[Path], resolver: Optional[Resolver] = None) -> None:
        self._run_dir = run_dir
        self._resolver = resolver

    def __call__(self, name: str, value: Any, step: int = 0) -> Converted:
        t = type(value)
        if (t is list or t is tuple) and jsonify.is_native(value):  # the common list: JSON as it is
            return _json(value, name)
        np = sys.modules.get("numpy")  # imported only if the program did: a value cannot be NumPy's otherwise
        if np is not None and isinstance(value, np.generic):
            return _out(name, jsonify.plain(name, value))
        if isinstance(value, Media):
            return _json(value.to_json(self._run_dir, name, step))
        if (np is not None and isinstance(value, np.ndarray)) or arrays.is_tensor(value):
            return self._array(name, value)
        if getattr(value, "_turbotrack_plot", False):
            return _json(value.to_json(self._run_dir, name, step))
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, Media) for v in value):
            return _json(self._media_sequence(name, value, step), name)
        if _is_figure(value):
            from .image import Image

            return _json(Image(value).to_json(self._run_dir, name, step))
        if _is_dataframe(value):  # as wandb: a DataFrame is logged as a Table
            from .table import Table

            return _json(Table(dataframe=value).to_json(self._run_dir, name, step))
        return _out(name, jsonify.plain(name, value))

    def _media_sequence(self, name: str, items: Any, step: int) -> Any:
        """Media of one kind side by side (as wandb's ``seq_to_json``); a mix of kinds, or values wandb
        does not batch (histograms, tables), as a list of each one's JSON."""
        kinds = {type(v) for v in items}
        if len(kinds) == 1 and type(items[0]).__name__ in _BATCHABLE:
            return media_list(items, self._run_dir, name, step)
        return [item.to_json(self._run_dir, f"{name}.{i}", step) for i, item in enumerate(items)]

    def _array(self, name: str, value: Any) -> Converted:
        if self._resolver is not None and is_gpu_scalar(value):
            return ("deferred", self._resolver.submit(value))
        if callable(getattr(value, "numel", None)) and value.numel() == 1:  # a torch scalar: no copy
            item = value.item()
            return item if isinstance(item, (float, int, bool)) else _out(name, jsonify.plain(name, item))
        arr = arrays.to_numpy(value)
        if arr.size == 1:  # NumPy, TensorFlow, JAX scalars and one-element arrays
            x = arr.reshape(-1)[0]
            return _out(name, jsonify.plain(name, x))
        if arr.size <= jsonify.MAX_LIST_ELEMENTS:
            return _out(name, jsonify.plain(name, arr.tolist()))
        return _json(jsonify.array_histogram(name, arr), name)


def media_list(items: Any, run_dir: Optional[Path], key: str, step: int) -> dict[str, Any]:
    """Several media under one key: each stored as its own file (``<key>.<i>``), listed in order."""
    entries = [item.to_json(run_dir, f"{key}.{i}", step) for i, item in enumerate(items)]
    kinds = {e.get("_type") for e in entries}
    kind = "images/separated" if kinds == {"image-file"} else "media-list"
    out: dict[str, Any] = {"_type": kind, "count": len(entries), "items": entries}
    captions = [e.get("caption") for e in entries]
    if any(c is not None for c in captions):
        out["captions"] = captions
    return out


def _is_figure(value: Any) -> bool:
    """A matplotlib figure, or ``matplotlib.pyplot`` itself (its current figure): logged as an image
    (wandb makes a plotly chart of it, which needs plotly; an image needs nothing more)."""
    if type(value).__module__.startswith("matplotlib") and hasattr(value, "savefig"):
        return True
    pyplot = sys.modules.get("matplotlib.pyplot")
    return pyplot is not None and value is pyplot


def _is_dataframe(value: Any) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(value, pd.DataFrame)


def _out(name: str, obj: Any) -> Converted:
    """What :func:`jsonify.plain` made, for the core: scalars as they are, the rest as JSON."""
    if isinstance(obj, (bool, int, float, str)):
        return obj
    return _json(obj, name)


def _json(obj: Any, name: str = "") -> bytes:
    """``obj`` as JSON text in UTF-8 (NaN and infinities as JavaScript writes them, as wandb does)."""
    text = json.dumps(obj, allow_nan=True, ensure_ascii=False, default=_leftover)
    try:
        return text.encode()
    except UnicodeEncodeError:
        raise ValueError(
            f"cannot log {name!r}: a string in it is not valid Unicode (it holds a lone surrogate), "
            "which no file can store. Nothing of this log() call was recorded"
        ) from None


def _leftover(v: Any) -> Any:
    """A value a rich value's JSON still holds (a NumPy number in a box's scores, say)."""
    return jsonify.plain("", v)
