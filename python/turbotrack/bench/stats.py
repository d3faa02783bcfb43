"""Small statistics: latency percentiles, the median and spread over repetitions, ratios."""

from __future__ import annotations

import math
import statistics
from typing import Mapping, Optional, Sequence

#: Figures reported for each library and workload, in table order, with their units.
FIGURES: dict[str, str] = {
    "p50_us": "µs",
    "p99_us": "µs",
    "max_us": "µs",
    "loop_s": "s",
    "startup_s": "s",
    "finish_s": "s",
    "cpu_s": "s",
    "peak_rss_mb": "MiB",
    "disk_bytes": "B",
    "bytes_per_point": "B",
}


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of already sorted values, interpolated linearly (NumPy's
    default). Empty input gives NaN."""
    n = len(sorted_values)
    if n == 0:
        return math.nan
    pos = (n - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return sorted_values[lo] * (1.0 - frac) + sorted_values[hi] * frac


def latency_figures(latencies_ns: Sequence[int]) -> dict[str, float]:
    """p50/p99/max of per-call latencies, in microseconds."""
    ordered = sorted(latencies_ns)
    return {
        "p50_us": percentile(ordered, 50) / 1e3,
        "p99_us": percentile(ordered, 99) / 1e3,
        "max_us": (ordered[-1] / 1e3) if ordered else math.nan,
    }


def summarize(reps: Sequence[Mapping[str, Optional[float]]]) -> tuple[dict, dict]:
    """Median of each figure over repetitions, and its spread ``[min, max]``.

    A figure missing (None) in some repetitions is summarized over the others; missing in all: None.
    """
    medians: dict[str, Optional[float]] = {}
    spread: dict[str, Optional[list[float]]] = {}
    for name in FIGURES:
        values: list[float] = [v for v in (r.get(name) for r in reps) if v is not None]
        if not values:
            medians[name], spread[name] = None, None
            continue
        medians[name] = statistics.median(values)
        spread[name] = [min(values), max(values)]
    return medians, spread


def ratio(value: Optional[float], base: Optional[float]) -> Optional[float]:
    """``value / base``, or None where either is missing or the base is zero."""
    if value is None or base is None or base == 0 or math.isnan(base) or math.isnan(value):
        return None
    return value / base
