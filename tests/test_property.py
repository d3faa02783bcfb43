"""Property test: random sequences of log / step / commit / define_metric / summary writes give the
same history and summary as a small pure-Python reference model of the contract."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Optional

import pytest
from conftest import NO_CAPTURE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import turbotrack

KEYS = ["a", "b", "c/d", "e.f"]
WORDS = ["min", "max", "mean", "first", "last", "best", "none"]


class Reference:
    """The contract, written plainly."""

    def __init__(self) -> None:
        self.pending = 0
        self.row: dict[str, Any] = {}
        self.rows: list[dict[str, Any]] = []
        self.values: dict[str, list[tuple[int, Any]]] = {}
        self.order: list[str] = []
        self.defs: dict[str, tuple[set[str], Optional[str]]] = {}
        self.overrides: dict[str, Any] = {}

    def log(self, data: dict[str, Any], step: Optional[int], commit: Optional[bool]) -> None:
        do_commit = commit if commit is not None else step is None
        if step is not None:
            if step < self.pending:
                return
            if step > self.pending:
                if self.row:
                    self._commit()
                self.pending = step
        self.row.update(data)
        if do_commit:
            self._commit()

    def _commit(self) -> None:
        row = dict(self.row)
        for k, v in row.items():
            if k not in self.values:
                self.values[k] = []
                self.order.append(k)
            if k in self.overrides:  # a hand-set value: what was aggregated before it is lost (CONTRACT)
                del self.overrides[k]
                self.values[k] = []
            self.values[k].append((self.pending, v))
        self.rows.append({"_step": self.pending, **row})
        self.row = {}
        self.pending += 1

    def finish(self) -> None:
        if self.row:
            self._commit()

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k in self.order:
            if k in self.overrides:
                continue
            vals = self.values[k]
            d = self.defs.get(k)
            if d is None:
                out[k] = vals[-1][1]
                continue
            words, objective = d
            if "none" in words:
                continue
            nums = [(s, v) for s, v in vals if not math.isnan(v)]
            s: dict[str, Any] = {}
            if "min" in words:
                s["min"] = min(v for _, v in nums) if nums else math.nan
            if "max" in words:
                s["max"] = max(v for _, v in nums) if nums else math.nan
            if "mean" in words:
                s["mean"] = sum(v for _, v in nums) / len(nums) if nums else math.nan
            if "first" in words:
                s["first"] = vals[0][1]
            if "last" in words:
                s["last"] = vals[-1][1]
            if "best" in words:
                if nums:
                    best = (min if objective == "minimize" else max)(v for _, v in nums)
                    s["best"] = best
                    s["best_step"] = next(st for st, v in nums if v == best)
                else:
                    s["best"] = math.nan
            out[k] = s
        out.update(self.overrides)
        return out


floats = st.one_of(st.floats(-1e6, 1e6, allow_nan=False), st.just(math.nan), st.sampled_from([0.0, 1.0, -1.0]))
data_st = st.dictionaries(st.sampled_from(KEYS), floats, max_size=4)
op = st.one_of(
    st.tuples(st.just("log"), data_st, st.one_of(st.none(), st.integers(0, 30)), st.sampled_from([None, True, False])),
    st.tuples(
        st.just("define"),
        st.sampled_from(KEYS),
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=3, unique=True),
        st.sampled_from(["minimize", "maximize"]),
    ),
    st.tuples(st.just("set"), st.sampled_from([*KEYS, "extra"]), st.integers(-5, 5)),
)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-9, abs=1e-9)
    return a == b


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(op, max_size=40))
def test_native_core_matches_reference(ops, tmp_path_factory):
    root = tmp_path_factory.mktemp("prop")
    run = turbotrack.init(dir=root, project="prop", settings={**NO_CAPTURE, "metric_names": "off"}, reinit="create_new")
    ref = Reference()
    for o in ops:
        if o[0] == "log":
            _, data, step, commit = o
            run.log(data, step=step, commit=commit)  # an older step: a notice on stderr, nothing recorded
            ref.log(data, step, commit)
        elif o[0] == "define":
            _, key, words, objective = o
            run.define_metric(key, summary=",".join(words), objective=objective)
            # Defined again: what the new call sets wins, its summary words join the old ones (as wandb).
            old_words, old_objective = ref.defs.get(key, (set(), None))
            ref.defs[key] = (old_words | set(words), objective or old_objective)
        else:
            _, key, value = o
            run.summary[key] = value
            ref.overrides.pop(key, None)
            ref.overrides[key] = value
        assert run.step == ref.pending
    run.finish()
    ref.finish()
    api_run = turbotrack.Api(dir=root).run(run.path)
    rows = [{k: v for k, v in r.items() if k not in ("_timestamp", "_runtime")} for r in api_run.scan_history()]
    assert len(rows) == len(ref.rows), (rows, ref.rows)
    for got, want in zip(rows, ref.rows):
        assert same(got, want), (got, want)
    summary = json.loads((Path(run.dir) / "summary.json").read_text())
    for k in ("_step", "_runtime", "_timestamp"):
        summary.pop(k, None)
    want = ref.summary()
    assert same(summary, want), (summary, want)
