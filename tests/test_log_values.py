"""log() of None and of lists, read natively by the core (CONTRACT: log, Summary); the notices that
replace Python warnings. The expected summaries are what wandb 0.31 stores for the same calls."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import api_run, rows_of

import turbotrack
from turbotrack import _core

# -- None ---------------------------------------------------------------------------------------


def test_none_is_a_null_and_the_other_keys_are_kept(new_run):
    run = new_run()
    run.log({"val_loss": None, "acc": 1})
    run.log({"val_loss": 0.5, "acc": 2})
    run.log({"val_loss": None, "acc": 3, "note": None})
    run.finish()
    assert rows_of(run) == [
        {"_step": 0, "val_loss": None, "acc": 1},
        {"_step": 1, "val_loss": 0.5, "acc": 2},
        {"_step": 2, "val_loss": None, "acc": 3, "note": None},
    ]
    r = api_run(run)
    listed = [{k: v for k, v in row.items() if not k.startswith("_")} for row in r.history(pandas=False)]
    assert listed == [
        {"val_loss": None, "acc": 1},
        {"val_loss": 0.5, "acc": 2},
        {"val_loss": None, "acc": 3, "note": None},
    ]
    # keys=: a null counts as held (the row is there, with None)
    assert [row["val_loss"] for row in r.history(keys=["val_loss"], pandas=False)] == [None, 0.5, None]
    assert [row["val_loss"] for row in r.scan_history(keys=["val_loss"])] == [None, 0.5, None]


def test_pandas_reads_a_null_as_a_missing_value(new_run):
    pd = pytest.importorskip("pandas")
    run = new_run()
    run.log({"f": None, "i": 1, "b": True, "s": "x", "l": [1]})
    run.log({"f": 0.5, "i": None, "b": None, "s": None, "l": None})
    run.log({"f": 1.5, "i": 3, "b": False, "s": "z", "l": []})
    run.finish()
    df = api_run(run).history()
    assert df["f"].dtype == "float64" and math.isnan(df["f"][0]) and list(df["f"][1:]) == [0.5, 1.5]
    assert str(df["i"].dtype) == "Int64" and df["i"][1] is pd.NA and (df["i"][0], df["i"][2]) == (1, 3)
    assert str(df["b"].dtype) == "boolean" and df["b"][1] is pd.NA and bool(df["b"][0]) is True
    assert (df["s"][0], df["s"][2]) == ("x", "z") and pd.isna(df["s"][1])  # pandas' own missing text
    assert list(df["l"]) == [[1], None, []]  # object columns keep None


def test_summary_keeps_the_last_value_that_was_not_none(new_run):
    run = new_run()
    run.define_metric("m", summary="first,last,min,max,mean")
    run.log({"a": None, "n": None, "m": None})
    run.log({"a": 1.0, "m": 2.0})
    run.log({"a": None, "m": None, "n": None})
    assert run.summary["a"] == 1.0
    run.finish()
    summary = dict(api_run(run).summary)
    assert summary["a"] == 1.0
    assert "n" not in summary  # logged only as None: not in the summary (as wandb's)
    # min/max/mean skip None; first and last are as logged (wandb 0.31 stores exactly this)
    assert summary["m"] == {"min": 2.0, "max": 2.0, "mean": 2.0, "first": None, "last": None}


def test_best_skips_none(new_run):
    run = new_run()
    run.define_metric("loss", summary="best", objective="minimize")
    for v in (None, 3.0, None, 1.0, None):
        run.log({"loss": v})
    run.finish()
    assert api_run(run).summary["loss"] == {"best": 1.0, "best_step": 3}


def test_a_none_later_in_the_same_step_replaces_the_value(new_run):
    run = new_run()
    run.log({"c": 5}, commit=False)
    run.log({"c": None})
    run.log({"d": None}, commit=False)
    run.log({"d": 7})
    run.finish()
    assert rows_of(run) == [{"_step": 0, "c": None}, {"_step": 1, "d": 7}]
    assert "c" not in api_run(run).summary and api_run(run).summary["d"] == 7


def test_a_shared_runs_summary_skips_nulls_over_every_rank(root):
    for rank, values in ((0, [1.0, None]), (1, [None, 4.0, None])):
        run = turbotrack.init(
            project="p",
            id="s",
            settings={"capture_system": False, "capture_stdout": False, "shared": True, "rank": rank},
        )
        for v in values:
            run.log({"x": v})
        run.finish()
    r = turbotrack.Api(dir=root).run("p/s")
    assert r.summary["x"] == 4.0
    assert sorted((row["_step"], row["_rank"], row["x"]) for row in r.scan_history()) == [
        (0, 0, 1.0),
        (0, 1, None),
        (1, 0, None),
        (1, 1, 4.0),
        (2, 1, None),
    ]


def test_a_converter_may_return_none(tmp_path):
    seen: list[Any] = []

    def converter(name: str, value: Any, step: int) -> None:
        seen.append((name, value))
        return None

    path = tmp_path / "history.ttrk"
    core = _core.Core(path, converter=converter)
    thing = object()
    core.log({"x": thing, "y": 1})
    assert core.finish() is None
    assert seen == [("x", thing)]
    assert _core.read_rows([path])[0]["x"] is None


# -- lists --------------------------------------------------------------------------------------

LISTS: list[tuple[Any, Any]] = [
    ([0.1, 0.01], [0.1, 0.01]),  # scheduler.get_last_lr()
    ((1, 2), [1, 2]),  # tuples come back as lists, as in wandb
    ([], []),
    ([1, 2.5, None, "x", True, {"k": [1]}], [1, 2.5, None, "x", True, {"k": [1]}]),
    ([[1, 2], [3, [4, (5,)]]], [[1, 2], [3, [4, [5]]]]),
    ([{"a": {"b": None}}, {}], [{"a": {"b": None}}, {}]),  # dicts in lists are JSON objects, not flattened
    (['q"uote\\ \n\t\x01', "损失 é"], ['q"uote\\ \n\t\x01', "损失 é"]),
    ([2**63 - 1, -(2**63), 1e300, -0.0, 5e-324], [2**63 - 1, -(2**63), 1e300, -0.0, 5e-324]),
]


@pytest.mark.parametrize(("logged", "back"), LISTS)
def test_lists_and_tuples_come_back_as_logged(new_run, logged, back):
    run = new_run()
    run.log({"v": logged, "after": 1})
    assert run.summary["v"] == back
    run.finish()
    (row,) = rows_of(run)
    assert row == {"_step": 0, "v": back, "after": 1}
    assert type(row["v"]) is list
    assert api_run(run).summary["v"] == back


def test_nan_and_infinities_in_lists(new_run):
    run = new_run()
    run.log({"v": [math.nan, math.inf, -math.inf, 1.0]})
    run.finish()
    v = rows_of(run)[0]["v"]
    assert math.isnan(v[0]) and v[1:] == [math.inf, -math.inf, 1.0]


def test_subclasses_of_builtins_in_lists(new_run):
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    class Name(str):
        pass

    run = new_run()
    run.log({"v": [Level.HIGH, Name("n"), [True, False]]})
    run.finish()
    assert rows_of(run)[0]["v"] == [3, "n", [True, False]]


def test_a_list_that_contains_itself_raises_naming_the_key(new_run):
    run = new_run()
    a: list[Any] = [1]
    a.append(a)
    d: dict[str, Any] = {}
    b = [d]
    d["again"] = b
    for bad in (a, b):
        with pytest.raises(ValueError, match=r'"outer.v".*contains itself'):
            run.log({"ok": 1, "outer": {"v": bad}})
    assert run.step == 0
    run.finish()
    assert rows_of(run) == []


def test_lists_nested_too_deep_raise(new_run):
    run = new_run()
    deep: list[Any] = []
    for _ in range(_core.MAX_DEPTH + 1):
        deep = [deep]
    with pytest.raises(ValueError, match=r'"v".*nested more than'):
        run.log({"v": deep})
    ok: list[Any] = []
    for _ in range(_core.MAX_DEPTH - 1):
        ok = [ok]
    run.log({"v": ok})
    run.finish()
    assert len(rows_of(run)) == 1


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (["\ud800"], ValueError, "not valid Unicode"),
        ([{"\ud800": 1}], ValueError, "Unicode"),
    ],
)
def test_bad_items_in_a_list_raise_naming_the_key(new_run, bad, error, match):
    run = new_run()
    with pytest.raises(error, match=rf'"v".*{match}'):
        run.log({"ok": 1, "v": bad})
    run.finish()
    assert rows_of(run) == []


def test_ints_in_a_list_stay_exact_at_any_size(new_run):
    """Not a history column, so no int64 bound: wandb keeps them too (as floats; here exact)."""
    run = new_run()
    run.log({"v": [2**64, -(2**70), 1]})
    run.finish()
    assert rows_of(run)[0]["v"] == [2**64, -(2**70), 1]


def test_lists_holding_anything_else_go_to_the_converter_whole(tmp_path):
    seen: list[Any] = []

    def converter(name: str, value: Any, step: int) -> bytes:
        seen.append(value)
        return b'{"converted": true}'

    path = tmp_path / "history.ttrk"
    core = _core.Core(path, converter=converter)
    foreign = object()
    lists = [[1.0, foreign], [1, [2, (3, foreign)]], [{1: "int key"}], [{"k": foreign}]]
    for v in lists:
        core.log({"v": v})
    core.log({"v": [1.0, 2.0]})  # builtins only: never seen by the converter
    core.finish()
    assert [id(v) for v in seen] == [id(v) for v in lists]
    assert [r["v"] for r in _core.read_rows([path])] == [{"converted": True}] * 4 + [[1.0, 2.0]]


def test_lists_of_media_still_reach_the_converter(new_run):
    run = new_run()
    hist = turbotrack.Histogram([1, 2, 3])
    run.log({"h": [hist, hist], "i": [turbotrack.Image(np.zeros((2, 2, 3), np.uint8))] * 2})
    run.finish()
    row = rows_of(run)[0]
    assert [h["_type"] for h in row["h"]] == ["histogram", "histogram"]  # as wandb stores a list of them
    assert row["i"]["_type"] == "images/separated"


# -- notices ------------------------------------------------------------------------------------


def test_notices_are_not_python_warnings_under_W_error(tmp_path):
    code = f"""
        import turbotrack
        run = turbotrack.init(dir={str(tmp_path)!r}, project="p", settings={{"capture_system": False, "capture_stdout": False}})
        run.log({{"loss-rate": 1.0}}, step=5)
        run.log({{"loss-rate": 2.0}})
        run.log({{"x": 1}}, step=2)
        run.finish()
        print("done", run.step)
    """
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("TURBOTRACK_SILENT", "WANDB_SILENT")}
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["done", "6"]
    lines = proc.stderr.splitlines()
    assert [ln for ln in lines if "naming rule" in ln] == [
        ln for ln in lines if ln.startswith('turbotrack: WARNING metric name "loss-rate"')
    ]
    assert sum("naming rule" in ln for ln in lines) == 1
    assert (
        sum(
            ln.startswith("turbotrack: WARNING Tried to log to step 2 that is less than the current step 6")
            for ln in lines
        )
        == 1
    )


@pytest.mark.parametrize("how", ["TURBOTRACK_SILENT", "WANDB_SILENT", "quiet"])
def test_silent_runs_print_no_notices(tmp_path, capsys, monkeypatch, how):
    monkeypatch.delenv("TURBOTRACK_SILENT", raising=False)
    monkeypatch.delenv("WANDB_SILENT", raising=False)
    if how != "quiet":
        monkeypatch.setenv(how, "true")
    core = _core.Core(tmp_path / "h.ttrk", converter=lambda n, v, s: None, quiet=how == "quiet")
    core.log({"loss-rate": 1}, step=3)
    core.log({"x": 1}, step=1)
    core.finish()
    assert capsys.readouterr().err == ""


def test_hushed_names_get_no_notice(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("TURBOTRACK_SILENT", raising=False)
    monkeypatch.delenv("WANDB_SILENT", raising=False)
    core = _core.Core(tmp_path / "h.ttrk", converter=lambda n, v, s: None)
    core.hush(["gradients/net.0.weight"])
    core.log({"gradients/net.0.weight": 1.0, "net.1.bias": 2.0})
    core.finish()
    err = capsys.readouterr().err
    assert "net.1.bias" in err and "net.0.weight" not in err
    assert [sorted(r) for r in _core.read_rows([Path(tmp_path / "h.ttrk")])] == [
        ["_runtime", "_step", "_timestamp", "gradients/net.0.weight", "net.1.bias"]
    ]
