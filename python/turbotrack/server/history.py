"""History for the read API: columnar (with M4 downsampling and an x range) and rows (paged),
read by the native reader and cached while the files do not change."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from .. import _core
from ..api.downsample import m4_rows
from ..store import layout


def stream_paths(run_dir: Path, stream: str) -> list[Path]:
    if stream not in layout.STREAM_GLOBS:
        raise ValueError(f"stream must be 'history' or 'system', got {stream!r}")
    return sorted(run_dir.glob(layout.STREAM_GLOBS[stream]))


def signature(paths: Sequence[Path]) -> str:
    """Changes whenever any of the files does (sizes and mtimes)."""
    parts = []
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            continue
        parts.append(f"{p.name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha1("|".join(parts).encode()).hexdigest()


class _Lru:
    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value


class HistoryCache:
    """Decoded history of the runs read last."""

    def __init__(self) -> None:
        self._tables = _Lru(8)
        self._rows = _Lru(2)

    def table(self, paths: list[Path]) -> dict[str, Any]:
        return self._tables.get((tuple(paths), signature(paths)), lambda: _core.read_history(paths))

    def rows(self, paths: list[Path], keys: Optional[list[str]]) -> list[dict[str, Any]]:
        key = (tuple(paths), signature(paths), tuple(keys) if keys is not None else None)
        return self._rows.get(key, lambda: _core.read_rows(paths, keys))

    def keys(self, paths: list[Path]) -> list[str]:
        return list(self.table(paths)["columns"]) if paths else []

    def columnar(
        self,
        paths: list[Path],
        keys: Optional[list[str]],
        x_axis: str,
        samples: Optional[int],
        lo: Optional[float],
        hi: Optional[float],
    ) -> dict[str, Any]:
        """``{"x_axis", "rows", "columns"}`` as the history endpoint answers (NaN and gaps: None)."""
        if not paths:
            return {"x_axis": x_axis, "rows": 0, "columns": {}}
        data = self.table(paths)
        columns: dict[str, Any] = data["columns"]
        present: dict[str, Any] = data["present"]
        keep = np.ones(data["n_rows"], dtype=bool)
        if keys is not None:
            for k in keys:
                if k in present:
                    keep &= present[k]
                elif not k.startswith("_"):
                    keep[:] = False
            wanted = [*dict.fromkeys([x_axis, *keys])]
            columns = {k: v for k, v in columns.items() if k in wanted}
        x = columns.get(x_axis)
        if (lo is not None or hi is not None) and x is not None and hasattr(x, "dtype"):
            xf = x.astype(np.float64)
            if lo is not None:
                keep &= xf >= lo
            if hi is not None:
                keep &= xf <= hi
        rows = np.flatnonzero(keep)
        if samples is not None and len(rows) > samples:
            rows = m4_rows(columns, rows, x_axis, keys, samples)
        out = {k: _jsonable(v, rows) for k, v in columns.items()}
        return {"x_axis": x_axis, "rows": len(rows), "columns": out}


def _jsonable(col: Any, rows: Any) -> list[Any]:
    if hasattr(col, "dtype"):
        picked = col[rows]
        if picked.dtype.kind == "f" and np.isnan(picked).any():
            obj = picked.astype(object)
            obj[np.isnan(picked)] = None
            return list(obj.tolist())
        return list(picked.tolist())
    return [col[i] for i in rows]
