"""The cold path of ``log()``: values the native core does not read itself."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Union

from .base import Media
from .deferred import Resolver, is_gpu_scalar
from .histogram import Histogram

if TYPE_CHECKING:
    import numpy as np

Scalar = Union[float, int, bool, str]


def _is_tensor(v: Any) -> bool:
    mod = type(v).__module__
    return (mod.startswith("torch") and hasattr(v, "detach")) or (mod.startswith("tensorflow") and hasattr(v, "numpy"))


def to_numpy(v: Any) -> Optional[np.ndarray]:
    """``v`` as a NumPy array if it is an array or a PyTorch/TensorFlow tensor, else ``None``."""
    np: Any = sys.modules.get("numpy")
    if np is None:  # nothing imported NumPy, so v is not an array; a tensor library would have
        if not _is_tensor(v):
            return None
        import numpy as np
    if isinstance(v, np.ndarray):
        return v
    mod = type(v).__module__
    if mod.startswith("torch") and hasattr(v, "detach"):
        return v.detach().cpu().numpy()
    if mod.startswith("tensorflow") and hasattr(v, "numpy"):
        return np.asarray(v.numpy())
    if mod.startswith("jax") and hasattr(v, "__array__"):
        return np.asarray(v)
    return None


class Converter:
    """Called by the core as ``converter(name, value, step)`` for values that are not Python's own
    numbers, bools or strings. Returns a scalar, JSON bytes for rich values, or
    ``("deferred", token)`` for a GPU scalar whose value comes later; raises ``TypeError`` for
    anything else."""

    def __init__(self, run_dir: Optional[Path], resolver: Optional[Resolver] = None) -> None:
        self._run_dir = run_dir
        self._resolver = resolver

    def __call__(self, name: str, value: Any, step: int = 0) -> Union[Scalar, bytes, tuple[str, int]]:
        # NumPy is imported only if the program already did: a value cannot be NumPy's otherwise.
        np = sys.modules.get("numpy")
        if np is not None and isinstance(value, np.generic):
            if isinstance(value, (np.floating, np.integer, np.bool_)):
                return _scalar(name, value)
            if isinstance(value, np.str_):
                return str(value)
        elif isinstance(value, Media):
            return _json(value.to_json(self._run_dir, name, step))
        elif isinstance(value, str):
            return str(value)
        elif (np is not None and isinstance(value, np.ndarray)) or _is_tensor(value):
            return self._array(name, value)
        elif getattr(value, "_turbotrack_plot", False):
            return _json(value.to_json(self._run_dir, name, step))
        elif isinstance(value, (list, tuple)):
            listed = self._sequence(name, value, step)
            if listed is not None:
                return listed
        elif _is_figure(value):
            from .image import Image

            return _json(Image(value).to_json(self._run_dir, name, step))
        raise TypeError(
            f"cannot log {name!r}: values of type {type(value).__module__}.{type(value).__qualname__} are not "
            "supported. Log numbers, bools, strings, NumPy arrays, tensors, or turbotrack.Histogram / "
            "Table / Image / plot objects. Nothing of this log() call was recorded"
        )

    def _sequence(self, name: str, value: Any, step: int) -> Optional[bytes]:
        """A list of media as wandb logs it: side by side under one key. Other lists (numbers included)
        are not values of the contract: log a NumPy array or a ``Histogram`` for a distribution."""
        if value and all(isinstance(v, Media) for v in value):
            return _json(media_list(value, self._run_dir, name, step))
        return None

    def _array(self, name: str, value: Any) -> Union[Scalar, bytes, tuple[str, int]]:
        if self._resolver is not None and is_gpu_scalar(value):
            return ("deferred", self._resolver.submit(value))
        if callable(getattr(value, "numel", None)) and value.numel() == 1:  # a torch scalar: no copy
            item = value.item()
            if isinstance(item, (float, int, bool)):
                return item
        arr = to_numpy(value)
        if arr is None or arr.dtype.kind not in "biuf":
            raise TypeError(f"cannot log {name!r}: an array of dtype {getattr(arr, 'dtype', '?')} is not numeric")
        if arr.size == 1:  # NumPy, TensorFlow, JAX scalars and one-element arrays
            return _scalar(name, arr.reshape(-1)[0])
        return _json(Histogram(arr).to_json())


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
    """A matplotlib figure (logged as an image, as wandb does for figures it cannot make a chart of)."""
    return type(value).__module__.startswith("matplotlib") and hasattr(value, "savefig")


def _scalar(name: str, value: Any) -> Scalar:
    """A NumPy bool, integer or float scalar as Python's own. Floats wider than float64
    (``np.longdouble``) are rounded to the nearest float64, which is what history stores; one
    beyond float64's range is refused. Integers outside int64 are refused by the core."""
    item = value.item()
    if isinstance(item, (bool, int, float)):
        return item
    # np.longdouble (and other extended floats): .item() returns the NumPy scalar itself.
    import numpy as np

    x = float(item)
    if math.isinf(x) and np.isfinite(item):
        raise OverflowError(
            f"cannot log {name!r}: the {type(value).__name__} value {item} is beyond float64's range, "
            "which history stores. Nothing of this log() call was recorded"
        )
    return x


def _json(obj: Any) -> bytes:
    return json.dumps(obj, allow_nan=True, default=str).encode()
