"""GPU scalars are logged without the caller waiting for the GPU (CONTRACT: log values).

There is no GPU here: a fake CUDA scalar and a fake copy whose completion the test controls stand
in for torch's pinned copy and CUDA event; everything after that (the token, the writer holding
rows until the value arrives, ordering, the summary, finish) is the real code path."""

from __future__ import annotations

import sys
import threading
import time
import types

import pytest
from conftest import api_run

import turbotrack
from turbotrack.data_types import deferred


class FakeCudaScalar:
    """Looks like a one-element CUDA tensor to turbotrack: the ``torch.Tensor`` of a fake ``torch``
    module (tensors are recognised by isinstance against the imported torch's Tensor)."""

    is_cuda = True

    def __init__(self, value: float) -> None:
        self.value = value

    def numel(self) -> int:
        return 1

    def detach(self) -> FakeCudaScalar:
        return self

    def item(self) -> float:
        raise AssertionError("item() would wait for the GPU: the caller must never call it")


@pytest.fixture(autouse=True)
def fake_torch(monkeypatch):
    """``torch`` as imported by the program, with FakeCudaScalar as its Tensor."""
    if "torch" in sys.modules:
        pytest.skip("the real torch is imported in this process; the fake one cannot stand in for it")
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(Tensor=FakeCudaScalar))


@pytest.fixture
def gpu(monkeypatch):
    """The GPU: copies finish when the test says so."""
    done = threading.Event()
    started = []

    def start_copy(t: FakeCudaScalar):
        started.append(t.value)

        def wait() -> float:
            assert done.wait(30)
            return t.value

        return wait

    monkeypatch.setattr(deferred, "start_copy", start_copy)
    return done, started


def test_log_returns_before_the_gpu_value_exists(new_run, gpu):
    done, started = gpu
    run = new_run()
    t0 = time.perf_counter()
    run.log({"loss": FakeCudaScalar(0.25), "lr": 0.1})
    for i in range(100):
        run.log({"i": i})
    elapsed = time.perf_counter() - t0
    assert started == [0.25] and not done.is_set() and elapsed < 10
    done.set()
    assert run.summary["loss"] == 0.25  # the summary waits for values in flight
    run.finish()
    rows = list(api_run(run).scan_history())
    assert len(rows) == 101
    assert rows[0]["loss"] == 0.25 and rows[0]["lr"] == 0.1
    assert [r["i"] for r in rows[1:]] == list(range(100))


def test_rows_behind_a_late_value_wait_for_it_in_order(new_run, monkeypatch):
    gates = {}

    def start_copy(t: FakeCudaScalar):
        gate = gates.setdefault(t.value, threading.Event())

        def wait() -> float:
            assert gate.wait(30)
            return t.value

        return wait

    monkeypatch.setattr(deferred, "start_copy", start_copy)
    run = new_run(settings={"flush_interval": 0.05})
    run.define_metric("loss", summary="min,last")
    for i in range(5):
        run.log({"loss": FakeCudaScalar(float(10 - i)), "step_seen": i})
    time.sleep(0.2)
    assert list(api_run(run).scan_history()) == []  # held back: the first value is not there yet
    gates[10.0].set()  # the first value arrives: only the first row can be stored
    deadline = time.time() + 60
    while time.time() < deadline and not list(api_run(run).scan_history()):
        time.sleep(0.05)
    assert [r["loss"] for r in api_run(run).scan_history()] == [10.0]
    for v in sorted(gates, reverse=True):
        gates[v].set()
    run.finish()
    rows = list(api_run(run).scan_history())
    assert [(r["_step"], r["loss"], r["step_seen"]) for r in rows] == [(i, float(10 - i), i) for i in range(5)]
    assert api_run(run).summary["loss"] == {"min": 6.0, "last": 6.0}


def test_a_later_value_in_the_same_step_wins(new_run, gpu):
    done, _ = gpu
    run = new_run()
    run.log({"x": FakeCudaScalar(1.0)}, commit=False)
    run.log({"x": 2.0})
    done.set()
    run.finish()
    assert [r["x"] for r in api_run(run).scan_history()] == [2.0]


def test_a_rejected_call_leaves_no_waiting_row(new_run, gpu):
    done, _ = gpu
    run = new_run()
    with pytest.raises(TypeError):
        run.log({"x": FakeCudaScalar(1.0), "bad": object()})
    run.log({"y": 1.0})
    done.set()
    run.finish()
    assert [{k: v for k, v in r.items() if not k.startswith("_")} for r in api_run(run).scan_history()] == [{"y": 1.0}]
    assert turbotrack.run is None
