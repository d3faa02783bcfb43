"""``Audio``: a sound clip from an array (written as a 16-bit PCM WAV) or an audio file."""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any, Optional

from ._files import existing_file, store
from .base import Media


class Audio(Media):
    """An audio clip: ``data_or_path`` is a NumPy array of samples (floats in [-1, 1], or int16; shape
    ``(n,)`` or ``(n, channels)``) with ``sample_rate``, or the path of an audio file."""

    _type = "audio-file"

    def __init__(self, data_or_path: Any, sample_rate: Optional[int] = None, caption: Optional[str] = None) -> None:
        self.caption = caption
        self.sample_rate = sample_rate
        self._path: Optional[Path] = None
        self._samples: Any = None
        if isinstance(data_or_path, (str, Path)):
            self._path = existing_file("Audio", data_or_path)
            return
        import numpy as np

        if sample_rate is None:
            raise ValueError("Audio from an array needs sample_rate=")
        arr = np.asarray(data_or_path.detach().cpu() if hasattr(data_or_path, "detach") else data_or_path)
        if arr.ndim not in (1, 2) or arr.dtype.kind not in "iuf":
            raise ValueError(f"Audio: expected a 1-D or (samples, channels) numeric array, got {arr.dtype} {arr.shape}")
        if arr.dtype != np.int16:
            arr = (np.clip(np.nan_to_num(arr.astype(np.float64)), -1.0, 1.0) * 32767).round().astype(np.int16)
        self._samples = arr

    @property
    def duration(self) -> Optional[float]:
        """Length in seconds (arrays only)."""
        if self._samples is None or not self.sample_rate:
            return None
        return len(self._samples) / self.sample_rate

    def _write_wav(self, target: Path) -> None:
        arr = self._samples
        with wave.open(str(target), "wb") as w:
            w.setnchannels(1 if arr.ndim == 1 else arr.shape[1])
            w.setsampwidth(2)
            w.setframerate(int(self.sample_rate or 0))
            w.writeframes(arr.astype("<i2").tobytes())

    def to_json(self, run_dir: Path | None, key: str, step: int) -> dict[str, Any]:
        out: dict[str, Any] = {"_type": self._type, "sample_rate": self.sample_rate}
        if self.caption is not None:
            out["caption"] = self.caption
        if self.duration is not None:
            out["duration"] = self.duration
        if run_dir is not None:
            suffix = self._path.suffix if self._path is not None else ".wav"
            out["path"] = store(run_dir, "audio", key, step, suffix, self._path, self._write_wav)
        return out
