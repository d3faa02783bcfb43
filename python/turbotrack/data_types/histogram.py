"""``Histogram``: a distribution of values, stored as bin edges and counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from .arrays import is_tensor, to_numpy
from .base import Media


class Histogram(Media):
    """A histogram of ``sequence`` with ``num_bins`` bins (at most 512), or of a precomputed
    ``np_histogram=(counts, bin_edges)`` (what ``np.histogram`` returns). As wandb, the edges are
    ``np.histogram``'s for the data's own dtype (float32 data, float32 edges). NaN and infinities are
    left out of the bins (wandb fails on them); data whose range holds fewer than ``num_bins``
    distinct edges gets fewer bins."""

    _type = "histogram"
    MAX_BINS = 512
    #: wandb's name for :attr:`MAX_BINS`.
    MAX_LENGTH = MAX_BINS

    def __init__(
        self,
        sequence: Any = None,
        np_histogram: Optional[tuple[Any, Any]] = None,
        num_bins: int = 64,
    ) -> None:
        import numpy as np

        if np_histogram is not None:
            if len(np_histogram) != 2:
                raise ValueError("np_histogram must be (counts, bin_edges), as np.histogram returns")
            counts, edges = (np.asarray(a).ravel() for a in np_histogram)
            if len(edges) != len(counts) + 1:
                raise ValueError("np_histogram must be (counts, bin_edges) with len(bin_edges) == len(counts) + 1")
            if len(counts) > self.MAX_BINS:
                raise ValueError(f"a histogram has at most {self.MAX_BINS} bins, np_histogram has {len(counts)}")
        elif sequence is not None:
            if isinstance(num_bins, bool) or not isinstance(num_bins, int) or not 1 <= num_bins <= self.MAX_BINS:
                raise ValueError(f"num_bins must be an int between 1 and {self.MAX_BINS}, got {num_bins!r}")
            counts, edges = _histogram(np, _finite(np, sequence), num_bins)
        else:
            raise ValueError("Histogram needs a sequence or np_histogram=(counts, bin_edges)")
        self.histogram: list[int] = [int(c) for c in counts]
        self.bins: list[float] = [float(e) for e in edges]

    def to_json(self, run_dir: Path | None = None, key: str = "", step: int = 0) -> dict[str, Any]:
        return {"_type": self._type, "bins": self.bins, "values": self.histogram}


def _finite(np: Any, sequence: Any) -> Any:
    """The finite values of ``sequence``, flat, in the dtype ``np.histogram`` gets in wandb: floats up
    to float64 as they are, integers as they are, bools as uint8, anything else as float64."""
    data = to_numpy(sequence) if is_tensor(sequence) else np.asarray(sequence)
    if data.dtype == np.bool_:
        data = data.astype(np.uint8)
    elif data.dtype.kind not in "iuf" or (data.dtype.kind == "f" and data.dtype.itemsize > 8):
        with np.errstate(over="ignore"):  # wider floats beyond float64 become inf: left out
            data = data.astype(np.float64)
    data = data.ravel()
    return data[np.isfinite(data)] if data.dtype.kind == "f" else data


def _histogram(np: Any, data: Any, num_bins: int) -> tuple[Any, Any]:
    """``np.histogram(data, bins=num_bins)``, also where NumPy refuses: a range wider than float64
    holds (``[-1.7e308, 1.7e308]``) or too narrow for ``num_bins`` distinct edges."""
    try:
        with np.errstate(over="raise", invalid="raise"):
            return np.histogram(data, bins=num_bins)
    except (ValueError, FloatingPointError):
        pass
    data = data.astype(np.float64)
    lo, hi = float(data.min()), float(data.max())
    # Halved, every span between two finite floats is finite; halving and doubling are exact.
    edges = np.unique(np.linspace(lo / 2, hi / 2, num_bins + 1) * 2)
    edges[0], edges[-1] = lo, hi
    if len(edges) < 2:  # every value the same: one bin holding them all
        edges = np.array([lo, hi])
    counts, _ = np.histogram(data, bins=edges)
    return counts, edges
