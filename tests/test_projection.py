"""History column projection: ``read_history(paths, keys)`` decodes only the metrics asked for, and
``history(keys=...)`` (local and served) answers exactly as the full read does."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from turbotrack import _core
from turbotrack.store.local import LocalRun


def _run(new_run):
    run = new_run()
    for i in range(3000):
        row = {"a": i * 0.5, "b": i, "c": f"s{i}"} if i % 3 else {"a": float("nan"), "mixed": [1, "x", 2.5][i % 3 // 1]}
        if i % 7 == 0:
            row["mixed"] = "text" if i % 2 else i
        run.log(row)
    run.finish()
    return LocalRun(Path(run.dir))


def test_projection_reads_only_the_keys_and_lists_the_rest(new_run):
    local = _run(new_run)
    paths = local._paths("default")
    full = _core.read_history(paths)
    part = _core.read_history(paths, ["b", "mixed"])
    assert part["n_rows"] == full["n_rows"] and set(part["metrics"]) == {"b", "mixed"}
    assert set(part["skipped"]) == {"a", "c"} and full["skipped"] == []
    for k in ("b", "mixed"):
        for got, want in zip(part["metrics"][k], full["metrics"][k]):
            assert np.array_equal(np.asarray(got, dtype=object), np.asarray(want, dtype=object))
    for k, col in full["columns"].items():
        assert np.array_equal(part["columns"][k], col)
    names = _core.read_history(paths, [])
    assert names["metrics"] == {} and set(names["skipped"]) == {"a", "b", "c", "mixed"}


def test_history_with_keys_equals_the_full_read(new_run):
    local = _run(new_run)
    for keys, x in ((["a"], "_step"), (["b", "c"], "_runtime"), (["mixed"], "b")):
        got = local.history(keys=keys, x_axis=x, pandas=False)
        want = [{k: v for k, v in r.items() if k in (*keys, x)} for r in local.history(pandas=False)]
        want = [r for r in want if all(k in r for k in keys)]
        assert repr([sorted(r.items()) for r in got]) == repr([sorted(r.items()) for r in want]), keys  # NaN too
