"""History for the read API: columnar (with M4 downsampling and an x range) and rows (paged),
read by the native reader and cached while the files do not change."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from .. import _core
from ..store import layout
from ..store.local import projection, select


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

    def peek(self, key: Any) -> Any:
        """The item at ``key``, or None (without making it)."""
        with self._lock:
            return self._items.get(key)

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

    def table(self, paths: list[Path], keys: Optional[list[str]] = None) -> dict[str, Any]:
        """The decoded history of ``paths``; with ``keys``, only those metric columns (a projection)."""
        sig = signature(paths)
        if keys is not None:
            whole = self._tables.peek((tuple(paths), sig, None))
            if whole is not None:
                return dict(whole)
        key = (tuple(paths), sig, tuple(keys) if keys is not None else None)
        return dict(self._tables.get(key, lambda: _core.read_history(paths, keys)))

    def rows(self, paths: list[Path], keys: Optional[list[str]]) -> list[dict[str, Any]]:
        key = (tuple(paths), signature(paths), tuple(keys) if keys is not None else None)
        return self._rows.get(key, lambda: _core.read_rows(paths, keys))

    def keys(self, paths: list[Path]) -> list[str]:
        if not paths:
            return []
        data = self.table(paths, [])  # names only: no metric decoded
        return [*data["columns"], *data["metrics"], *data["skipped"]]

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
        n, picked = select(self.table(paths, projection(keys, x_axis)), keys, x_axis, samples, lo, hi)
        return {"x_axis": x_axis, "rows": n, "columns": {k: _jsonable(v, n) for k, v in picked.items()}}

    def columnar_each(
        self,
        paths: list[Path],
        keys: list[str],
        x_axis: str,
        samples: Optional[int],
        lo: Optional[float],
        hi: Optional[float],
    ) -> dict[str, Any]:
        """``{"x_axis", "keys": {key: columnar}}``: each key's own rows (those holding it), each
        downsampled on its own, in one answer: charts of metrics logged at different steps."""
        return {"x_axis": x_axis, "keys": {k: self.columnar(paths, [k], x_axis, samples, lo, hi) for k in keys}}


def _jsonable(col: tuple[Any, Any], n: int) -> list[Any]:
    """A column for JSON, ``n`` rows long: NaN and rows without a value are None."""
    values, at = col
    listed = values.tolist() if hasattr(values, "tolist") else list(values)
    if hasattr(values, "dtype") and values.dtype.kind == "f":
        listed = [None if v != v else v for v in listed]
    if at is None:
        return listed
    out: list[Any] = [None] * n
    for i, v in zip(at.tolist(), listed):
        out[i] = v
    return out
