"""The benchmark harness behind ``turbotrack bench`` and ``benches/compare.py``.

It runs the same workloads through turbotrack and every installed peer (wandb, tensorboardX, MLflow,
trackio, Aim) plus a pure-Python and a native floor, each in a fresh process, and reports per-call
latency, wall, CPU, memory and disk figures side by side. Nothing heavy is imported here: worker
processes import this package too.
"""

from __future__ import annotations

from typing import Optional

__all__ = ["main"]


def main(argv: Optional[list[str]] = None) -> int:
    """Run ``turbotrack bench`` with the arguments after ``bench``; returns the exit code."""
    from .cli import main as _main

    return _main(argv)
