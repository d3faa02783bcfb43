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
