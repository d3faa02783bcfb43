"""What ``define_metric`` returns: the metric's definition, as wandb's ``Metric``."""

from __future__ import annotations

from typing import Optional


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
        words = [w.strip() for w in summary.split(",") if w.strip()] if summary else None
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
        words = list(self._summary or ())
        words += [w for w in newer._summary or () if w not in words]
        step_metric = newer._step_metric or self._step_metric
        return Metric(
            self._name,
            step_metric,
            newer._step_sync if newer._step_metric else self._step_sync,
            newer._hidden if newer._hidden is not None else self._hidden,
            ",".join(words) or None,
            newer._goal or self._goal,
        )

    def __repr__(self) -> str:
        return f"Metric(name={self._name!r}, step_metric={self._step_metric!r}, summary={self._summary!r})"
