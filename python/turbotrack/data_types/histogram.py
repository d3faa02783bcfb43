"""``Histogram``: a distribution of values, stored as bin edges and counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from .base import Media


class Histogram(Media):
    """A histogram of ``sequence`` with ``num_bins`` bins (at most 512), or of a precomputed
    ``np_histogram=(counts, bin_edges)``. NaN and infinities are left out of the bins."""

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
            data = np.asarray(sequence, dtype=np.float64).ravel()
            data = data[np.isfinite(data)]
            counts, edges = np.histogram(data, bins=num_bins)
        else:
            raise ValueError("Histogram needs a sequence or np_histogram=(counts, bin_edges)")
        self.histogram = [int(c) for c in counts]
        self.bins = [float(e) for e in edges]

    def to_json(self, run_dir: Path | None = None, key: str = "", step: int = 0) -> dict[str, Any]:
        return {"_type": self._type, "bins": self.bins, "values": self.histogram}
