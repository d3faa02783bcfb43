"""Zoom-outs from block statistics (format version 3): ``history(keys=[one], samples=N)`` of a
run with many blocks reads each block's statistics and decompresses only the blocks straddling
a bucket edge; its rows are M4's over a whole read (each bucket's first, last, min and max), so a
spike is kept; over many segments a bucket, the segments' statistics answer it undecompressed; the server answers the same, and lists a run's keys from the statistics alone."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np

from turbotrack import _core
from turbotrack.server.history import HistoryCache, _jsonable
from turbotrack.store.local import LocalRun, projection, select

ROWS = 200_000  # 13 blocks of 16,384 rows


def _run(new_run):
    run = new_run()
    rng = np.random.default_rng(1)
    ys = rng.standard_normal(ROWS).cumsum().tolist()
    for i, y in enumerate(ys):
        row = {"y": y, "k": i % 1000}
        if i == 123_457:
            row["y"] = -1e9  # the spike
        elif i % 997 == 0:
            row["y"] = None
        elif i % 1009 == 0:
            row["y"] = float("nan")
        run.log(row)
    run.finish()
    return LocalRun(Path(run.dir))


def _m4_buckets(x: np.ndarray, y: np.ndarray, buckets: int) -> set[int]:
    """M4's rows of a whole read, as ``downsample::m4_buckets`` defines them."""
    lo, hi = x.min(), x.max()
    b = np.minimum(((x - lo) / (hi - lo) * buckets).astype(np.int64), buckets - 1)
    keep: set[int] = set()
    for k in range(buckets):
        idx = np.flatnonzero(b == k)
        if not len(idx):
            continue
        keep |= {int(idx[0]), int(idx[-1])}
        vals = y[idx]
        ok = ~np.isnan(vals)
        if ok.any():
            keep |= {int(idx[ok][np.argmin(vals[ok])]), int(idx[ok][np.argmax(vals[ok])])}
    return keep


def _rows(z):
    """A zoom answer's rows as (step, value or None)."""
    rows, values, _ = z["metrics"]["y"]
    y: list = [None] * z["n_rows"]
    for i, v in zip(rows.tolist(), values.tolist()):
        y[i] = v
    return list(zip(z["columns"]["_step"].tolist(), y))


def test_a_wide_view_is_m4_over_whole_blocks_and_keeps_the_spike(new_run):
    local = _run(new_run)
    path = local._paths("default")[0]
    full = local.history(keys=["y"], pandas=False)
    x = np.array([r["_step"] for r in full], dtype=np.float64)
    y = np.array([np.nan if r["y"] is None else r["y"] for r in full])
    want = [full[i] for i in sorted(_m4_buckets(x, y, 4))]
    # Exactly M4 over a whole read, decompressing only the blocks straddling a bucket edge.
    exact = _core.zoom_history(path, "y", 16, segments=False)
    assert exact is not None and exact["zoom"]["from_stats"] and not exact["zoom"]["segments"], exact["zoom"]
    assert 0 < exact["zoom"]["decoded"] < exact["zoom"]["blocks"] == 13
    got = _rows(exact)
    assert [s for s, _ in got] == [r["_step"] for r in want]
    assert all(a == b["y"] or (a != a and b["y"] != b["y"]) for (_, a), b in zip(got, want))
    # By default, 49 segments a bucket: from the segments' statistics, nothing decompressed; real
    # rows, the spike and the maximum kept, and every row M4 keeps within a segment (1,024 rows)
    # of one answered.
    z = _core.zoom_history(path, "y", 16)
    assert z is not None and z["zoom"]["segments"] and z["zoom"]["decoded"] == 0, z["zoom"]
    fast = local.history(keys=["y"], samples=16, pandas=False)
    assert [(r["_step"], r["y"]) for r in fast] == _rows(z)
    assert 0 < len(fast) <= 16
    by_step = {r["_step"]: r["y"] for r in full}
    assert all(by_step[r["_step"]] == r["y"] or r["y"] != r["y"] for r in fast)
    values = [r["y"] for r in fast if r["y"] is not None]
    assert -1e9 in values and max(values) == np.nanmax(y)
    assert all(min(abs(w["_step"] - r["_step"]) for r in fast) <= 1024 for w in want)
    # the server's answer is the same rows, and its key list comes from the statistics
    cache = HistoryCache()
    served = cache.columnar([path], ["y"], "_step", 16, None, None)
    assert served["columns"]["_step"] == [r["_step"] for r in fast]
    whole = _core.read_history([path], [])
    assert (
        cache.keys([path]) == [*whole["columns"], *whole["metrics"], *whole["skipped"]] == _core.history_names([path])
    )


def test_a_narrow_view_answers_as_a_whole_read(new_run):
    local = _run(new_run)
    path = local._paths("default")[0]
    for samples, lo, hi in [(1000, None, None), (300, 50_000, 90_000), (5000, 1000, 2000)]:
        z = _core.zoom_history(path, "y", samples, lo, hi)
        assert z is not None and not z["zoom"]["from_stats"]
        cache = HistoryCache()
        fast = cache.columnar([path], ["y"], "_step", samples, lo, hi)
        n, picked, nulls = select(cache.table([path], projection(["y"], "_step")), ["y"], "_step", samples, lo, hi)
        assert fast["rows"] == n
        assert fast["columns"] == {k: _jsonable(v, n) for k, v in picked.items()}
        assert fast["nulls"] == nulls


def test_files_without_statistics_are_read_whole(new_run, tmp_path):
    local = _run(new_run)
    path = local._paths("default")[0]
    assert _core.zoom_history(path, "y", 16) is not None
    # The file's first block with its statistics frame cut out (a version-2 block): no zoom.
    data = bytearray(path.read_bytes())
    head = 4 + 2 + 2 + 8 + int.from_bytes(data[6:8], "little") + 4
    assert data[head : head + 4] == b"TTBK"
    skip = int.from_bytes(data[head + 24 : head + 28], "little") + 8
    comp_len = int.from_bytes(data[head + 4 : head + 8], "little") - skip
    body = data[head + 20 + skip : head + 20 + skip + comp_len]
    block = bytearray(b"TTBK") + comp_len.to_bytes(4, "little") + data[head + 8 : head + 16]
    crc = zlib.crc32(bytes(block[4:16]) + bytes(body))
    block += crc.to_bytes(4, "little") + body
    old = data[:head] + block + data[head + 20 + skip + comp_len :]
    copy = tmp_path / "history.ttrk"
    copy.write_bytes(bytes(old))
    assert _core.zoom_history(copy, "y", 16) is None
    assert _core.history_names([copy]) is None
    assert _core.read_history([copy], ["y"])["n_rows"] == ROWS  # every block still reads
