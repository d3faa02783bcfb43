"""Summaries: last value by default, define_metric words, globs, step_metric, NaN rule, values set
by hand, tensors (CONTRACT: Summary)."""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import api_run, rows_of

import turbotrack


def test_default_summary_is_last_value(new_run):
    run = new_run()
    for i in range(5):
        run.log({"loss": 5.0 - i, "name": f"s{i}"})
    assert run.summary["loss"] == 1.0
    assert run.summary["name"] == "s4"
    assert run.summary["_step"] == 4
    run.finish()
    summary = json.loads((Path(run.dir) / "summary.json").read_text())
    assert summary["loss"] == 1.0 and summary["_step"] == 4


def test_summary_reflects_every_log_before_it_immediately(new_run):
    run = new_run(settings={"flush_interval": 60})
    for i in range(10_000):
        run.log({"x": i})
        if i % 997 == 0:
            assert run.summary["x"] == i
    run.log({"y": 1}, commit=False)  # pending rows count too
    assert run.summary["y"] == 1


def test_summary_read_from_another_thread_sees_prior_logs(new_run):
    run = new_run()
    seen = []
    done = threading.Event()

    def reader() -> None:
        done.wait()
        seen.append(run.summary["x"])

    t = threading.Thread(target=reader)
    t.start()
    for i in range(1000):
        run.log({"x": i})
    done.set()
    t.join()
    assert seen == [999]


def test_define_metric_words(new_run):
    run = new_run()
    run.define_metric("loss", summary="min,max,mean,first,last,best", objective="minimize")
    run.define_metric("acc", summary="max", goal="maximize")
    values = [3.0, 1.0, 2.0, 1.0, 4.0]
    for v in values:
        run.log({"loss": v, "acc": int(v)})
    s = run.summary["loss"]
    assert s == {
        "min": 1.0,
        "max": 4.0,
        "mean": pytest.approx(2.2),
        "first": 3.0,
        "last": 4.0,
        "best": 1.0,
        "best_step": 1,
    }
    assert run.summary["acc"] == {"max": 4}


def test_best_maximize_and_first_on_ties(new_run):
    run = new_run()
    run.define_metric("acc", summary="best", goal="maximize")
    for v in [0.1, 0.9, 0.5, 0.9]:
        run.log({"acc": v})
    assert run.summary["acc"] == {"best": 0.9, "best_step": 1}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"summary": "best"}, "objective"),
        ({"summary": "min,median"}, "median"),
        ({"summary": "best", "objective": "upward"}, "minimize"),
        ({"summary": "max", "goal": "minimize", "objective": "maximize"}, "disagree"),
    ],
)
def test_define_metric_rejects_bad_arguments(new_run, kwargs, match):
    run = new_run()
    with pytest.raises(ValueError, match=match):
        run.define_metric("loss", **kwargs)


def test_nan_rule(new_run):
    run = new_run()
    run.define_metric("x", summary="min,max,mean,best,first,last", objective="minimize")
    run.define_metric("only_nan", summary="min,max,mean,best,first,last", objective="maximize")
    for v in [math.nan, 2.0, math.nan, 1.0, math.nan]:
        run.log({"x": v, "only_nan": math.nan})
    x = run.summary["x"]
    assert (x["min"], x["max"], x["mean"], x["best"], x["best_step"]) == (1.0, 2.0, 1.5, 1.0, 3)
    assert math.isnan(x["first"]) and math.isnan(x["last"])
    o = run.summary["only_nan"]
    assert all(math.isnan(o[k]) for k in ("min", "max", "mean", "best", "first", "last"))
    assert "best_step" not in o


def test_none_hides_and_globs_apply(new_run):
    run = new_run()
    run.define_metric("train/*", summary="min")
    run.define_metric("train/lr", summary="none")
    run.define_metric("*", summary="last,max")
    run.log({"train/loss": 2.0, "train/lr": 0.1, "val": 5.0})
    run.log({"train/loss": 1.0, "train/lr": 0.2, "val": 3.0})
    s = dict(run.summary)
    assert s["train/loss"] == {"min": 1.0}
    assert "train/lr" not in s
    assert s["val"] == {"max": 5.0, "last": 3.0}


def test_define_metric_after_logging_applies_to_what_came_before(new_run):
    run = new_run()
    for v in [2.0, 0.5, 1.0]:
        run.log({"loss": v})
    run.define_metric("loss", summary="min")
    assert run.summary["loss"] == {"min": 0.5}


def test_step_metric_and_step_sync(new_run):
    run = new_run()
    run.define_metric("epoch")
    run.define_metric("val/*", step_metric="epoch")
    run.define_metric("raw", step_metric="epoch", step_sync=False)
    run.log({"epoch": 0, "train": 1.0})
    run.log({"val/acc": 0.5})
    run.log({"epoch": 1})
    run.log({"val/acc": 0.7, "raw": 1.0})
    run.finish()
    rows = rows_of(run)
    assert rows[1] == {"_step": 1, "val/acc": 0.5, "epoch": 0}
    assert rows[3] == {"_step": 3, "val/acc": 0.7, "raw": 1.0, "epoch": 1}
    assert api_run(run).summary["epoch"] == 1


def test_values_set_by_hand(new_run):
    run = new_run()
    run.log({"acc": 0.5})
    run.summary["acc"] = 0.99
    run.summary["best_accuracy"] = 0.97
    run.summary.update({"notes": "ok", "cfg": {"a": 1}})
    assert run.summary["acc"] == 0.99
    assert run.summary["best_accuracy"] == 0.97 and run.summary["cfg"] == {"a": 1}
    run.summary["cfg"] = {"b": 2}  # assigning a dict replaces the old one
    assert run.summary["cfg"] == {"b": 2}
    run.log({"acc": 0.6})  # later logs aggregate again
    assert run.summary["acc"] == 0.6
    del run.summary["notes"]
    assert "notes" not in run.summary
    run.finish()
    saved = api_run(run).summary
    assert saved["acc"] == 0.6 and saved["best_accuracy"] == 0.97 and saved["cfg"] == {"b": 2}


def test_tensor_summary_is_persisted_whole_with_statistics(new_run):
    run = new_run()
    rng = np.random.default_rng(0)
    w = rng.normal(size=(64, 33)).astype(np.float32)
    w[3, 4] = np.nan
    run.summary["weights"] = w
    s = run.summary["weights"]
    assert s["_type"] == "tensor" and s["shape"] == [64, 33] and s["dtype"] == "float32"
    back = np.load(Path(run.dir) / s["path"])
    np.testing.assert_array_equal(back, w)
    finite = w[~np.isnan(w)].astype(np.float64)
    assert s["min"] == finite.min() and s["max"] == finite.max()
    assert s["mean"] == pytest.approx(finite.mean(), rel=1e-12)
    assert s["var"] == pytest.approx(finite.var(), rel=1e-9) and s["std"] == pytest.approx(finite.std(), rel=1e-9)
    want = np.percentile(finite, [5, 25, 50, 75, 95])
    assert [s["percentiles"][k] for k in ("5", "25", "50", "75", "95")] == pytest.approx(list(want), rel=1e-12)
    assert s["nan_count"] == 1
    run.summary["clean"] = np.arange(4.0)
    assert "nan_count" not in run.summary["clean"]


def test_summary_json_is_written_periodically(new_run):
    import time

    run = new_run(settings={"flush_interval": 0.1})
    run.log({"x": 1.0})
    path = Path(run.dir) / "summary.json"
    deadline = time.time() + 60
    while time.time() < deadline and not (path.exists() and json.loads(path.read_text()).get("x") == 1.0):
        time.sleep(0.05)
    assert json.loads(path.read_text())["x"] == 1.0


def test_module_level_summary_and_config(new_run):
    run = new_run(config={"lr": 0.1})
    assert turbotrack.run is run
    turbotrack.config.batch = 32
    turbotrack.log({"a": 1})
    assert turbotrack.summary["a"] == 1
    run.finish()
    assert turbotrack.run is None
    assert api_run(run).config == {"lr": 0.1, "batch": 32}


def test_setting_the_summary_after_finish_points_to_the_api(new_run):
    run = new_run()
    run.log({"x": 1})
    run.finish()
    assert run.summary["x"] == 1  # reading still works, from summary.json
    with pytest.raises(turbotrack.Error, match=r"Api\(\)\.run"):
        run.summary["x"] = 2


def test_a_hand_set_value_drops_what_was_aggregated_before_it(new_run):
    """CONTRACT Summary: a value set by hand replaces the aggregated one and what was aggregated before
    it is lost; later log() calls aggregate from there (in-process, and in summary.json)."""
    run = new_run()
    run.define_metric("m", summary="min,max")
    for x in (1.0, 5.0):
        run.log({"m": x})
    assert run.summary["m"] == {"min": 1.0, "max": 5.0}
    run.summary["m"] = 10
    assert run.summary["m"] == 10
    run.log({"m": 3.0})
    assert run.summary["m"] == {"min": 3.0, "max": 3.0}
    run.log({"m": 4.0})
    run.finish()
    assert api_run(run).summary["m"] == {"min": 3.0, "max": 4.0}
