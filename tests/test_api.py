"""Reading runs back through turbotrack.Api (CONTRACT: Reading runs back)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import api_run

import turbotrack


def _logged(new_run, **kw):
    run = new_run(**kw)
    for i in range(100):
        row = {"loss": 1.0 / (i + 1), "i": i}
        if i % 10 == 0:
            row["val/acc"] = i / 100
        run.log(row)
    run.finish()
    return run


def test_history_is_a_dataframe_with_nan_for_missing(new_run):
    run = _logged(new_run)
    df = api_run(run).history()
    assert isinstance(df, pd.DataFrame)
    assert len(df) == 100
    assert list(df["_step"]) == list(range(100))
    assert df["i"].dtype == np.int64
    assert df["val/acc"].notna().sum() == 10 and math.isnan(df["val/acc"][1])


def test_history_keys_samples_and_plain_rows(new_run):
    run = _logged(new_run)
    r = api_run(run)
    df = r.history(keys=["val/acc"])
    assert list(df.columns) == ["_step", "val/acc"] and list(df["_step"]) == list(range(0, 100, 10))
    assert len(r.history(samples=7)) == 7
    rows = r.history(pandas=False)
    assert rows[1] == {
        "_step": 1,
        "_timestamp": rows[1]["_timestamp"],
        "_runtime": rows[1]["_runtime"],
        "loss": 0.5,
        "i": 1,
    }
    assert r.history(keys=["nope"]).empty


def test_scan_history_keys_and_ranges(new_run):
    run = _logged(new_run)
    r = api_run(run)
    rows = list(r.scan_history(keys=["val/acc"]))
    assert [x["_step"] for x in rows] == list(range(0, 100, 10))
    assert set(rows[0]) == {"_step", "_timestamp", "_runtime", "val/acc"}
    assert [x["_step"] for x in r.scan_history(min_step=95)] == [95, 96, 97, 98, 99]


def test_run_fields_files_and_paths(new_run, root):
    run = _logged(new_run, name="first", config={"lr": 0.1}, tags=["a"], group="g", job_type="train", notes="n")
    for path in (run.path, f"{run.project}/{run.id}"):
        r = turbotrack.Api().run(path)
        assert (r.id, r.name, r.config, r.group, r.job_type, r.tags, r.notes) == (
            run.id,
            "first",
            {"lr": 0.1},
            "g",
            "train",
            ["a"],
            "n",
        )
    names = {f.name: f.size for f in api_run(run).files()}
    assert {"config.json", "summary.json", "run.json"} <= set(names) and all(s > 0 for s in names.values())
    with pytest.raises(ValueError, match="no run"):
        turbotrack.Api().run("tests/missing")
    with pytest.raises(ValueError, match="run path"):
        turbotrack.Api().run("just-one-part")


def test_summary_update_persists(new_run):
    run = _logged(new_run)
    r = api_run(run)
    r.summary["note"] = "checked"
    r.summary.update()
    assert api_run(run).summary["note"] == "checked"


def test_runs_filter_and_order(new_run):
    accs = {"a": 0.5, "b": 0.9, "c": 0.7}
    for name, acc in accs.items():
        run = new_run(name=name, group="sweep" if name != "c" else "other", reinit="create_new")
        run.summary["best_accuracy"] = acc
        run.finish()
    api = turbotrack.Api()
    ordered = api.runs("local/tests", order="-summary_metrics.best_accuracy")
    assert [r.name for r in ordered] == ["b", "c", "a"]
    assert [r.name for r in api.runs("tests", order="+summary_metrics.best_accuracy")] == ["a", "c", "b"]
    assert sorted(r.name for r in api.runs("local/tests", filters={"group": "sweep"})) == ["a", "b"]


def test_base_url_gives_a_remote_api(root):
    from turbotrack.api.remote import RemoteApi

    assert isinstance(turbotrack.Api(base_url="http://127.0.0.1:1"), RemoteApi)
    assert not isinstance(turbotrack.Api(), RemoteApi)
