"""Custom charts for ``log()``: ``plot.line``, ``scatter``, ``bar``, ``histogram``, ``line_series``.

Each returns an object to log under a key, e.g. ``log({"pr": plot.line(table, "recall", "precision")})``;
its data is stored as a table file in the run's media and the chart's spec in the history.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

from .data_types.table import Table


class Plot:
    """A chart over a table: ``kind`` and the table columns it maps to axes."""

    _turbotrack_plot = True

    def __init__(self, kind: str, table: Table, fields: dict[str, str], title: str = "") -> None:
        if not isinstance(table, Table):
            raise TypeError(f"plot.{kind} needs a turbotrack.Table, got {type(table).__name__}")
        missing = [c for c in fields.values() if c not in table.columns]
        if missing:
            raise ValueError(f"plot.{kind}: the table has no column(s) {missing}; its columns are {table.columns}")
        self.kind, self.table, self.fields, self.title = kind, table, fields, title

    def to_json(self, run_dir: Optional[Path], key: str, step: int) -> dict[str, Any]:
        return {
            "_type": "plot",
            "kind": self.kind,
            "fields": self.fields,
            "title": self.title,
            "table": self.table.to_json(run_dir, key, step),
        }


def line(table: Table, x: str, y: str, stroke: Optional[str] = None, title: str = "") -> Plot:
    fields = {"x": x, "y": y, **({"stroke": stroke} if stroke else {})}
    return Plot("line", table, fields, title)


def scatter(table: Table, x: str, y: str, title: str = "") -> Plot:
    return Plot("scatter", table, {"x": x, "y": y}, title)


def bar(table: Table, label: str, value: str, title: str = "") -> Plot:
    return Plot("bar", table, {"label": label, "value": value}, title)


def histogram(table: Table, value: str, title: str = "") -> Plot:
    return Plot("histogram", table, {"value": value}, title)


def line_series(
    xs: Sequence[Any],
    ys: Sequence[Sequence[Any]],
    keys: Optional[Sequence[str]] = None,
    title: str = "",
    xname: str = "x",
) -> Plot:
    """Several lines over shared (or per-line) x values."""
    keys = list(keys) if keys is not None else [f"line_{i}" for i in range(len(ys))]
    if len(keys) != len(ys):
        raise ValueError(f"line_series: {len(keys)} keys for {len(ys)} lines")
    table = Table(columns=["lineKey", xname, "y"])
    for k, series in zip(keys, ys):
        x_values = xs[keys.index(k)] if xs and isinstance(xs[0], (list, tuple)) else xs
        for x, y in zip(x_values, series):
            table.add_data(k, x, y)
    return Plot("line", table, {"x": xname, "y": "y", "stroke": "lineKey"}, title)
