"""What ``define_metric`` returns: the metric's definition, as wandb's ``Metric``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional

from . import _core
from ._fs import atomic_write_json


class DefineMetricError(_core.Error, TypeError, ValueError):
    """A ``define_metric`` argument refused: a :class:`turbotrack.Error` (wandb raises ``wandb.Error``),
    and a TypeError (a wrong type) or ValueError (a wrong value) as Python code expects."""


class Metric:
    """A metric's definition: ``name`` (a name or a glob ending in ``*``), ``step_metric``, ``step_sync``,
    ``hidden``, ``summary`` (a tuple of words, or None), ``goal`` (``"minimize"``/``"maximize"``, or None)."""

    def __init__(
        self,
        name: str,
        step_metric: Optional[str] = None,
        step_sync: Optional[bool] = None,
        hidden: Optional[bool] = None,
        summary: Optional[str] = None,
        goal: Optional[str] = None,
    ) -> None:
        self._name = name
        self._step_metric = step_metric
        self._step_sync = step_sync if step_sync is not None else step_metric is not None
        self._hidden = hidden
        words = [w.strip().lower() for w in summary.split(",") if w.strip()] if summary else None
        self._summary = tuple(words) if words else None
        self._goal = goal

    @property
    def name(self) -> str:
        return self._name

    @property
    def step_metric(self) -> Optional[str]:
        return self._step_metric

    @property
    def step_sync(self) -> Optional[bool]:
        return self._step_sync

    @property
    def hidden(self) -> Optional[bool]:
        return self._hidden

    @property
    def summary(self) -> Optional[tuple[str, ...]]:
        return self._summary

    @property
    def goal(self) -> Optional[str]:
        return self._goal

    def merged(self, newer: Metric) -> Metric:
        """This definition updated by ``newer`` (``define_metric`` without ``overwrite=True``, as wandb):
        what ``newer`` sets wins, summary words are joined."""
        words = list(self.summary or ())
        words += [w for w in newer.summary or () if w not in words]
        return Metric(
            self.name,
            newer.step_metric or self.step_metric,
            newer.step_sync if newer.step_metric else self.step_sync,
            newer.hidden if newer.hidden is not None else self.hidden,
            ",".join(words) or None,
            newer.goal or self.goal,
        )

    def __repr__(self) -> str:
        return f"Metric(name={self._name!r}, step_metric={self._step_metric!r}, summary={self._summary!r})"


#: (argument, the type it must have) of ``define_metric``, checked as wandb checks them.
_ARG_TYPES: tuple[tuple[str, type], ...] = (
    ("step_metric", str),
    ("step_sync", bool),
    ("hidden", bool),
    ("summary", str),
    ("goal", str),
    ("objective", str),
    ("overwrite", bool),
)


class MetricDefs:
    """A run's metric definitions: what ``define_metric`` said, given to the history core and kept in
    ``metrics.json`` (a resumed run starts from the definitions it had), one entry per metric:
    ``[name, summary words or null, objective or null, step_metric or null, hidden]``; files written
    before ``hidden`` was kept have the first four (not hidden) or three (no step metric either)."""

    def __init__(self, path: Path, history: Callable[[], Any], defs: list[tuple[Any, ...]]) -> None:
        self._path = path
        self._history = history
        self._defs = list(defs)  # metrics.json: name, summary, objective, step_metric, hidden
        self._metrics: dict[str, Metric] = {}

    def define(
        self,
        name: str,
        step_metric: Any = None,
        step_sync: Optional[bool] = None,
        hidden: Optional[bool] = None,
        summary: Optional[str] = None,
        goal: Optional[str] = None,
        objective: Optional[str] = None,
        overwrite: Optional[bool] = None,
    ) -> Metric:
        """See :meth:`turbotrack.Run.define_metric`."""
        if not isinstance(name, str):
            raise DefineMetricError(f"define_metric name must be a string, got {type(name).__name__}")
        if hasattr(step_metric, "name") and not isinstance(step_metric, str):  # a Metric as the step metric
            step_metric = step_metric.name
        given = dict(step_metric=step_metric, step_sync=step_sync, hidden=hidden, summary=summary)
        given.update(goal=goal, objective=objective, overwrite=overwrite)
        for arg, want in _ARG_TYPES:
            value = given[arg]
            if value is not None and not isinstance(value, want):
                raise DefineMetricError(
                    f"define_metric({name!r}, {arg}=): must be a {want.__name__} or None, got {type(value).__name__}"
                )
        if step_metric == "_step":  # the default x-axis already
            step_metric = None
        if goal is not None and objective is not None and goal != objective:
            raise DefineMetricError(f"goal={goal!r} and objective={objective!r} disagree; give one of them")
        metric = Metric(name, step_metric, step_sync, hidden, summary, objective or goal)
        previous = self._metrics.get(name)
        if previous is not None and not overwrite:  # wandb merges a definition into the earlier one
            metric = previous.merged(metric)
        words = ",".join(metric.summary) if metric.summary else None
        try:
            self._history().define_metric(name, metric.step_metric, step_sync, metric.hidden, words, metric.goal)
        except ValueError as e:  # the core names what it refuses: a summary word, the name, best without a goal
            raise DefineMetricError(str(e)) from None
        self._metrics[name] = metric
        entry = (name, words, metric.goal, metric.step_metric, bool(metric.hidden))
        self._defs = [d for d in self._defs if d[0] != name] + [entry]
        atomic_write_json(self._path, self._defs)
        return metric
