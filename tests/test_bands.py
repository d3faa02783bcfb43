"""Min-max bands of downsampled history: ``downsample.bucket_bands`` and ``local.select_banded``
against a brute force over M4's buckets (NaN, infinities and nulls included), and the zoom-out from
block statistics answering the same bands as a whole read."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from turbotrack import _core
from turbotrack.server.history import HistoryCache, stream_paths
from turbotrack.store.downsample import bucket_bands, m4_bucket_count
from turbotrack.store.local import select, select_banded, zoom_bands


def _brute(x: list[float], y: list[float], kept: list[int], buckets: int) -> tuple[list[float], list[float]]:
    """Per kept row, the min and max of ``y`` over the rows of its bucket, one row at a time."""
    xs = [v for v in x if not math.isnan(v)]
    lo, hi = min(xs), max(xs)
    width = hi - lo

    def bucket_of(v: float) -> int:
        if not (width > 0 and math.isfinite(width)):
            return 0
        return min(int((v - lo) / width * buckets), buckets - 1)

    lows, highs = [], []
    for k in kept:
        if math.isnan(x[k]):
            lows.append(math.nan)
            highs.append(math.nan)
            continue
        b = bucket_of(x[k])
        vals = [y[i] for i in range(len(x)) if not math.isnan(x[i]) and bucket_of(x[i]) == b and not math.isnan(y[i])]
        lows.append(min(vals) if vals else math.nan)
        highs.append(max(vals) if vals else math.nan)
    return lows, highs


def _same(a: np.ndarray, b: list[float]) -> bool:
    return len(a) == len(b) and all((u == v) or (math.isnan(u) and math.isnan(v)) for u, v in zip(a.tolist(), b))


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("buckets", [1, 3, 16])
def test_bucket_bands_equal_a_brute_force(seed: int, buckets: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    x = np.sort(rng.uniform(-50, 50, n))
    x[rng.integers(0, n, 5)] = np.nan  # rows M4 never keeps
    y = rng.standard_normal(n)
    y[rng.integers(0, n, 30)] = np.nan  # no value (a NaN logged, a null, a row without the key)
    y[rng.integers(0, n, 3)] = np.inf
    y[rng.integers(0, n, 3)] = -np.inf
    if seed == 0:
        y[: n // 2] = np.nan  # whole buckets without a value: no band there
    kept = np.sort(rng.choice(n, 40, replace=False))
    lows, highs = bucket_bands(x, y, kept, buckets)
    want_lo, want_hi = _brute(x.tolist(), y.tolist(), kept.tolist(), buckets)
    assert _same(lows, want_lo) and _same(highs, want_hi)
    assert np.isinf(highs).any() or seed == 0  # an infinity is a value


def test_bucket_bands_of_a_flat_or_infinite_x_use_one_bucket() -> None:
    y = np.array([3.0, -1.0, np.nan, 7.0])
    for x in (np.full(4, 5.0), np.array([0.0, 1.0, np.inf, 2.0])):
        lows, highs = bucket_bands(x, y, np.arange(4), 8)
        assert lows.tolist() == [-1.0] * 4 and highs.tolist() == [7.0] * 4
    lows, highs = bucket_bands(np.full(3, np.nan), np.ones(3), np.arange(3), 4)
    assert np.isnan(lows).all() and np.isnan(highs).all()


def _table(n: int, seed: int) -> dict:
    """A table shaped as ``_core.read_history``'s: ``a`` in every row with NaN and infinities,
    ``b`` every third row with nulls, steps 0..n-1."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(n).cumsum()
    a[rng.integers(0, n, 20)] = np.nan
    a[7] = np.inf
    a[n // 2] = -np.inf
    b_rows = np.arange(0, n, 3)
    b = rng.standard_normal(len(b_rows))
    nulls = b_rows[rng.integers(0, len(b_rows), 10)]
    keep = ~np.isin(b_rows, nulls)
    return {
        "n_rows": n,
        "columns": {"_step": np.arange(n, dtype=np.int64)},
        "metrics": {
            "a": (np.arange(n, dtype=np.int64), a, "float"),
            "b": (b_rows[keep], b[keep], "float"),
        },
        "nulls": {"b": np.unique(nulls)},
    }


@pytest.mark.parametrize("keys", [["a"], ["b"], ["a", "b"]])
@pytest.mark.parametrize("samples,lo,hi", [(40, None, None), (13, 100.0, 700.0), (3, None, None)])
def test_select_banded_rows_are_selects_and_bands_are_the_buckets(keys, samples, lo, hi) -> None:
    data = _table(1000, 3)
    n, picked, nulls, bands = select_banded(data, keys, "_step", samples, lo, hi)
    assert (n, nulls) == select(data, keys, "_step", samples, lo, hi)[::2]
    assert set(bands) == set(keys)
    # the brute force: the rows select would answer without samples are those M4 ran over
    m, every, _ = select(data, keys, "_step", None, lo, hi)
    x = [float(v) for v in every["_step"][0]]
    steps = [int(v) for v in picked["_step"][0]]
    kept = [x.index(float(s)) for s in steps]
    buckets = m4_bucket_count(samples, len(keys))
    for k in keys:
        values, at = every[k]
        y = [math.nan] * m
        for i, v in zip(range(m) if at is None else at.tolist(), values.tolist()):
            y[i] = v
        want_lo, want_hi = _brute(x, y, kept, buckets)
        assert _same(bands[k][0], want_lo) and _same(bands[k][1], want_hi)
    # a band holds what it bounds: each answered value lies within its row's band
    for k in keys:
        values, at = picked[k]
        rows = range(n) if at is None else at.tolist()
        for i, v in zip(rows, values.tolist()):
            if not math.isnan(v):
                assert bands[k][0][i] <= v <= bands[k][1][i]


def test_no_bands_when_nothing_was_dropped() -> None:
    data = _table(100, 1)
    assert select_banded(data, ["a"], "_step", 100)[3] == {}
    assert select_banded(data, ["a"], "_step", None)[3] == {}
    assert select_banded(data, ["a"], "_step", 10, bands=False)[3] == {}


ROWS = 200_000  # 13 blocks of 16,384 rows: a zoom-out from block statistics


def test_a_zoom_out_from_block_statistics_answers_the_whole_reads_bands(new_run) -> None:
    run = new_run()
    rng = np.random.default_rng(2)
    ys = rng.standard_normal(ROWS).cumsum().tolist()
    for i, y in enumerate(ys):
        if i == 123_457:
            y = -1e9
        elif i % 997 == 0:
            y = None
        elif i % 1009 == 0:
            y = float("nan")
        elif i == 150_001:
            y = float("inf")
        run.log({"y": y})
    run.finish()
    (path,) = stream_paths(Path(run.dir), "history")
    samples = 16
    # M4's exact answer (straddling blocks decompressed): the whole read's bands exactly
    exact = _core.zoom_history(path, "y", samples, segments=False)
    assert exact is not None and exact["zoom"]["from_stats"] and not exact["zoom"]["segments"]
    bands_exact = zoom_bands(exact, "y", samples)["y"]
    whole = _core.read_history([path], ["y", "_step"])
    _n, picked, _nulls, bands = select_banded(whole, ["y"], "_step", samples)
    by_step = {int(s): (lo, hi) for s, lo, hi in zip(picked["_step"][0].tolist(), *bands["y"])}
    steps = exact["columns"]["_step"].tolist()
    assert all(s in by_step for s in steps)  # the whole read keeps M4's rows, and tops them up
    assert [by_step[s][0] for s in steps] == bands_exact[0].tolist()
    assert [by_step[s][1] for s in steps] == bands_exact[1].tolist()
    # from the segments' statistics (the default at 49 segments a bucket): the same extremes,
    # each band within the whole read's of its bucket (a segment cut by a bucket edge may lend
    # its extreme to the neighbour)
    z = _core.zoom_history(path, "y", samples)
    assert z is not None and z["zoom"]["segments"]
    fast = zoom_bands(z, "y", samples)["y"]
    assert -1e9 in fast[0].tolist() and math.inf in fast[1].tolist()
    assert min(fast[0].tolist()) == min(bands_exact[0].tolist()) and max(fast[1].tolist()) == math.inf
    steps = z["columns"]["_step"].tolist()
    x = whole["columns"]["_step"].astype(np.float64)
    rows, values, _ = whole["metrics"]["y"]
    y = np.full(len(x), np.nan)
    y[rows] = values
    buckets = samples // 4

    def of(v):
        return np.minimum(
            ((np.asarray(v, dtype=np.float64) - x[0]) / (x[-1] - x[0]) * buckets).astype(int), buckets - 1
        )

    true_lo = [np.nanmin(y[of(x) == b]) for b in range(buckets)]
    true_hi = [np.nanmax(y[of(x) == b]) for b in range(buckets)]
    for b, lo, hi in zip(of(steps), fast[0].tolist(), fast[1].tolist()):
        assert true_lo[b] <= lo <= hi <= true_hi[b]
    # the server's answer: the fast path with its bands, cached apart from the answer without
    cache = HistoryCache()
    served = cache.columnar([path], ["y"], "_step", samples, None, None, bands=True)
    assert served["columns"]["_step"] == steps
    assert served["bands"]["y"]["min"] == fast[0].tolist() and served["bands"]["y"]["max"] == fast[1].tolist()
    assert "bands" not in cache.columnar([path], ["y"], "_step", samples, None, None)
    # a narrow view (few blocks) is answered from a whole read with its bands
    assert not _core.zoom_history(path, "y", samples, 1000.0, 20000.0)["zoom"]["from_stats"]
    narrow = cache.columnar([path], ["y"], "_step", samples, 1000.0, 20000.0, bands=True)
    _n2, picked2, _, bands2 = select_banded(whole, ["y"], "_step", samples, 1000.0, 20000.0)
    assert narrow["columns"]["_step"] == picked2["_step"][0].tolist()
    assert narrow["bands"]["y"]["min"] == [None if v != v else v for v in bands2["y"][0].tolist()]
    assert narrow["bands"]["y"]["max"] == [None if v != v else v for v in bands2["y"][1].tolist()]
    # ... and, with as many rows as asked, from the decoded blocks' M4 rows: no whole read
    fresh = HistoryCache()
    again = fresh.columnar([path], ["y"], "_step", samples, 1000.0, 20000.0, bands=True)
    assert again == narrow and fresh._tables.used == 0
    few = fresh.columnar([path], ["y"], "_step", samples, 1000.0, 1005.0, bands=True)
    assert len(few["columns"]["_step"]) < samples and "bands" not in few  # nothing dropped: no bands
