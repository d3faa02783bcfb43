"""Whole reads (issue 21): blocks decoded on several threads (a one-file read straight into the
table's columns, on one thread or several), a column held in every row sharing one row array,
``select`` without a gather when every row is kept and the DataFrame built without a copy return
exactly what one block at a time, the gather and a copied DataFrame returned."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import NO_CAPTURE

import turbotrack
from turbotrack import _core
from turbotrack.store import local

pd = pytest.importorskip("pandas")
ROWS = 3000  # several blocks at the block size below


def log_rows(run: Any, rank: int) -> None:
    for i in range(ROWS):
        row: dict[str, Any] = {"dense": float(i) if i % 97 else math.nan, "count": i * 1_000_000_007 + rank}
        if i % 3 == 0:
            row["sparse"] = None if i % 9 == 0 else -0.5 * i
        if i % 2 == 0:
            row["flag"] = i % 4 == 0
        if i % 50 == 0:
            row["text"] = f"s{i}"
        if i % 7 == 0:
            row["mixed"] = i if i % 14 == 0 else i + 0.5
        if 1000 <= i < 1500:
            row["late"] = 7  # an int column with gaps: pandas' nullable Int64
        run.log(row, step=i)


def make_runs(root: Path, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    monkeypatch.setenv("TURBOTRACK_BLOCK_ROWS", "512")
    settings = NO_CAPTURE
    one = turbotrack.init(dir=root, project="p", id="one", settings=settings)
    log_rows(one, 0)
    one.finish()
    for rank in range(3):
        run = turbotrack.init(dir=root, project="p", id="ddp", settings={**settings, "shared": True, "rank": rank})
        log_rows(run, rank)
        run.finish()
    api = turbotrack.Api(dir=root)
    return [api.run("p/one"), api.run("p/ddp")]


def same(a: Any, b: Any) -> None:
    if hasattr(a, "dtype"):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)  # NaN equal to NaN
    else:
        assert type(a) is type(b)
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert x == y or (x != x and y != y), (x, y)


def one_block_at_a_time(paths: list[Path], tmp: Path) -> list[Path]:
    """Paths that read as ``paths`` do, one block at a time: a one-file read (decoded straight
    into the table from the blocks' statistics) gets a second shard holding no rows (a copy of its
    header), which only the one-block-at-a-time path reads."""
    if len(paths) > 1:
        return paths
    data = Path(paths[0]).read_bytes()
    empty = tmp / "header-only.ttrk"
    empty.write_bytes(data[: 16 + int.from_bytes(data[6:8], "little") + 4])
    return [*paths, empty]


def test_threaded_read_and_every_row_select_equal_the_old_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = make_runs(tmp_path, monkeypatch)
    assert _core.verify_file(runs[0]._paths("default")[0])["blocks"] > 3
    assert len(runs[1]._paths("default")) == 3  # a shared run: one file per rank
    for run, threads in [(runs[0], "4"), (runs[0], "1"), (runs[1], "4")]:
        paths = run._paths("default")
        monkeypatch.setenv("TURBOTRACK_READ_THREADS", "1")
        old = _core.read_history(one_block_at_a_time(paths, tmp_path))
        monkeypatch.setenv("TURBOTRACK_READ_THREADS", threads)
        new = _core.read_history(paths)
        assert old["n_rows"] == new["n_rows"] == ROWS * (1 if run.id == "one" else 3)
        assert list(old["columns"]) == list(new["columns"]) and list(old["metrics"]) == list(new["metrics"])
        for k in old["columns"]:
            same(old["columns"][k], new["columns"][k])
        for k, (rows, values, kind) in old["metrics"].items():
            same(rows, new["metrics"][k][0])
            same(values, new["metrics"][k][1])
            assert kind == new["metrics"][k][2]
        assert list(old["nulls"]) == list(new["nulls"]) == ["sparse"]
        same(old["nulls"]["sparse"], new["nulls"]["sparse"])
        # The rows of a column in every row are one shared, read-only array.
        assert new["metrics"]["dense"][0] is new["metrics"]["count"][0]
        assert not new["metrics"]["dense"][0].flags.writeable

        n = new["n_rows"]
        names = [*new["columns"], *new["metrics"]]
        fast = local.select(new, None, "_step", None)
        slow = local._gather(n, new["columns"], new["metrics"], new["nulls"], names, np.arange(n))
        assert fast[0] == slow[0] == n and fast[2] == slow[2] and list(fast[1]) == list(slow[1])
        frames = [pd.DataFrame({k: local._dense(v, n) for k, v in s[1].items()}, index=range(n)) for s in (fast, slow)]
        pd.testing.assert_frame_equal(frames[0], frames[1])
        got = run.history(pandas=True)
        pd.testing.assert_frame_equal(got, frames[1])
        assert got["dense"].dtype == np.float64 and str(got["late"].dtype) == "Int64"
        assert str(got["flag"].dtype) == "boolean" and got["mixed"].dtype == np.float64
        # The list form: every value as logged, a logged None too.
        rows = run.history(pandas=False)
        assert len(rows) == n
        first = [r for r in rows if r["_step"] == 9]
        assert all(r["sparse"] is None and r["count"] == 9 * 1_000_000_007 + r.get("_rank", 0) for r in first)
        assert all("sparse" not in r for r in rows if r["_step"] == 10)
        assert [r["text"] for r in rows if r["_step"] == 50] == ["s50"] * len(first)
        assert all(type(r["mixed"]) is int for r in rows if r["_step"] == 14)
        # With keys (rows holding them): the gather path, the same values.
        picked = run.history(keys=["late"], pandas=True)
        assert len(picked) == 500 * len(first) and (picked["late"] == 7).all()
