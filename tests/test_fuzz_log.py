"""Fuzz test of log() (issue 9): random dicts with non-ASCII and hostile keys, nested and
self-referencing dicts, every NumPy dtype, arrays, None, huge ints, NaN and infinities. Every call either raises
an ordinary ``Exception`` (never ``PanicException``, never a crash) and records nothing, or each of
its values reads back exactly. A small reference model says which calls must be refused, so a
value wrongly refused fails too."""

from __future__ import annotations

import json
import math
import struct
import tempfile
from typing import Any

import numpy as np
import pytest
from conftest import NO_CAPTURE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import turbotrack
from turbotrack import _core

RESERVED = {"_step", "_timestamp", "_runtime", "_rank", "_pid"}
INT64 = (-(2**63), 2**63 - 1)
HOSTILE_KEYS = ["\ud800", "a\udfff", "_step", "_runtime", "损失", "accuracy_é", "a.b", "", "x\x00y", "🙂/ü"]
HOSTILE_INTS = [2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 2**64 + 1, 10**400, 2**53 + 1]
SCALAR_DTYPES = [
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "longdouble", "complex64", "complex128", "clongdouble",
    "U3", "S3", "M8[s]", "m8[s]",
]  # fmt: skip
ARRAY_DTYPES = ["bool", "int8", "uint64", "int64", "float16", "float32", "float64", "longdouble", "complex64"]


class Refused(Exception):
    """The reference model's word: this call must be refused."""


keys = st.one_of(st.text(max_size=6), st.sampled_from(HOSTILE_KEYS))
leaves = st.one_of(
    st.floats(),
    st.integers(),
    st.sampled_from(HOSTILE_INTS),
    st.booleans(),
    st.text(max_size=8),
    st.sampled_from(["\ud800", "ok\udc80", "é"]),
    st.sampled_from(SCALAR_DTYPES).flatmap(lambda d: hnp.from_dtype(np.dtype(d))),
    st.sampled_from(ARRAY_DTYPES).flatmap(lambda d: hnp.arrays(np.dtype(d), st.integers(0, 4))),
    st.none(),
)
dicts = st.recursive(
    st.dictionaries(keys, leaves, max_size=4),
    lambda inner: st.dictionaries(keys, st.one_of(leaves, inner), max_size=4),
    max_leaves=12,
)


@st.composite
def calls(draw: Any) -> dict[str, Any]:
    """A dict to log; sometimes made to contain itself, or wrapped to near the depth limit."""
    d = draw(dicts)
    if draw(st.integers(0, 9)) == 0:
        depth = draw(st.integers(_core.MAX_DEPTH - 3, _core.MAX_DEPTH + 1))
        for _ in range(depth):
            d = {"n": d}
    if draw(st.integers(0, 5)) == 0:
        chain = [d]  # a dict and the dicts nested in it, along one path
        while True:
            inner = [v for v in chain[-1].values() if isinstance(v, dict)]
            if not inner:
                break
            chain.append(draw(st.sampled_from(inner)))
        host = draw(st.sampled_from(chain))
        host[draw(keys)] = draw(st.sampled_from(chain))
    return d


def expected(d: dict[str, Any]) -> dict[str, Any]:
    """The row ``log(d)`` must record, or ``Refused`` when it must be refused."""
    row: dict[str, Any] = {}
    flatten(d, "", 0, [], row)
    return row


def flatten(d: dict[str, Any], prefix: str, depth: int, parents: list[int], row: dict[str, Any]) -> None:
    parents = [*parents, id(d)]
    for k, v in d.items():
        if not isinstance(k, str):
            raise Refused
        name = f"{prefix}.{k}" if depth else k  # an empty key still gets its dot
        if isinstance(v, dict):
            if id(v) in parents or depth + 1 >= _core.MAX_DEPTH:
                raise Refused
            flatten(v, name, depth + 1, parents, row)  # a name is checked where it names a value:
            continue  # an empty dict under a key that is not UTF-8 logs nothing, and is no error
        if not encodable(name) or name in RESERVED:
            raise Refused
        row.pop(name, None)  # last write wins, in the order written
        row[name] = stored(v)


def encodable(s: str) -> bool:
    try:
        s.encode()
    except UnicodeEncodeError:
        return False
    return True


def stored(v: Any) -> Any:
    """What history holds for the leaf ``v`` (CONTRACT, log: as wandb stores it)."""
    if v is None or isinstance(v, bool):
        return v
    if isinstance(v, int):
        if not INT64[0] <= v <= INT64[1]:
            raise Refused
        return v
    if isinstance(v, float):
        return v
    if isinstance(v, str):
        if not encodable(v):
            raise Refused
        return str(v)
    if isinstance(v, np.ndarray):
        if v.size == 1:
            return stored(v.reshape(-1)[0])
        if v.size > 32:
            with np.errstate(over="ignore"):
                finite = np.isfinite(v.astype(np.float64)).sum()
            return ("histogram", int(finite))
        return [element(x) for x in v.reshape(-1)]  # the arrays drawn are 1-D
    return element(v)


def element(v: Any) -> Any:
    """A NumPy scalar, top-level or in a list: Python's own value; complex numbers, bytes, datetimes
    and durations as the text wandb writes (pydantic's, the oracle's JSON writer)."""
    import pydantic_core

    if isinstance(v, (np.datetime64, np.timedelta64)):  # before np.integer: timedelta64 is one
        x = v.item()
        return x if x is None or isinstance(x, int) else json.loads(pydantic_core.to_json(x))
    if isinstance(v, (np.bool_, np.integer)):
        return v.item()
    if isinstance(v, np.floating):
        x = float(v)
        if math.isinf(x) and np.isfinite(v):
            raise Refused
        return x
    if isinstance(v, np.complexfloating):
        return str(complex(v)).strip("()")
    if isinstance(v, np.bytes_):
        try:
            return bytes(v).decode()
        except UnicodeDecodeError:
            raise Refused from None
    if isinstance(v, np.str_):
        return stored(str(v))
    raise AssertionError(f"the model lacks {type(v)}")


def same(got: Any, want: Any) -> bool:
    if isinstance(want, tuple):  # a histogram: its counts
        return isinstance(got, dict) and got.get("_type") == "histogram" and sum(got["values"]) == want[1]
    if isinstance(want, list):
        return isinstance(got, list) and len(got) == len(want) and all(same(g, w) for g, w in zip(got, want))
    if isinstance(want, float):
        return isinstance(got, float) and (
            (math.isnan(got) and math.isnan(want)) or struct.pack("<d", got) == struct.pack("<d", want)
        )
    return type(got) is type(want) and got == want


def check(batch: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as root:
        run = turbotrack.init(dir=root, mode="offline", project="fuzz", settings={**NO_CAPTURE, "metric_names": "off"})
        want = []
        for d in batch:
            try:
                row: Any = expected(d)
            except Refused:
                row = Refused
            try:
                run.log(d)
            except BaseException as e:  # a PanicException is what this looks for
                assert isinstance(e, Exception) and type(e).__name__ != "PanicException", repr(e)
                assert row is Refused, f"refused a call the model accepts: {e!r}"
                continue
            assert row is not Refused, "accepted a call the model refuses"
            want.append(row)
        run.finish()
        got = [
            {k: v for k, v in r.items() if k not in RESERVED}
            for r in turbotrack.Api(dir=root).run(run.path).scan_history()
        ]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert set(g) == set(w), (g, w)
        for k in w:
            assert same(g[k], w[k]), (k, g[k], w[k])


@pytest.fixture(autouse=True)
def _long_run_only_when_asked(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("slow") and "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the long fuzz run: select it with -m slow")


FAST = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
SLOW = settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))


@FAST
@given(st.lists(calls(), min_size=1, max_size=6))
def test_log_refuses_cleanly_or_reads_back_exactly(batch):
    check(batch)


@pytest.mark.slow
@SLOW
@given(st.lists(calls(), min_size=1, max_size=20))
def test_log_refuses_cleanly_or_reads_back_exactly_long(batch):
    check(batch)


def test_durations_and_dates_of_numpy_read_back_as_wandb_writes_them() -> None:
    """Found by the fuzz run: ``np.timedelta64`` is an ``np.integer``, and is stored as a duration."""
    check([{"": np.timedelta64(0, "s")}, {"d": np.datetime64("2020-01-01T00:00:01")}, {"n": np.timedelta64(7, "ns")}])


def test_an_empty_dict_under_a_key_that_is_not_utf8_logs_nothing() -> None:
    """Found by the fuzz run: a name is checked where it names a value, so ``{"\\ud800": {}}`` records
    nothing and is no error, while ``{"\\ud800": {"x": 1}}`` is refused."""
    check([{"\ud800": {}, "a": 1}, {"a": {"\ud800": {}}}, {"\ud800": {"x": 1}}, {"b": 2}])
