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


def _key(paths: Sequence[Path], keys: Optional[Sequence[str]], sig: Optional[str] = None) -> tuple[Any, ...]:
    """The cache key of ``paths`` as they are now (``sig``: their :func:`signature`, when known) and a projection."""
    return (tuple(paths), signature(paths) if sig is None else sig, tuple(keys) if keys is not None else None)


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


class _ByteLru:
    """Items with a size in bytes, the least recently used dropped once their total passes ``budget``."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any, make: Callable[[], tuple[Any, int]]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][0]
        value, size = make()
        with self._lock:
            if key not in self._items:
                self._items[key] = (value, size)
                self.used += size
            while self.used > self.budget and self._items:
                self.used -= self._items.popitem(last=False)[1][1]
        return value


#: Bytes of downsampled answers kept (about 100 KB per run of ten 600-point charts: some 600 runs).
ANSWER_BUDGET = 64 << 20


class HistoryCache:
    """Decoded history of the runs read last, and the downsampled answers given last.

    A chart asks for one run's keys at its pixel width: that answer (a few KB per key) is kept per
    (files' signature, key, x-axis, samples, range), bounded in bytes, so a workspace visited again
    (or the same charts in another tab) is answered without decoding or downsampling; the decoded
    tables (megabytes each) stay few."""

    def __init__(self, answer_budget: int = ANSWER_BUDGET) -> None:
        self._tables = _Lru(8)
        self._rows = _Lru(2)
        self._answers = _ByteLru(answer_budget)

    def table(self, paths: list[Path], keys: Optional[list[str]] = None) -> dict[str, Any]:
        """The decoded history of ``paths``; with ``keys``, only those metric columns (a projection)."""
        sig = signature(paths)
        if keys is not None:
            whole = self._tables.peek(_key(paths, None, sig))
            if whole is not None:
                return dict(whole)
        return dict(self._tables.get(_key(paths, keys, sig), lambda: _core.read_history(paths, keys)))

    def rows(self, paths: list[Path], keys: Optional[list[str]]) -> list[dict[str, Any]]:
        return self._rows.get(_key(paths, keys), lambda: _core.read_rows(paths, keys))

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
        """``{"x_axis", "rows", "columns", "nulls"}`` as the history endpoint answers (NaN, gaps and
        nulls: None; ``nulls``: per key, the rows where it was logged as None)."""
        if not paths:
            return {"x_axis": x_axis, "rows": 0, "columns": {}}
        key = (*_key(paths, keys), x_axis, samples, lo, hi)
        return self._answers.get(key, lambda: self._columnar(paths, keys, x_axis, samples, lo, hi))

    def _columnar(
        self,
        paths: list[Path],
        keys: Optional[list[str]],
        x_axis: str,
        samples: Optional[int],
        lo: Optional[float],
        hi: Optional[float],
    ) -> tuple[dict[str, Any], int]:
        # A null (a logged None) is no value: None in its row (a gap in the chart), and its row
        # listed under "nulls", so that rows read back hold the key (with None) as logged.
        n, picked, nulls = select(self.table(paths, projection(keys, x_axis)), keys, x_axis, samples, lo, hi)
        columns = {k: _jsonable(v, n) for k, v in picked.items()}
        out = {"x_axis": x_axis, "rows": n, "columns": columns, "nulls": nulls}
        return out, 200 + 24 * n * max(1, len(columns))  # about what the lists of floats hold

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
