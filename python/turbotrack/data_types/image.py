"""``Image``: an image from an array, a PIL image or a file, stored as a PNG in the run's media."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .._fs import atomic_write_bytes
from ..store.layout import MEDIA_DIR
from . import overlays
from .base import Media, media_name

if TYPE_CHECKING:
    import numpy as np


class Image(Media):
    """An image: ``data_or_path`` is an array (H×W, H×W×3 or H×W×4; floats in [0, 1] or uint8),
    a tensor (C×H×W), a PIL image, a matplotlib figure or ``matplotlib.pyplot`` itself (its current
    figure), or the path of an image file. Writing arrays as PNG needs Pillow.

    ``masks`` and ``boxes`` take wandb's form (see :mod:`turbotrack.data_types.overlays`): each mask is
    stored as a PNG of class ids beside the image, the boxes as JSON in the history entry."""

    _type = "image-file"

    def __init__(
        self,
        data_or_path: Any,
        mode: Optional[str] = None,
        caption: Optional[str] = None,
        *,
        masks: Optional[dict[str, Any]] = None,
        boxes: Optional[dict[str, Any]] = None,
    ) -> None:
        self.caption = caption
        self._masks = overlays.masks(masks)
        self._boxes = overlays.boxes(boxes)
        self._path: Optional[Path] = None
        self._array: Optional[np.ndarray] = None
        self._pil: Any = None
        if isinstance(data_or_path, (str, Path)):
            self._path = Path(data_or_path)
            if not self._path.is_file():
                raise ValueError(f"Image: no such file {str(self._path)!r}")
        elif isinstance(data_or_path, Image):
            self._path, self._array, self._pil = data_or_path._path, data_or_path._array, data_or_path._pil
            self.caption = caption if caption is not None else data_or_path.caption
            self._masks = self._masks if masks is not None else data_or_path._masks
            self._boxes = self._boxes if boxes is not None else data_or_path._boxes
        elif hasattr(data_or_path, "save") and hasattr(data_or_path, "size"):
            self._pil = data_or_path
        elif _is_pyplot(data_or_path):  # Image(plt): its current figure
            self._pil = _figure_to_pil(data_or_path.gcf())
        elif type(data_or_path).__module__.startswith("matplotlib") and hasattr(data_or_path, "savefig"):
            self._pil = _figure_to_pil(data_or_path)
        else:
            import numpy as np

            is_tensor = hasattr(data_or_path, "detach")
            arr = np.asarray(data_or_path.detach().cpu() if is_tensor else data_or_path)
            if is_tensor and arr.ndim == 4:  # a batch N×C×H×W: side by side, as a grid of one row
                arr = np.concatenate(list(arr), axis=-1)
            if arr.ndim == 3 and (is_tensor or (arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4))):
                arr = np.moveaxis(arr, 0, -1)  # tensors are C×H×W
            if arr.ndim == 3 and arr.shape[-1] == 1:
                arr = arr[..., 0]
            if arr.ndim not in (2, 3):
                raise ValueError(f"Image: expected an H×W or H×W×C array, got shape {arr.shape}")
            self._array = _tensor_to_uint8(arr) if is_tensor else to_uint8(arr)
        self.mode = mode

    def to_json(self, run_dir: Path | None, key: str, step: int) -> dict[str, Any]:
        out: dict[str, Any] = {"_type": self._type}
        if self.caption is not None:
            out["caption"] = self.caption
        if self._boxes:
            out["boxes"] = self._boxes
        if self._masks:
            out["masks"] = {name: m.to_json(run_dir, key, step) for name, m in self._masks.items()}
        if run_dir is None:
            return out
        if self._path is not None:
            data = self._path.read_bytes()
            suffix = self._path.suffix.lower()
            ext = suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""
        else:
            pil = self._pil
            if pil is None:
                try:
                    from PIL import Image as PILImage
                except ImportError:
                    raise TypeError("logging an Image from an array needs Pillow: pip install pillow") from None
                assert self._array is not None
                pil = PILImage.fromarray(self._array, mode=self.mode)
            buf = io.BytesIO()
            pil.save(buf, format="PNG")
            data, ext = buf.getvalue(), ".png"
            out["width"], out["height"] = pil.size
        rel = Path(MEDIA_DIR) / "images" / media_name(key, step, data, ext)
        atomic_write_bytes(run_dir / rel, data)
        out["path"] = rel.as_posix()
        return out


def to_uint8(arr: np.ndarray) -> np.ndarray:
    """wandb's rule for arrays: uint8 as is; otherwise values with a negative minimum are normalised to
    [0, 1], values at most 1 are scaled by 255, and the result is clipped to 0-255 (so integer-valued
    float arrays in 0-255 keep their values)."""
    import numpy as np

    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    data = np.nan_to_num(arr.astype(np.float64))
    if data.size and data.min() < 0:
        span = float(np.ptp(data))
        data = (data - data.min()) / (span if span else 1.0)
    if data.size and data.max() <= 1.0:
        data = data * 255
    return np.clip(data, 0, 255).round().astype(np.uint8)


def _tensor_to_uint8(arr: np.ndarray) -> np.ndarray:
    """wandb's rule for tensors (torchvision's ``make_grid(normalize=True)``): min-max normalised to 0-255."""
    import numpy as np

    if arr.dtype == np.uint8:
        return arr
    data = np.nan_to_num(arr.astype(np.float64))
    lo, hi = (float(data.min()), float(data.max())) if data.size else (0.0, 0.0)
    data = (data - lo) / (hi - lo if hi > lo else 1.0)
    return (np.clip(data, 0.0, 1.0) * 255).round().astype(np.uint8)


def _is_pyplot(value: Any) -> bool:
    """``value`` is ``matplotlib.pyplot`` itself (imported by the program)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    return pyplot is not None and value is pyplot


def _figure_to_pil(fig: Any) -> Any:
    """A matplotlib figure rendered as a PNG, as a PIL image."""
    import io

    try:
        from PIL import Image as PILImage
    except ImportError:
        raise TypeError("logging a matplotlib figure as an Image needs Pillow: pip install pillow") from None
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    buf.seek(0)
    pil = PILImage.open(buf)
    pil.load()
    return pil
