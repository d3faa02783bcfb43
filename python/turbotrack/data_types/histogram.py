"""``Histogram``: a distribution of values, stored as bin edges and counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from .base import Media


class Histogram(Media):
    """A histogram of ``sequence`` with ``num_bins`` bins (at most 512), or of a precomputed
    ``np_histogram=(counts, bin_edges)``. NaN and infinities are left out of the bins. Data whose
    range holds fewer than ``num_bins`` distinct float64 edges gets fewer bins."""

    _type = "histogram"
    MAX_BINS = 512

    def __init__(
        self,
        sequence: Any = None,
        np_histogram: Optional[tuple[Any, Any]] = None,
        num_bins: int = 64,
    ) -> None:
        import numpy as np

        if np_histogram is not None:
            counts, edges = (np.asarray(a) for a in np_histogram)
            if len(edges) != len(counts) + 1:
                raise ValueError("np_histogram must be (counts, bin_edges) with len(bin_edges) == len(counts) + 1")
        elif sequence is not None:
            if not 1 <= num_bins <= self.MAX_BINS:
                raise ValueError(f"num_bins must be between 1 and {self.MAX_BINS}, got {num_bins}")
            with np.errstate(over="ignore"):  # wider floats beyond float64 become inf: left out
                data = np.asarray(sequence, dtype=np.float64).ravel()
            data = data[np.isfinite(data)]
            counts, edges = _histogram(np, data, num_bins)
        else:
            raise ValueError("Histogram needs a sequence or np_histogram=(counts, bin_edges)")
        self.histogram = [int(c) for c in counts]
        self.bins = [float(e) for e in edges]

    def to_json(self, run_dir: Path | None = None, key: str = "", step: int = 0) -> dict[str, Any]:
        return {"_type": self._type, "bins": self.bins, "values": self.histogram}


def _histogram(np: Any, data: Any, num_bins: int) -> tuple[Any, Any]:
    """``np.histogram(data, bins=num_bins)``, also where NumPy refuses: a range wider than float64
    holds (``[-1.7e308, 1.7e308]``) or too narrow for ``num_bins`` distinct edges."""
    try:
        with np.errstate(over="raise", invalid="raise"):
            return np.histogram(data, bins=num_bins)
    except (ValueError, FloatingPointError):
        pass
    lo, hi = float(data.min()), float(data.max())
    # Halved, every span between two finite floats is finite; halving and doubling are exact.
    edges = np.unique(np.linspace(lo / 2, hi / 2, num_bins + 1) * 2)
    edges[0], edges[-1] = lo, hi
    if len(edges) < 2:  # every value the same: one bin holding them all
        edges = np.array([lo, hi])
    counts, _ = np.histogram(data, bins=edges)
    return counts, edges
