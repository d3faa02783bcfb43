"""An ``Image``'s masks and bounding boxes, in wandb's form, checked when the ``Image`` is made and kept
as data: each mask a PNG of class ids beside the image, boxes as JSON in the history entry.

``masks={"pred": {"mask_data": HxW ints 0-255 (or "path": a PNG), "class_labels": {0: "bg", ...}}}``
``boxes={"pred": {"box_data": [{"position": {...}, "class_id": 1, "box_caption": "cat", "scores": {...},
"domain": "pixel"}, ...], "class_labels": {1: "cat"}}}``; a position is ``minX/maxX/minY/maxY`` or
``middle`` (``[x, y]``), ``width``, ``height``; without ``"domain": "pixel"`` coordinates are fractions of
the image's size.
"""

from __future__ import annotations

import io
import math
import numbers
from pathlib import Path
from typing import Any, Optional

from .._fs import atomic_write_bytes
from ..store.layout import MEDIA_DIR
from .base import media_name

_CORNERS = ("minX", "maxX", "minY", "maxY")


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))


def class_labels(where: str, labels: Any) -> Optional[dict[str, str]]:
    """``{class id: name}`` checked, with JSON's string keys (``None`` when not given)."""
    if labels is None:
        return None
    if not isinstance(labels, dict):
        raise TypeError(f"{where}: class_labels must be a dict of class id (int) to name (str)")
    for k, v in labels.items():
        if not _is_int(k) or not isinstance(v, str):
            raise TypeError(f"{where}: class_labels must map int class ids to str names, got {k!r}: {v!r}")
    return {str(int(k)): v for k, v in labels.items()}


def _named(what: str, given: Any) -> dict[str, dict[str, Any]]:
    if given is None:
        return {}
    if not isinstance(given, dict) or not all(isinstance(k, str) and isinstance(v, dict) for k, v in given.items()):
        raise TypeError(f"Image {what} must be a dict of name (str) to a dict, e.g. {{'predictions': {{...}}}}")
    return given


class Mask:
    """One mask: class ids per pixel (0-255), kept as a grayscale PNG."""

    def __init__(self, name: str, spec: dict[str, Any]) -> None:
        where = f"Image mask {name!r}"
        self.name = name
        self.labels = class_labels(where, spec.get("class_labels"))
        self._path: Optional[Path] = None
        self._array: Any = None
        if "mask_data" in spec:
            import numpy as np

            data = spec["mask_data"]
            arr = np.asarray(data.detach().cpu() if hasattr(data, "detach") else data)
            if arr.ndim != 2:
                raise ValueError(f"{where}: mask_data must be a 2-D array of class ids, got shape {arr.shape}")
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"{where}: mask_data must hold integer class ids, got dtype {arr.dtype}")
            if arr.size and (
                (arr.dtype.kind == "f" and not np.array_equal(arr, np.round(arr))) or arr.min() < 0 or arr.max() > 255
            ):
                raise ValueError(f"{where}: mask_data must hold integer class ids from 0 to 255")
            self._array = arr.astype(np.uint8)
        elif "path" in spec:
            self._path = Path(spec["path"])
            if not self._path.is_file():
                raise ValueError(f"{where}: no such file {str(self._path)!r}")
        else:
            raise ValueError(f"{where}: give mask_data (a 2-D array of class ids) or path (a PNG)")

    def to_json(self, run_dir: Optional[Path], key: str, step: int) -> dict[str, Any]:
        out: dict[str, Any] = {"_type": "mask"}
        if self.labels is not None:
            out["class_labels"] = self.labels
        if run_dir is None:
            return out
        if self._path is not None:
            data = self._path.read_bytes()
        else:
            try:
                from PIL import Image as PILImage
            except ImportError:
                raise TypeError("logging an Image mask from an array needs Pillow: pip install pillow") from None
            buf = io.BytesIO()
            PILImage.fromarray(self._array, mode="L").save(buf, format="PNG")
            data = buf.getvalue()
            out["height"], out["width"] = self._array.shape
        rel = Path(MEDIA_DIR) / "images" / "masks" / media_name(f"{key}/{self.name}", step, data, ".png")
        atomic_write_bytes(run_dir / rel, data)
        out["path"] = rel.as_posix()
        return out


def masks(given: Any) -> dict[str, Mask]:
    return {name: Mask(name, spec) for name, spec in _named("masks", given).items()}


def _box(where: str, box: Any) -> dict[str, Any]:
    if not isinstance(box, dict) or not isinstance(box.get("position"), dict):
        raise TypeError(f"{where}: each box must be a dict with a 'position' dict")
    pos = box["position"]
    if all(k in pos for k in _CORNERS):
        position: dict[str, Any] = {k: pos[k] for k in _CORNERS}
    elif all(k in pos for k in ("middle", "width", "height")):
        middle = pos["middle"]
        if not isinstance(middle, (list, tuple)) or len(middle) != 2:
            raise ValueError(f"{where}: position 'middle' must be [x, y], got {middle!r}")
        position = {"middle": list(middle), "width": pos["width"], "height": pos["height"]}
    else:
        raise ValueError(f"{where}: position needs minX, maxX, minY, maxY, or middle, width, height; got {pos!r}")
    coords = [*position.get("middle", []), *(v for k, v in position.items() if k != "middle")]
    if not all(_is_number(v) for v in coords):
        raise TypeError(f"{where}: position values must be finite numbers, got {pos!r}")
    position = {k: [float(x) for x in v] if k == "middle" else float(v) for k, v in position.items()}
    if not _is_int(box.get("class_id")):
        raise TypeError(f"{where}: class_id must be an int, got {box.get('class_id')!r}")
    out: dict[str, Any] = {"position": position, "class_id": int(box["class_id"])}
    if box.get("domain") is not None:
        if box["domain"] != "pixel":
            raise ValueError(f"{where}: domain must be 'pixel' (or left out for fractions), got {box['domain']!r}")
        out["domain"] = "pixel"
    if box.get("box_caption") is not None:
        if not isinstance(box["box_caption"], str):
            raise TypeError(f"{where}: box_caption must be a str")
        out["box_caption"] = box["box_caption"]
    if box.get("scores") is not None:
        scores = box["scores"]
        if not isinstance(scores, dict) or not all(isinstance(k, str) and _is_number(v) for k, v in scores.items()):
            raise TypeError(f"{where}: scores must be a dict of name (str) to a finite number")
        out["scores"] = {k: float(v) for k, v in scores.items()}
    return out


def boxes(given: Any) -> dict[str, dict[str, Any]]:
    """Each named group of boxes checked, as the JSON kept in the history entry."""
    out = {}
    for name, spec in _named("boxes", given).items():
        where = f"Image boxes {name!r}"
        data = spec.get("box_data")
        if not isinstance(data, (list, tuple)):
            raise TypeError(f"{where}: box_data must be a list of boxes")
        group: dict[str, Any] = {"_type": "bounding-boxes", "box_data": [_box(where, b) for b in data]}
        labels = class_labels(where, spec.get("class_labels"))
        if labels is not None:
            group["class_labels"] = labels
        out[name] = group
    return out
