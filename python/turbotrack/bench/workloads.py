"""The benchmark's workloads and the data they log, generated the same way in every process.

A workload is a shape of logging: how many scalars per call, whether a step is split over two calls,
and how many threads or processes log at once. Each thread or process is a *stream* with its own
deterministic values, so the harness can regenerate exactly what was logged and check a read-back.
Only the standard library is used: a worker process pays for nothing but the library it measures.
"""

from __future__ import annotations

import dataclasses
import math
import random
from typing import Iterator

#: Data shapes: ``random`` doubles (incompressible), ``smooth`` decaying noisy loss curves.
DATA_KINDS = ("random", "smooth")


@dataclasses.dataclass(frozen=True)
class Workload:
    """One shape of logging, run for ``steps`` steps by each of ``threads * procs`` streams."""

    name: str
    keys: int
    """Scalars logged per step."""
    split: bool = False
    """Log the first half of a step with ``commit=False``, then the rest (two calls per step)."""
    threads: int = 1
    """Threads logging at once into one run, each with its own keys (``t<j>/...``)."""
    procs: int = 1
    """Processes logging at once, each with its own run (or one shared run), same keys."""
    summary: str = ""

    def streams(self) -> int:
        return self.threads * self.procs

    def calls_per_step(self) -> int:
        return 2 if self.split else 1

    def calls(self, steps: int) -> int:
        """Timed ``log`` calls in the whole workload."""
        return steps * self.calls_per_step() * self.streams()

    def points(self, steps: int) -> int:
        """Scalar values logged in the whole workload."""
        return steps * self.keys * self.streams()


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("scalars10", 10, summary="10 float scalars per log() call"),
        Workload("scalars200", 200, summary="200 float scalars per log() call"),
        Workload(
            "split_step",
            10,
            split=True,
            summary="log(first 5, commit=False) then log(other 5): two calls per step",
        ),
        Workload("threads4", 10, threads=4, summary="4 threads each logging 10 scalars per call"),
        Workload("procs4", 10, procs=4, summary="4 processes each logging 10 scalars per call"),
    )
}


def parse_workloads(text: str) -> list[Workload]:
    """``"scalars10,procs4"`` -> workloads, in that order; unknown names raise ``ValueError``."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown or not names:
        raise ValueError(f"unknown workload(s) {unknown or [text]}; choose from {', '.join(WORKLOADS)}")
    return [WORKLOADS[n] for n in dict.fromkeys(names)]


def key_names(workload: Workload, stream: int) -> list[str]:
    """Metric names of one stream: threads log disjoint keys so their rows can be told apart."""
    prefix = f"t{stream}" if workload.threads > 1 else "train"
    return [f"{prefix}/m{k:03d}" for k in range(workload.keys)]


class ValueStream:
    """The values one stream logs, step by step (``row(step)``), reproducible from the seed."""

    def __init__(self, workload: Workload, data: str, seed: int, stream: int, steps: int) -> None:
        if data not in DATA_KINDS:
            raise ValueError(f"data must be one of {DATA_KINDS}, got {data!r}")
        self._rng = random.Random(seed * 1_000_003 + stream)
        self._n = workload.keys
        self._smooth = data == "smooth"
        if self._smooth:
            rng = random.Random(seed * 7_919 + stream)
            # Per key: start height, decay length (in steps) and floor of a loss curve.
            self._curves = [
                (
                    rng.uniform(1.0, 5.0),
                    max(steps, 1) / rng.uniform(2.0, 8.0),
                    rng.uniform(0.01, 0.3),
                )
                for _ in range(self._n)
            ]

    def row(self, step: int) -> list[float]:
        """The ``keys`` values of ``step``; call with steps 0, 1, 2, ... in order."""
        rnd = self._rng.random
        if not self._smooth:
            return [rnd() for _ in range(self._n)]
        gauss = self._rng.gauss
        return [(a * math.exp(-step / tau) + floor) * (1.0 + 0.02 * gauss(0.0, 1.0)) for a, tau, floor in self._curves]


def expected_rows(workload: Workload, data: str, seed: int, stream: int, steps: int) -> Iterator[dict[str, float]]:
    """Every row one stream commits, as the reader should give it back (user keys only)."""
    names = key_names(workload, stream)
    values = ValueStream(workload, data, seed, stream, steps)
    for step in range(steps):
        yield dict(zip(names, values.row(step)))
