"""log() / define_metric / summary faults from issue 9 (items 1, 2, 3, 9, 12, 13, 20): every bad
input raises an ordinary exception that names the key or argument, records nothing of the call,
and leaves the run working."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from conftest import NO_CAPTURE

import turbotrack
from turbotrack import _core


@pytest.fixture
def run(tmp_path: Path) -> Any:
    r = turbotrack.init(dir=tmp_path, mode="offline", project="faults", settings=NO_CAPTURE)
    yield r
    r.finish()


def api(run: Any, tmp_path: Path) -> Any:
    run.finish()
    return turbotrack.Api(dir=tmp_path).run(run.path)


def rows(run: Any, tmp_path: Path) -> list[dict[str, Any]]:
    """Every row, without the automatic keys other than ``_step`` (``scan_history``: exact)."""
    return [
        {k: v for k, v in r.items() if not k.startswith("_") or k == "_step"} for r in api(run, tmp_path).scan_history()
    ]


def refused(run: Any, tmp_path: Path, exc: type[Exception], match: str, data: Any, **kw: Any) -> None:
    """``log(data, **kw)`` raises ``exc`` matching ``match``; nothing of it is recorded and the run
    goes on."""
    with pytest.raises(exc, match=match):
        run.log(data, **kw)
    run.log({"after": 1})
    assert rows(run, tmp_path) == [{"_step": 0, "after": 1}]


# 1. Self-reference and deep nesting: an exception naming the key path, not a crash.


def test_a_dict_that_contains_itself_is_refused_by_key_path(run, tmp_path):
    d: dict[str, Any] = {"ok": 1}
    d["self"] = d
    refused(run, tmp_path, ValueError, r'"self".*the logged dict itself.*contains itself', d)


def test_a_cycle_further_down_names_its_path(run, tmp_path):
    d: dict[str, Any] = {"ok": 1, "a": {"b": {"c": 2}}}
    d["a"]["b"]["back"] = d["a"]
    refused(run, tmp_path, ValueError, r'"a\.b\.back".*the dict under "a"', d)


def test_nesting_15000_deep_is_refused_not_a_crash(run, tmp_path):
    d: dict[str, Any] = {}
    cur = d
    for _ in range(15_000):
        cur["k"] = {}
        cur = cur["k"]
    refused(run, tmp_path, ValueError, rf"\"k(\.k)+\".*nested more than {_core.MAX_DEPTH} levels", d)


def test_nesting_up_to_the_limit_and_shared_dicts_are_logged(run, tmp_path):
    d: dict[str, Any] = {}
    cur = d
    for _ in range(_core.MAX_DEPTH - 2):  # the logged dict and "deep" are two levels
        cur["k"] = {}
        cur = cur["k"]
    cur["v"] = 7
    shared = {"x": 1}
    run.log({"deep": d, "a": shared, "b": shared})
    (row,) = rows(run, tmp_path)
    assert row["deep." + ".".join(["k"] * (_core.MAX_DEPTH - 2)) + ".v"] == 7
    assert (row["a.x"], row["b.x"]) == (1, 1)


# 2. A dict changed while log() reads it: RuntimeError as Python's own, never PanicException.


class _Mutating:
    """A plot-like value whose conversion changes the logged dict, as another thread could."""

    _turbotrack_plot = True

    def __init__(self, d: dict[str, Any], same_size: bool) -> None:
        self.d, self.same_size = d, same_size

    def to_json(self, run_dir: Any, key: str, step: int) -> dict[str, Any]:
        # Another thread changes the dict while log() is inside it (it waits for that thread).
        t = threading.Thread(target=self.change)
        t.start()
        t.join()
        return {"_type": "plot"}

    def change(self) -> None:
        if self.same_size:
            self.d.pop("a")
            self.d["a2"] = 2
        else:
            self.d["new"] = 1


@pytest.mark.parametrize(
    ("same_size", "match"),
    [(False, "dictionary changed size during iteration"), (True, "dictionary keys changed during iteration")],
)
def test_a_dict_changed_while_read_raises_runtimeerror(run, tmp_path, same_size, match):
    d: dict[str, Any] = {"a": 1}
    d["p"] = _Mutating(d, same_size)
    d["z"] = 3
    refused(run, tmp_path, RuntimeError, match, d)


class _StderrChangingTheDict:
    """A ``sys.stderr`` whose ``write`` (a naming-rule notice) changes the dict being logged."""

    def __init__(self, d: dict[str, Any]) -> None:
        self.d = d

    def write(self, text: str) -> int:
        self.d["added by the notice"] = 1
        return len(text)

    def flush(self) -> None:
        pass


def test_a_dict_changed_by_a_notice_while_read_raises_runtimeerror(run, tmp_path, monkeypatch):
    # log() reads the dict's size again only once Python code ran; a notice is Python code.
    d: dict[str, Any] = {"bad name!": 1, "z": 2, "y": 3}
    monkeypatch.setattr("sys.stderr", _StderrChangingTheDict(d))
    refused(run, tmp_path, RuntimeError, "dictionary changed size during iteration", d)


# 3. define_metric with non-ASCII names and globs.


@pytest.mark.parametrize("name", ["accuracy_é", "损失", "损失*", "é*", "vał/*"])
def test_define_metric_takes_any_unicode_name(run, tmp_path, capsys, name):
    run.define_metric(name, summary="min,max")
    metric = name.rstrip("*") + ("x" if name.endswith("*") else "")
    run.log({metric: 3})
    assert "naming rule" in capsys.readouterr().err
    run.log({metric: 1})
    assert api(run, tmp_path).summary[metric] == {"min": 1, "max": 3}


@pytest.mark.parametrize("name", ["损*失", "é**", "*é", ""])
def test_define_metric_refuses_a_star_before_the_end(run, name):
    with pytest.raises(ValueError, match="define_metric name"):
        run.define_metric(name)


# 9. Text over what a row may carry: refused on the caller's thread, by key.


def test_a_string_over_the_row_limit_is_refused_by_key(run, tmp_path):
    big = "x" * (_core.MAX_ROW_BYTES + 1)
    refused(run, tmp_path, ValueError, rf'"notes".*{_core.MAX_ROW_BYTES + 1} bytes.*over the', {"notes": big, "a": 1})


def test_text_merged_into_one_row_over_the_limit_is_refused(run, tmp_path):
    half = "é" * (_core.MAX_ROW_BYTES // 4 + 1)  # two bytes each: just over half the limit
    run.log({"a": half}, commit=False)
    with pytest.raises(ValueError, match=r'"b".*the row at step 0 would carry'):
        run.log({"b": half})
    run.log({"c": 1})
    assert [sorted(r) for r in rows(run, tmp_path)] == [["_step", "a", "c"]]


# 12. Integer summaries are exact; integers outside int64 are refused by key.


def test_int_summaries_are_exact(run, tmp_path):
    lo, hi = 2**62 + 1, 2**62 + 3
    run.define_metric("n", summary="min,max,first,last,best", objective="maximize")
    run.define_metric("m", summary="best", objective="minimize")
    for step, x in enumerate([hi, lo, hi, 2**63 - 1, -(2**63)]):
        run.log({"n": x if step < 3 else lo + 1, "m": x})
    s = api(run, tmp_path).summary
    assert s["n"] == {"min": lo, "max": hi, "first": hi, "last": lo + 1, "best": hi, "best_step": 0}
    assert s["m"] == {"best": -(2**63), "best_step": 4}


@pytest.mark.parametrize("value", [2**64 + 1, 2**63, -(2**63) - 1, 10**400, np.uint64(2**64 - 1)])
def test_ints_outside_int64_are_refused_by_key(run, tmp_path, value):
    refused(run, tmp_path, OverflowError, r'"big".*integer out of int64 range', {"a": 1, "big": value})


def test_int64_extremes_and_uint64_in_range_read_back_exactly(run, tmp_path):
    run.log({"a": 2**63 - 1, "b": -(2**63), "c": np.uint64(2**63 - 1), "d": 2**53 + 1})
    assert rows(run, tmp_path) == [{"_step": 0, "a": 2**63 - 1, "b": -(2**63), "c": 2**63 - 1, "d": 2**53 + 1}]


# 13. The step counter cannot wrap.


def test_the_step_counter_stops_at_the_last_step_with_an_error(run, tmp_path):
    last = 2**63 - 1
    run.log({"a": 1}, step=last)
    with pytest.raises(OverflowError, match=rf"cannot commit step {last}"):
        run.log({"b": 2})
    with pytest.raises(OverflowError, match="cannot commit"):
        run.log({"b": 2}, step=last, commit=True)
    assert run.step == last
    run.log({"c": 3}, commit=False)
    assert rows(run, tmp_path) == [{"_step": last, "a": 1, "c": 3}]


# 20. Errors name the key or argument.


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        ({"step": 2**64}, OverflowError, r"step=18446744073709551616 is out of range"),
        ({"step": np.uint64(2**64 - 1)}, OverflowError, r"step=.* is out of range"),
        ({"step": 1.0}, TypeError, r"step must be an int .*float 1\.0"),
        ({"step": np.float64(2)}, TypeError, r"step must be an int"),
        ({"step": True}, TypeError, r"step must be an int"),
        ({"step": "3"}, TypeError, r"step must be an int"),
        ({"commit": 1}, TypeError, r"commit must be True, False or None, got int 1"),
        ({"commit": "yes"}, TypeError, r"commit must be"),
    ],
)
def test_bad_step_or_commit_names_the_argument(run, tmp_path, kw, exc, match):
    refused(run, tmp_path, exc, match, {"a": 1}, **kw)


def test_numpy_step_and_commit_are_accepted(run, tmp_path):
    run.log({"a": 1}, step=np.int64(3), commit=np.bool_(False))
    run.log({"b": 2}, step=np.uint8(3), commit=np.bool_(True))
    assert rows(run, tmp_path) == [{"_step": 3, "a": 1, "b": 2}]


def test_longdouble_is_stored_as_the_nearest_float64(run, tmp_path):
    run.log({"a": np.longdouble(1.5), "b": np.array([np.longdouble(0.1)]), "c": np.float16(0.5)})
    assert rows(run, tmp_path) == [{"_step": 0, "a": 1.5, "b": 0.1, "c": 0.5}]


@pytest.mark.skipif(np.finfo(np.longdouble).max <= np.finfo(np.float64).max, reason="longdouble is float64 here")
def test_longdouble_beyond_float64_is_refused_by_key(run, tmp_path):
    refused(run, tmp_path, OverflowError, r"'huge'.*beyond float64's range", {"huge": np.longdouble("1e4000")})


@pytest.mark.parametrize(
    "values",
    [
        [-1.7e308, 1.7e308],
        [-np.finfo(np.float64).max, np.finfo(np.float64).max, 0.0],
        [1e308, 1e308],
        [1.0, np.nextafter(1.0, 2.0)],
    ],
)
def test_histograms_of_extreme_ranges_are_logged(run, tmp_path, values):
    data = np.tile(np.array(values), 17)  # more than 32 elements: a histogram
    run.log({"h": data})
    (row,) = rows(run, tmp_path)
    h = row["h"]
    assert sum(h["values"]) == len(data)
    assert h["bins"][0] == min(values) and h["bins"][-1] == max(values)
    assert len(h["bins"]) == len(h["values"]) + 1
    assert all(a <= b for a, b in zip(h["bins"], h["bins"][1:]))


@pytest.mark.parametrize(
    ("data", "exc", "match"),
    [
        ({"\ud800": 1}, ValueError, r"metric name '\\ud800' is not valid Unicode"),
        ({"a": {"x\udfff": 1}}, ValueError, r"metric name 'x\\udfff' \(under \"a\"\) is not valid Unicode"),
        ({"a": {"b": {"\ud800": {"c": 1}}}}, ValueError, r"'\\ud800' \(under \"a\.b\"\)"),
        ({"s": "ok\ud800"}, ValueError, r'"s": the string is not valid Unicode'),
        ({"a": {"s": "\udc80"}}, ValueError, r'"a\.s": the string is not valid Unicode'),
        ({"a": {1: 2}}, TypeError, r'key 1 of type int \(under "a"\)'),
    ],
)
def test_bad_keys_and_text_are_refused_by_key(run, tmp_path, data, exc, match):
    refused(run, tmp_path, exc, match, {"ok": 1, **data})


class _BigIntChangingTheDict(int):
    """An int past int64 whose ``__str__`` (how a list writes it) changes the dict being logged."""

    d: ClassVar[dict[str, Any]] = {}

    def __str__(self) -> str:
        self.d["added by __str__"] = 1
        return int.__str__(self)


def test_a_dict_changed_by_a_list_item_while_read_raises_runtimeerror(run, tmp_path):
    d: dict[str, Any] = {"xs": [_BigIntChangingTheDict(2**70)], "z": 2, "y": 3}
    _BigIntChangingTheDict.d = d
    refused(run, tmp_path, RuntimeError, "dictionary changed size during iteration", d)
