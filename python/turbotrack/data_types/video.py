"""``Video``: frames from an array (written as an animated GIF, with Pillow) or a video file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ._files import existing_file, store
from .base import Media
from .image import to_uint8


class Video(Media):
    """A video: ``data_or_path`` is an array of frames shaped ``(time, channels, height, width)`` (wandb's
    layout; ``(batch, time, channels, height, width)`` puts the batch side by side) with ``fps`` (default 4),
    or the path of a video file (gif, mp4, webm, ogg). Arrays are written as GIF."""

    _type = "video-file"

    def __init__(
        self, data_or_path: Any, caption: Optional[str] = None, fps: Optional[int] = None, format: Optional[str] = None
    ) -> None:
        self.caption = caption
        self.fps = fps or 4
        self._path: Optional[Path] = None
        self._frames: Any = None
        if isinstance(data_or_path, (str, Path)):
            self._path = existing_file("Video", data_or_path)
            self.format = format or self._path.suffix.lstrip(".").lower()
            return
        import numpy as np

        if format not in (None, "gif"):
            raise ValueError(f"Video from an array is written as gif; format={format!r} is not available")
        self.format = "gif"
        arr = np.asarray(data_or_path.detach().cpu() if hasattr(data_or_path, "detach") else data_or_path)
        if arr.ndim == 5:
            arr = np.concatenate(list(arr), axis=-1)
        if arr.ndim != 4 or arr.shape[1] not in (1, 3, 4):
            raise ValueError(f"Video: expected frames shaped (time, channels, height, width), got {arr.shape}")
        frames = to_uint8(np.moveaxis(arr, 1, -1))
        self._frames = frames[..., 0] if frames.shape[-1] == 1 else frames

    def _write_gif(self, target: Path) -> None:
        try:
            from PIL import Image as PILImage
        except ImportError:
            raise TypeError("logging a Video from an array needs Pillow: pip install pillow") from None
        images = [PILImage.fromarray(f) for f in self._frames]
        duration = max(1, round(1000 / self.fps))
        images[0].save(target, format="GIF", save_all=True, append_images=images[1:], duration=duration, loop=0)

    def to_json(self, run_dir: Path | None, key: str, step: int) -> dict[str, Any]:
        out: dict[str, Any] = {"_type": self._type, "format": self.format}
        if self.caption is not None:
            out["caption"] = self.caption
        if self._frames is not None:
            out["frames"], out["height"], out["width"] = (int(n) for n in self._frames.shape[:3])
            out["fps"] = self.fps
        if run_dir is not None:
            out["path"] = store(run_dir, "videos", key, step, f".{self.format}", self._path, self._write_gif)
        return out
