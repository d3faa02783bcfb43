"""``history(samples=N)``: which rows M4 keeps (computed natively by ``_core.m4_indices``)."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from .. import _core


def m4_rows(columns: dict[str, Any], rows: Any, x_axis: str, keys: Optional[Sequence[str]], samples: int) -> Any:
    """The subset of ``rows`` (indices into ``columns``) that M4 keeps for at most ``samples`` rows:
    per bucket of the ``x_axis`` range, the first and last row and each key's min and max row."""
    import numpy as np  # imported here: `import turbotrack` must not import NumPy

    if samples <= 0:
        return rows[:0]
    if len(rows) <= samples:
        return rows
    x = _numeric(columns.get(x_axis), rows)
    if x is None:
        x = np.asarray(rows, dtype=np.float64)
    names = [k for k in (keys if keys is not None else columns) if k != x_axis and not k.startswith("_")]
    ys = [y for y in (_numeric(columns.get(k), rows) for k in names) if y is not None]
    kept = _core.m4_indices(np.ascontiguousarray(x), [np.ascontiguousarray(y) for y in ys], samples)
    return rows[kept]


def _numeric(col: Any, rows: Any) -> Optional[Any]:
    """``col[rows]`` as float64, or None when the column is not numbers."""
    if col is None or not hasattr(col, "dtype") or col.dtype.kind not in "fiub":
        return None
    return col[rows].astype("float64")


def m4_bucket_count(samples: int, series: int) -> int:
    """How many buckets ``_core.m4_indices`` cuts the x range into for ``samples`` rows of ``series`` series."""
    return max(1, samples // (4 * max(1, series)))


def bucket_bands(x: Any, y: Any, kept: Any, buckets: int) -> tuple[Any, Any]:
    """The min and max of ``y`` over the bucket each of the ``kept`` rows falls in.

    ``x`` and ``y`` (float64, as long as each other) are the rows M4 ran over; ``kept`` are the
    positions in them of the answered rows. Buckets are M4's: ``buckets`` equal parts of the range
    of the x values that are not NaN (all in the first when that range is empty or infinite). A
    NaN in ``y`` is no value; an infinity is one. Returns two float64 arrays aligned with ``kept``,
    NaN where a bucket holds no value (or a kept row's x is NaN)."""
    import numpy as np

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    kept = np.asarray(kept, dtype=np.int64)
    lows, highs = np.full(len(kept), np.nan), np.full(len(kept), np.nan)
    valid = ~np.isnan(x)
    if not valid.any() or not len(kept):
        return lows, highs
    buckets = max(1, int(buckets))
    lo, hi = float(x[valid].min()), float(x[valid].max())
    width = hi - lo
    bucket = np.zeros(len(x), dtype=np.int64)
    if width > 0 and np.isfinite(width):
        with np.errstate(invalid="ignore"):
            scaled = (x[valid] - lo) / width * buckets
        bucket[valid] = np.minimum(scaled.astype(np.int64), buckets - 1)
    held = valid & ~np.isnan(y)
    mins, maxs = np.full(buckets, np.inf), np.full(buckets, -np.inf)
    np.minimum.at(mins, bucket[held], y[held])
    np.maximum.at(maxs, bucket[held], y[held])
    filled = np.zeros(buckets, dtype=bool)
    filled[bucket[held]] = True
    mins[~filled], maxs[~filled] = np.nan, np.nan
    ok = valid[kept]
    lows[ok], highs[ok] = mins[bucket[kept[ok]]], maxs[bucket[kept[ok]]]
    return lows, highs
