"""Custom charts for ``log()``, as ``wandb.plot``'s: ``line``, ``scatter``, ``bar``, ``histogram``,
``line_series``, ``confusion_matrix``, ``pr_curve``, ``roc_curve``, and ``plot_table`` (a chart of a
named Vega spec over a table).

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

    def __init__(
        self,
        kind: str,
        table: Table,
        fields: dict[str, str],
        title: Optional[str] = "",
        spec: Optional[str] = None,
        strings: Optional[dict[str, Any]] = None,
    ) -> None:
        if not isinstance(table, Table):
            raise TypeError(f"plot.{kind} needs a turbotrack.Table, got {type(table).__name__}")
        missing = [c for c in fields.values() if c not in table.columns]
        if missing:
            raise ValueError(f"plot.{kind}: the table has no column(s) {missing}; its columns are {table.columns}")
        self.kind, self.table, self.fields, self.title = kind, table, fields, title or ""
        self.spec, self.strings = spec, dict(strings or {})

    def to_json(self, run_dir: Optional[Path], key: str, step: int) -> dict[str, Any]:
        out = {
            "_type": "plot",
            "kind": self.kind,
            "fields": self.fields,
            "title": self.title,
            "table": self.table.to_json(run_dir, key, step),
        }
        if self.spec is not None:
            out["spec"] = self.spec
        if self.strings:
            out["strings"] = self.strings
        return out


def line(
    table: Table, x: str, y: str, stroke: Optional[str] = None, title: Optional[str] = "", split_table: bool = False
) -> Plot:
    """A line chart of column ``y`` over ``x`` (one line per value of ``stroke``)."""
    fields = {"x": x, "y": y, **({"stroke": stroke} if stroke else {})}
    return Plot("line", table, fields, title)


def scatter(table: Table, x: str, y: str, title: Optional[str] = "", split_table: bool = False) -> Plot:
    """A scatter plot of column ``y`` against ``x``."""
    return Plot("scatter", table, {"x": x, "y": y}, title)


def bar(table: Table, label: str, value: str, title: Optional[str] = "", split_table: bool = False) -> Plot:
    """A bar chart: one bar per row, labelled by column ``label``, of height ``value``."""
    return Plot("bar", table, {"label": label, "value": value}, title)


def histogram(table: Table, value: str, title: Optional[str] = "", split_table: bool = False) -> Plot:
    """A histogram of column ``value``."""
    return Plot("histogram", table, {"value": value}, title)


def line_series(
    xs: Sequence[Any],
    ys: Sequence[Sequence[Any]],
    keys: Optional[Sequence[str]] = None,
    title: Optional[str] = "",
    xname: Optional[str] = "x",
    split_table: bool = False,
) -> Plot:
    """Several lines over shared x values (``xs`` a sequence) or per-line ones (a sequence per line);
    ``ys`` one sequence per line (lists, tuples or NumPy arrays alike)."""
    lines = [list(y) for y in ys]
    keys = list(keys) if keys is not None else [f"line_{i}" for i in range(len(lines))]
    if len(keys) != len(lines):
        raise ValueError(f"line_series: {len(keys)} keys for {len(lines)} lines")
    xs = list(xs)
    per_line = bool(xs) and all(hasattr(x, "__len__") and not isinstance(x, (str, bytes)) for x in xs)
    if per_line and len(xs) != len(lines):
        raise ValueError(f"line_series: {len(xs)} x sequences for {len(lines)} lines")
    xname = xname or "x"
    table = Table(columns=["lineKey", xname, "y"])
    for i, (k, series) in enumerate(zip(keys, lines)):
        for x, y in zip(list(xs[i]) if per_line else xs, series):
            table.add_data(k, x, y)
    return Plot("line", table, {"x": xname, "y": "y", "stroke": "lineKey"}, title)


def confusion_matrix(
    probs: Optional[Sequence[Sequence[float]]] = None,
    y_true: Optional[Sequence[Any]] = None,
    preds: Optional[Sequence[Any]] = None,
    class_names: Optional[Sequence[str]] = None,
    title: Optional[str] = "Confusion Matrix Curve",
    split_table: bool = False,
) -> Plot:
    """A confusion matrix of ``y_true`` (class indices) against ``preds`` (or the argmax of ``probs``), as
    wandb stores it: a table of (Actual, Predicted, nPredictions) over every pair of classes."""
    import numpy as np

    if y_true is None or (probs is None) == (preds is None):
        raise ValueError("confusion_matrix needs y_true and exactly one of probs or preds")
    truth = np.asarray(y_true).astype(int).ravel()
    guess = np.asarray(preds).astype(int).ravel() if preds is not None else np.asarray(probs).argmax(axis=-1)
    if len(truth) != len(guess):
        raise ValueError(f"confusion_matrix: {len(truth)} labels but {len(guess)} predictions")
    n = len(class_names) if class_names is not None else int(max(truth.max(initial=-1), guess.max(initial=-1)) + 1)
    if n and (
        truth.max(initial=0) >= n or guess.max(initial=0) >= n or min(truth.min(initial=0), guess.min(initial=0)) < 0
    ):
        raise ValueError(f"confusion_matrix: class indices must be in 0..{n - 1}")
    names = list(class_names) if class_names is not None else [f"Class_{i + 1}" for i in range(n)]
    counts = np.zeros((n, n), dtype=int)
    np.add.at(counts, (truth, guess), 1)
    table = Table(columns=["Actual", "Predicted", "nPredictions"])
    for i in range(n):
        for j in range(n):
            table.add_data(names[i], names[j], int(counts[i, j]))
    return Plot(
        "confusion_matrix", table, {"Actual": "Actual", "Predicted": "Predicted", "nPredictions": "nPredictions"}, title
    )


def _curves(
    y_true: Any, y_probas: Any, labels: Optional[Sequence[str]], classes_to_plot: Optional[Sequence[Any]]
) -> Any:
    import numpy as np

    truth = np.asarray(y_true).ravel()
    probas = np.asarray(y_probas, dtype=np.float64)
    if probas.ndim == 1:
        probas = np.stack([1 - probas, probas], axis=1)
    if len(truth) != len(probas):
        raise ValueError(f"{len(truth)} labels but {len(probas)} rows of probabilities")
    classes = range(probas.shape[1]) if classes_to_plot is None else classes_to_plot
    for c in classes:
        name = labels[int(c)] if labels is not None else str(c)
        scores = probas[:, int(c)]
        positive = truth == c
        order = np.argsort(-scores, kind="stable")
        scores, positive = scores[order], positive[order]
        last = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]  # the last index of each threshold
        tp = np.cumsum(positive)[last].astype(np.float64)
        fp = (last + 1) - tp
        yield name, tp, fp, float(positive.sum()), float((~positive).sum())


def roc_curve(
    y_true: Sequence[Any],
    y_probas: Sequence[Sequence[float]],
    labels: Optional[Sequence[str]] = None,
    classes_to_plot: Optional[Sequence[Any]] = None,
    title: Optional[str] = "ROC Curve",
    split_table: bool = False,
) -> Plot:
    """ROC curves, one per class (one-vs-rest), as a table of (class, fpr, tpr) starting at (0, 0)."""
    table = Table(columns=["class", "fpr", "tpr"])
    for name, tp, fp, pos, neg in _curves(y_true, y_probas, labels, classes_to_plot):
        table.add_data(name, 0.0, 0.0)
        for t, f in zip(tp, fp):
            table.add_data(name, float(f / neg) if neg else 0.0, float(t / pos) if pos else 0.0)
    return Plot("line", table, {"x": "fpr", "y": "tpr", "class": "class"}, title)


def pr_curve(
    y_true: Sequence[Any],
    y_probas: Sequence[Sequence[float]],
    labels: Optional[Sequence[str]] = None,
    classes_to_plot: Optional[Sequence[Any]] = None,
    interp_size: int = 21,
    title: Optional[str] = "Precision-Recall Curve",
    split_table: bool = False,
) -> Plot:
    """Precision-recall curves, one per class (one-vs-rest), as a table of (class, recall, precision): the
    best precision reached at each of ``interp_size`` evenly spaced recall levels, as wandb interpolates."""
    import numpy as np

    table = Table(columns=["class", "recall", "precision"])
    for name, tp, fp, pos, _neg in _curves(y_true, y_probas, labels, classes_to_plot):
        recall = tp / pos if pos else np.zeros_like(tp)
        precision = tp / np.maximum(tp + fp, 1)
        for level in np.linspace(0, 1, interp_size):
            reached = precision[recall >= level - 1e-12]
            table.add_data(name, round(float(level), 6), float(reached.max()) if reached.size else 0.0)
    return Plot("line", table, {"x": "recall", "y": "precision", "class": "class"}, title)


def plot_table(
    vega_spec_name: str,
    data_table: Table,
    fields: dict[str, Any],
    string_fields: Optional[dict[str, Any]] = None,
    split_table: bool = False,
) -> Plot:
    """A chart of the Vega spec ``vega_spec_name`` (``"wandb/line/v0"``, a custom one...) over
    ``data_table``: ``fields`` maps the spec's fields to table columns, ``string_fields`` fills
    its text (a ``"title"``, ...)."""
    if not isinstance(vega_spec_name, str) or not vega_spec_name:
        raise TypeError(f"plot_table: vega_spec_name must be a non-empty string, got {vega_spec_name!r}")
    if not isinstance(fields, dict):
        raise TypeError(f"plot_table: fields must be a dict of spec field -> column, got {type(fields).__name__}")
    strings = dict(string_fields or {})
    return Plot(
        "custom", data_table, dict(fields), title=strings.get("title", ""), spec=vega_spec_name, strings=strings
    )


def visualize(id: str, value: Table) -> Plot:
    """wandb's older ``plot.visualize``: the Vega spec ``id`` over the table ``value``, every column a field."""
    return plot_table(id, value, {c: c for c in value.columns if isinstance(c, str)})
