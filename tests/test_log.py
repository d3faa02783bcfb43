"""log(): the pending-step rule, value types, nesting, bad input (CONTRACT: log)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from conftest import api_run, rows_of

import turbotrack


def test_plain_logs_commit_consecutive_steps(new_run):
    run = new_run()
    assert run.step == 0
    for i in range(3):
        turbotrack.log({"loss": 1.0 / (i + 1)})
    assert run.step == 3
    run.finish()
    rows = list(api_run(run).scan_history())
    assert [r["_step"] for r in rows] == [0, 1, 2]
    assert [r["loss"] for r in rows] == [1.0, 0.5, 1 / 3]
    for r in rows:
        assert isinstance(r["_timestamp"], float) and abs(r["_timestamp"] - run.start_time) < 60
        assert r["_runtime"] == pytest.approx(r["_timestamp"] - run.start_time)


def test_commit_false_merges_and_last_write_wins(new_run):
    run = new_run()
    run.log({"a": 1}, commit=False)
    run.log({"a": 2, "b": 3}, commit=False)
    assert run.step == 0
    run.log({"c": 4})
    run.log({"a": 5})
    run.finish()
    assert rows_of(run) == [{"_step": 0, "a": 2, "b": 3, "c": 4}, {"_step": 1, "a": 5}]


def test_explicit_step_stays_pending_until_committed(new_run):
    run = new_run()
    run.log({"a": 1})  # step 0
    run.log({"b": 2}, step=5)  # commits nothing new, 5 pending
    assert run.step == 5
    run.log({"c": 3}, step=5)  # same step merges
    run.log({"d": 4})  # plain log merges into 5 and commits
    assert run.step == 6
    run.log({"e": 5}, step=8, commit=True)  # commits at once
    assert run.step == 9
    run.log({"f": 6}, step=10)  # pending at finish
    run.finish()
    assert rows_of(run) == [
        {"_step": 0, "a": 1},
        {"_step": 5, "b": 2, "c": 3, "d": 4},
        {"_step": 8, "e": 5},
        {"_step": 10, "f": 6},
    ]


def test_larger_step_commits_pending_row_with_data(new_run):
    run = new_run()
    run.log({"a": 1}, commit=False)
    run.log({"b": 2}, step=3)
    run.log({}, step=7)  # step 3 held data: committed; 7 pending and empty
    run.finish()
    assert rows_of(run) == [{"_step": 0, "a": 1}, {"_step": 3, "b": 2}]


def test_smaller_step_prints_a_notice_and_records_nothing(new_run, capsys):
    run = new_run()
    run.log({"a": 1}, step=5)
    run.log({"lr": 0.1}, step=2)  # a notice on stderr, not a Python warning (filterwarnings=error)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("turbotrack: WARNING Tried to log to step 2 that is less than")
    assert "current step 5" in err and "'lr'" in err
    assert run.step == 5
    run.finish()
    assert rows_of(run) == [{"_step": 5, "a": 1}]
    assert "lr" not in api_run(run).summary


def test_nested_dicts_are_flattened_with_dots(new_run):
    run = new_run()
    run.log({"train": {"loss": 0.5, "acc": {"top1": 0.9}}, "lr": 0.1})
    run.finish()
    assert rows_of(run) == [{"_step": 0, "train.loss": 0.5, "train.acc.top1": 0.9, "lr": 0.1}]


def test_an_empty_key_keeps_its_dot_at_every_depth(new_run):
    """Found by tests/test_fuzz_log.py: under an empty top-level key the next part lost its dot."""
    run = new_run(settings={"metric_names": "off"})
    leaf = {"": 1.0}
    run.log({"": {"y": leaf, "z": 2.0}, "x": {"": {"": 3.0}}})
    run.finish()
    assert rows_of(run) == [{"_step": 0, ".y.": 1.0, ".z": 2.0, "x..": 3.0}]


def test_value_types(new_run):
    run = new_run()
    arr = np.array([0.0, 1.0, 1.0, 2.0, 3.0])
    run.log(
        {
            "f": 1.5,
            "i": 7,
            "big": 2**63 - 1,  # beyond int64 is refused (tests/test_faults_ingest.py)
            "b": True,
            "s": "hello ☃",
            "np_f32": np.float32(0.25),
            "np_f64": np.float64(0.125),
            "np_i": np.int16(-3),
            "np_b": np.bool_(False),
            "zero_d": np.array(4.5),
            "small": arr,  # 2 to 32 elements: a list (CONTRACT); more: a 32-bin histogram
            "hist": np.tile(arr, 7),
            "h2": turbotrack.Histogram(arr, num_bins=3),
        }
    )
    run.finish()
    (row,) = rows_of(run)
    assert row["f"] == 1.5 and row["i"] == 7 and row["b"] is True and row["s"] == "hello ☃"
    assert row["big"] == 2**63 - 1 and isinstance(row["big"], int)
    assert row["np_f32"] == 0.25 and row["np_f64"] == 0.125 and row["np_i"] == -3 and row["np_b"] is False
    assert row["zero_d"] == 4.5
    assert row["small"] == [0.0, 1.0, 1.0, 2.0, 3.0]
    assert row["hist"]["_type"] == "histogram" and sum(row["hist"]["values"]) == 35 and len(row["hist"]["values"]) == 32
    assert row["h2"] == {"_type": "histogram", "bins": [0.0, 1.0, 2.0, 3.0], "values": [1, 2, 2]}


def test_table_and_plot_are_stored_as_files(new_run):
    run = new_run()
    table = turbotrack.Table(columns=["x", "y"], data=[[0, 1.0], [1, 0.5]])
    run.log({"t": table, "chart": turbotrack.plot.line(table, "x", "y", title="decay")})
    run.finish()
    (row,) = rows_of(run)
    assert row["t"]["nrows"] == 2 and row["t"]["path"].endswith(".table.json")
    assert row["chart"]["kind"] == "line" and row["chart"]["fields"] == {"x": "x", "y": "y"}
    names = {f.name for f in api_run(run).files()}
    assert row["t"]["path"] in names


# CONTRACT: anything but the listed values is a TypeError (the listed ones: tests/test_log_values.py, test_log_values_oracle.py)
@pytest.mark.parametrize("bad", [object(), slice(1, 2), range(3), [1, object()], ({"a": object()},)])
def test_unsupported_values_raise_typeerror_and_record_nothing(new_run, bad):
    run = new_run()
    with pytest.raises(TypeError, match=r"'bad'"):
        run.log({"ok": 1.0, "bad": bad})
    assert run.step == 0
    run.log({"after": 2.0})
    run.finish()
    assert rows_of(run) == [{"_step": 0, "after": 2.0}]


def test_non_string_keys_and_non_dicts_raise(new_run):
    run = new_run()
    with pytest.raises(TypeError, match="strings"):
        run.log({1: 2.0})
    with pytest.raises(TypeError, match="dict"):
        run.log([("a", 1)])
    run.finish()
    assert rows_of(run) == []


def test_empty_dict_commits_an_empty_row(new_run):
    run = new_run()
    run.log({})
    run.log({"a": 1})
    run.finish()
    assert rows_of(run) == [{"_step": 0}, {"_step": 1, "a": 1}]


def test_nan_and_inf_are_kept(new_run):
    run = new_run()
    for v in (math.nan, math.inf, -math.inf, 1.0):
        run.log({"x": v})
    run.finish()
    xs = [r["x"] for r in rows_of(run)]
    assert math.isnan(xs[0]) and xs[1:] == [math.inf, -math.inf, 1.0]


def test_invalid_names_print_one_notice_each_and_are_logged(new_run, capsys):
    run = new_run()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a notice on stderr, never a Python warning
        run.log({"loss-rate": 1.0, "train/loss": 2.0, "a.b": 3.0})
        run.log({"loss-rate": 4.0})  # no second notice
    err = capsys.readouterr().err
    assert err.startswith('turbotrack: WARNING metric name "loss-rate" breaks the naming rule')
    assert err.count("\n") == 1
    run.finish()
    assert [r["loss-rate"] for r in rows_of(run)] == [1.0, 4.0]


@pytest.mark.parametrize("name", ["train/1st", "a//b", "loss-rate", "1x", "", "a/", "ünï"])
def test_strict_names_raise_and_record_nothing(new_run, name):
    run = new_run(settings={"metric_names": "strict"})
    with pytest.raises(ValueError, match="must match"):
        run.log({"fine": 1.0, name: 2.0})
    run.log({"ok/name.x_1": 1.0})
    run.finish()
    assert rows_of(run) == [{"_step": 0, "ok/name.x_1": 1.0}]


def test_nested_names_are_checked_after_flattening(new_run):
    run = new_run(settings={"metric_names": "strict"})
    with pytest.raises(ValueError, match=r"a\.1"):
        run.log({"a": {"1": 1.0}})


def test_names_off_accepts_anything_verbatim(new_run):
    run = new_run(settings={"metric_names": "off"})
    huge = "k" * 10_000
    run.log({"ünï/çødé": 1.0, huge: 2.0, "with space": 3.0})
    run.finish()
    (row,) = rows_of(run)
    assert row["ünï/çødé"] == 1.0 and row[huge] == 2.0 and row["with space"] == 3.0


def test_many_distinct_keys_built_per_call(new_run):
    run = new_run()
    for i in range(3000):
        run.log({f"m{i % 700}": float(i)})
    run.finish()
    rows = rows_of(run)
    assert len(rows) == 3000 and rows[2999] == {"_step": 2999, f"m{2999 % 700}": 2999.0}


def test_log_before_init_and_after_finish(new_run):
    turbotrack.finish()
    with pytest.raises(turbotrack.Error, match="init"):
        turbotrack.log({"a": 1})
    run = new_run()
    run.finish()
    with pytest.raises(turbotrack.Error, match="finished"):
        run.log({"a": 1})
    run.finish()  # idempotent


def test_threads_logging_at_once_lose_nothing(new_run):
    import threading

    run = new_run(settings={"queue_capacity": 8})  # a tiny queue: callers must wait, not drop

    def work(t: int) -> None:
        for i in range(2000):
            run.log({f"t{t}": float(i)})

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.finish()
    rows = rows_of(run)
    assert len(rows) == 8000
    assert [r["_step"] for r in rows] == list(range(8000))
    for t in range(4):
        assert [r[f"t{t}"] for r in rows if f"t{t}" in r] == [float(i) for i in range(2000)]


def test_a_nested_key_landing_on_a_flat_one_keeps_the_last(new_run):
    run = new_run()
    run.log({"a.b": 1, "a": {"b": 2}, "c": 3})
    run.log({"a": {"b": 4}, "a.b": 5})
    run.finish()
    assert rows_of(run) == [{"_step": 0, "a.b": 2, "c": 3}, {"_step": 1, "a.b": 5}]


def test_numpy_is_not_imported_unless_the_program_does(root):
    from conftest import run_child

    out = run_child(
        """
        import sys, turbotrack
        run = turbotrack.init(project="p", settings={"capture_stdout": False})
        run.log({"a": 1.0, "b": {"c": 2}})
        run.summary["d"] = 3
        run.finish()
        print("numpy" in sys.modules)
        """,
        env={"TURBOTRACK_DIR": str(root)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("key", ["_step", "_timestamp", "_runtime", "_rank", "_pid"])
def test_reserved_keys_are_refused_under_every_policy(new_run, key):
    run = new_run(settings={"metric_names": "off"})
    with pytest.raises(ValueError, match="every row carries"):
        run.log({"x": 1.0, key: 5})
    run.log({"_custom": 1.0})  # other leading underscores are fine
    run.finish()
    assert rows_of(run) == [{"_step": 0}]
    assert api_run(run).history(pandas=False)[0]["_custom"] == 1.0


def test_a_converter_that_logs_back_into_the_run_fails_cleanly(new_run):
    run = new_run()

    class Sneaky:
        pass

    from turbotrack.data_types import Converter

    original = Converter.__call__

    def call(self, name, value, step=0):
        if isinstance(value, Sneaky):
            run.log({"inner": 1.0})
        return original(self, name, value, step)

    Converter.__call__ = call
    try:
        with pytest.raises(RuntimeError, match="inside log"):
            run.log({"x": Sneaky()})
    finally:
        Converter.__call__ = original
    run.log({"after": 1.0})
    run.finish()
    assert rows_of(run) == [{"_step": 0, "after": 1.0}]


def test_init_refuses_unknown_arguments_but_takes_wandb_only_ones(new_run):
    with pytest.raises(TypeError, match="projct"):
        new_run(projct="typo")
    run = new_run(save_code=True, allow_val_change=True)
    assert run.project == "tests"
