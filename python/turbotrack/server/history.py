"""History for the read API: columnar (with M4 downsampling and an x range) and rows (paged),
read by the native reader and cached, bounded in bytes, while the files do not change."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Optional, Sequence, Union, overload

from .. import _core
from ..store import layout
from ..store.local import Bands, projection, select_banded, zoom_bands, zoomed


def stream_paths(run_dir: Path, stream: str) -> list[Path]:
    """The history (or system) files of a run folder; none when the folder (or its project or
    entity) is a symbolic link, and never a file that is one."""
    if stream not in layout.STREAM_GLOBS:
        raise ValueError(f"stream must be 'history' or 'system', got {stream!r}")
    if not layout.is_plain_run_dir(run_dir):
        return []
    return sorted(layout.plain_files(run_dir.glob(layout.STREAM_GLOBS[stream])))


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


def _extents(paths: Sequence[Path]) -> tuple[tuple[int, int], ...]:
    """Each file's (inode, size) now ((0, -1) for one that is gone)."""
    out = []
    for p in paths:
        try:
            st = p.stat()
            out.append((st.st_ino, st.st_size))
        except OSError:
            out.append((0, -1))
    return tuple(out)


def _grown_from(then: Any, now: tuple[tuple[int, int], ...]) -> bool:
    """Whether the files are those of ``then``, each as long or longer (they only grow by appends)."""
    return len(then) == len(now) and all(a[0] == b[0] and 0 <= a[1] <= b[1] for a, b in zip(then, now))


class _ByteLru:
    """Items with a size in bytes, the least recently used dropped once their total passes ``budget``
    (an item larger than the budget is handed back, never kept). Concurrent misses on one key make
    it once: the others wait for that one (so four readers of one run decode it once)."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._items: OrderedDict[Any, tuple[Any, int]] = OrderedDict()
        self._making: dict[Any, threading.Event] = {}
        self._lock = threading.Lock()

    def peek(self, key: Any) -> Any:
        """The item at ``key``, or None (without making it)."""
        with self._lock:
            item = self._items.get(key)
            return None if item is None else item[0]

    def get(self, key: Any, make: Callable[[], tuple[Any, int]]) -> Any:
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key][0]
                busy = self._making.get(key)
                if busy is None:
                    self._making[key] = threading.Event()
                    break
            busy.wait()
        try:
            value, size = make()
        finally:
            with self._lock:
                self._making.pop(key).set()
        with self._lock:
            if key not in self._items and size <= self.budget:
                self._items[key] = (value, size)
                self.used += size
            while self.used > self.budget and self._items:
                self.used -= self._items.popitem(last=False)[1][1]
        return value


def table_bytes(data: dict[str, Any]) -> int:
    """About what a table ``_core.read_history`` returned holds in memory, in bytes."""

    def size(v: Any) -> int:
        if v is None:
            return 0
        nbytes = getattr(v, "nbytes", None)
        if nbytes is not None:
            return int(nbytes)
        return 64 * len(v)  # a list of Python objects: pointers, boxes, small strings

    total = 1024
    for arr in data.get("columns", {}).values():
        total += size(arr)
    for rows, values, _kind in data.get("metrics", {}).values():
        total += size(rows) + size(values)
    for arr in data.get("nulls", {}).values():
        total += size(arr)
    return total


class _Scans:
    """Row scans paused where a page ended, so that the next page goes on from there instead of
    reading again from the first row: at most ``size`` of them (each holds one decoded block per
    file), taken out while in use."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Any, tuple[Any, list[dict[str, Any]], Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, base: Any, offset: int) -> Optional[tuple[Any, list[dict[str, Any]], Any, int]]:
        """The scan of ``base`` paused nearest before ``offset`` (with the row it is at), taken out;
        None when there is none. Nearest, not only exactly there: with several server processes the
        pages of one reader land on each in turn, and each goes on from the page it served last."""
        with self._lock:
            at = max((k[1] for k in self._items if k[0] == base and k[1] <= offset), default=None)
            if at is None:
                return None
            scan, pending, opened = self._items.pop((base, at))
            return scan, pending, opened, at

    def put(self, key: Any, scan: Any, pending: list[dict[str, Any]], opened: Any) -> None:
        """Keep ``scan`` (with the rows it read past the page) and the files' extents when it opened."""
        with self._lock:
            self._items[key] = (scan, pending, opened)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


#: Bytes of downsampled answers kept (about 100 KB per run of ten 600-point charts: some 600 runs).
ANSWER_BUDGET = 64 << 20
#: Bytes of decoded tables kept (a 1M-step run's steps, times and one metric take about 40 MB).
TABLE_BUDGET = 64 << 20
#: Rows decoded at a time while skipping to a page's offset.
SKIP_PAGE = 4096


class HistoryCache:
    """Decoded history of the runs read last, and the downsampled answers given last.

    A chart asks for one run's keys at its pixel width: that answer (a few KB per key) is kept per
    (files' signature, key, x-axis, samples, range), bounded in bytes, so a workspace visited again
    (or the same charts in another tab) is answered without decoding or downsampling; the decoded
    tables (megabytes each) are bounded in bytes too. Rows are read a page at a time
    (:meth:`rows_page`), never the whole run."""

    def __init__(self, answer_budget: int = ANSWER_BUDGET, table_budget: int = TABLE_BUDGET) -> None:
        self._tables = _ByteLru(table_budget)
        self._answers = _ByteLru(answer_budget)
        self._scans = _Scans(8)
        #: Whole decodes at once: more than the cores only add memory (each a table being built).
        self._decoding = threading.BoundedSemaphore(max(1, min(4, os.cpu_count() or 1)))
        #: Rows decoded into dicts by :meth:`rows_page` (for tests and benchmarks: a page costs its rows).
        self.rows_decoded = 0

    def table(self, paths: list[Path], keys: Optional[list[str]] = None) -> dict[str, Any]:
        """The decoded history of ``paths``; with ``keys``, only those metric columns (a projection)."""
        sig = signature(paths)
        if keys is not None:
            whole = self._tables.peek(_key(paths, None, sig))
            if whole is not None:
                return dict(whole)

        def make() -> tuple[dict[str, Any], int]:
            with self._decoding:
                data = _core.read_history(paths, keys)
            return data, table_bytes(data)

        return dict(self._tables.get(_key(paths, keys, sig), make))

    def rows(self, paths: list[Path], keys: Optional[list[str]]) -> RowsView:
        """The rows as a sequence read page by page: a slice ``[offset:offset + limit]`` reads what
        :meth:`rows_page` does, ``len()`` counts rows block by block; nothing holds the whole run."""
        return RowsView(self, paths, keys)

    def rows_page(
        self, paths: list[Path], keys: Optional[list[str]], offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], Optional[int]]:
        """Rows ``offset`` to ``offset + limit`` (in ``_step`` then rank order; with ``keys``, the
        rows holding all of them), and the offset of the next page (None after the last row). Only
        the blocks up to that page are read, one block per file at a time; the scan is kept where
        the page ended, so the next page reads on from there."""
        if offset < 0:
            raise ValueError(f"offset must be 0 or more, got {offset}")
        if limit < 1:
            raise ValueError(f"limit must be 1 or more, got {limit}")
        if not paths:
            return [], None
        # Kept by the files and the projection, not by their signature: a running run's files grow
        # between pages, and the scan the first page opened goes on over the rows there were then
        # (as a local scan does), so a page costs its rows, not all the rows before it.
        base = (tuple(paths), tuple(keys) if keys is not None else None)
        now = _extents(paths)
        kept = self._scans.take(base, offset)
        if kept is not None and _grown_from(kept[2], now):
            scan, buf, opened, at = kept  # buf: the rows from ``at`` on, read past the page it served
            drop = min(offset - at, len(buf))
            buf, at = buf[drop:], at + drop
        else:
            scan, buf, at, opened = _core.HistoryScan(paths, keys), [], 0, now
        while at < offset:  # skip to the page, a few thousand rows at a time
            got = scan.next_page(min(offset - at, SKIP_PAGE))
            if not got:
                return [], None
            self.rows_decoded += len(got)
            at += len(got)
        while len(buf) <= limit:  # the page and one row more: whether another page follows
            got = scan.next_page(limit + 1 - len(buf))
            if not got:
                break
            self.rows_decoded += len(got)
            buf.extend(got)
        page, rest = buf[:limit], buf[limit:]
        if not rest:
            return page, None
        self._scans.put((base, offset + limit), scan, rest, opened)
        return page, offset + limit

    def keys(self, paths: list[Path]) -> list[str]:
        if not paths:
            return []
        names = _core.history_names(paths)  # from the blocks' statistics: nothing decompressed
        if names is not None:
            return names
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
        bands: bool = False,
    ) -> dict[str, Any]:
        """``{"x_axis", "rows", "columns", "nulls"}`` as the history endpoint answers (NaN, gaps and
        nulls: None; ``nulls``: per key, the rows where it was logged as None). With ``bands``, when
        M4 dropped rows, also ``"bands": {key: {"min": [...], "max": [...]}}``: aligned with the
        rows, the min and max of the M4 bucket each row falls in (None where it holds no value)."""
        if not paths:
            return {"x_axis": x_axis, "rows": 0, "columns": {}}
        key = (*_key(paths, keys), x_axis, samples, lo, hi, bands)
        return self._answers.get(key, lambda: self._columnar(paths, keys, x_axis, samples, lo, hi, bands))

    def _columnar(
        self,
        paths: list[Path],
        keys: Optional[list[str]],
        x_axis: str,
        samples: Optional[int],
        lo: Optional[float],
        hi: Optional[float],
        bands: bool,
    ) -> tuple[dict[str, Any], int]:
        # A null (a logged None) is no value: None in its row (a gap in the chart), and its row
        # listed under "nulls", so that rows read back hold the key (with None) as logged.
        data = zoomed(paths, keys, x_axis, samples, lo, hi)
        found: Bands = {}
        if data is not None and bands and not data["zoom"]["from_stats"] and data["n_rows"] < (samples or 0):
            # Answered from decoded blocks with fewer rows than asked: whether M4 dropped rows is not
            # known from the answer, so bands come from a whole read (the table cache keeps it). With
            # as many rows as asked, M4 kept each bucket's min and max rows: the bands are theirs
            # (equal to a whole read's, tests/test_bands.py), without decoding the whole history.
            data = None
        if data is not None:  # from the blocks' statistics: the rows kept already
            n, picked, nulls, _ = select_banded(data, keys, x_axis, None, bands=False)
            if bands and keys and samples:
                found = zoom_bands(data, keys[0], samples)
        else:
            table = self.table(paths, projection(keys, x_axis))
            n, picked, nulls, found = select_banded(table, keys, x_axis, samples, lo, hi, bands=bands)
        columns = {k: _jsonable(v, n) for k, v in picked.items()}
        out: dict[str, Any] = {"x_axis": x_axis, "rows": n, "columns": columns, "nulls": nulls}
        if found:
            out["bands"] = {k: {"min": _floats(a), "max": _floats(b)} for k, (a, b) in found.items()}
        return out, 200 + 24 * n * max(1, len(columns) + 2 * len(found))  # about what the lists of floats hold

    def columnar_each(
        self,
        paths: list[Path],
        keys: list[str],
        x_axis: str,
        samples: Optional[int],
        lo: Optional[float],
        hi: Optional[float],
        bands: bool = False,
    ) -> dict[str, Any]:
        """``{"x_axis", "keys": {key: columnar}}``: each key's own rows (those holding it), each
        downsampled on its own, in one answer: charts of metrics logged at different steps."""
        return {
            "x_axis": x_axis,
            "keys": {k: self.columnar(paths, [k], x_axis, samples, lo, hi, bands) for k in keys},
        }


class RowsView(Sequence[dict[str, Any]]):
    """A run's rows (see :meth:`HistoryCache.rows`): slices and indices from :meth:`HistoryCache.rows_page`."""

    def __init__(self, cache: HistoryCache, paths: list[Path], keys: Optional[list[str]]) -> None:
        self._cache, self._paths, self._keys = cache, paths, keys
        self._len: Optional[int] = None

    @overload
    def __getitem__(self, i: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, i: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, i: Union[int, slice]) -> Union[dict[str, Any], list[dict[str, Any]]]:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self)) if _needs_len(i) else (i.start or 0, i.stop, 1)
            if step != 1:
                return list(self[start:stop])[::step]
            if stop <= start:
                return []
            return self._cache.rows_page(self._paths, self._keys, start, stop - start)[0]
        at = i + len(self) if i < 0 else i
        page = self._cache.rows_page(self._paths, self._keys, at, 1)[0] if at >= 0 else []
        if not page:
            raise IndexError("row index out of range")
        return page[0]

    def __len__(self) -> int:
        if self._len is None:
            if not self._paths:
                self._len = 0
            elif self._keys is None:  # whole blocks, as readers see them, one block at a time
                self._len = sum(int(_core.verify_file(p)["rows"]) for p in self._paths)
            else:  # rows holding all of the keys: read through, a page at a time
                scan, n = _core.HistoryScan(self._paths, self._keys), 0
                while page := scan.next_page(SKIP_PAGE):
                    n += len(page)
                self._len = n
        return self._len


def _needs_len(i: slice) -> bool:
    return i.step not in (None, 1) or i.stop is None or (i.start or 0) < 0 or i.stop < 0


def _floats(values: Any) -> list[Optional[float]]:
    """A float64 array for JSON: NaN is None (an infinity stays, sent as ``"Infinity"``)."""
    return [None if v != v else v for v in values.tolist()]


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
