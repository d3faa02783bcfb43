"""The wandb methods of a :class:`turbotrack.Run` beyond its lifecycle: define_metric, save, watch, the
name/tags/notes it shows, URLs, alerts, code and artifacts (``Run`` inherits them from :class:`RunWandb`).
Each delegates to the part of the run whose job it is (``_metric``, ``_run_save``, ``_run_records``,
``_run_files``)."""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence, Union

from ._metric import Metric, MetricDefs
from ._run_files import RunFiles
from ._run_life import Lifecycle
from ._run_records import RunRecords
from .settings import RunSettings
from .store.layout import RunPath

__all__ = ["RunWandb"]


class RunWandb:
    """wandb's Run methods that act through a run's parts (mixed into :class:`turbotrack.Run`)."""

    # Set by Run.__init__.
    settings: RunSettings
    id: str
    entity: str
    project: str
    _files: RunFiles
    _life: Lifecycle
    _metric_defs: MetricDefs
    _records: RunRecords
    _core: Any

    @property
    def path(self) -> str:
        """``"entity/project/id"``."""
        return self._files.path

    def define_metric(
        self,
        name: str,
        step_metric: Optional[str] = None,
        step_sync: Optional[bool] = None,
        hidden: Optional[bool] = None,
        summary: Optional[str] = None,
        goal: Optional[str] = None,
        objective: Optional[str] = None,
        overwrite: Optional[bool] = None,
    ) -> Metric:
        """Say how metric ``name`` (or a glob ending in ``*``) is summarised and plotted; returns its
        definition (a :class:`turbotrack.Metric`).

        ``summary``: comma-separated words among min, max, mean, first, last, best, none.
        ``best`` needs ``objective`` (or ``goal``) "minimize" or "maximize". ``step_metric`` makes
        another metric its x-axis; ``step_sync`` (default True with a step_metric) fills that
        metric's last value into rows that lack it. Defining a metric again adds to its definition
        (what the new call gives wins, summary words are joined), as wandb does; ``overwrite=True``
        replaces it. An argument of the wrong type (``overwrite="yes"``) is a TypeError naming it.
        """
        return self._metric_defs.define(name, step_metric, step_sync, hidden, summary, goal, objective, overwrite)

    def save(
        self,
        glob_str: Union[str, os.PathLike[str]],
        base_path: Optional[Union[str, os.PathLike[str]]] = None,
        policy: str = "live",
        glob: bool = True,
    ) -> list[str]:
        """Copy the files matching ``glob_str`` (``*``, ``?``, ``[...]``, ``**``; a literal path with
        ``glob=False``) into the run's ``files/`` folder, keeping their paths relative to ``base_path``:
        by default the current folder for a relative glob, the folder above the file's for an absolute
        one (as wandb). ``ValueError`` when ``base_path`` is not an ancestor of the glob; nothing is ever
        written outside ``files/``. ``policy``: ``"now"`` copies the file as it is now; ``"live"`` (the
        default) copies it now and again at ``finish()`` if it changed; ``"end"`` copies it at
        ``finish()``; another value is a ValueError. After ``finish()``: ``turbotrack.errors.UsageError``,
        as wandb. Returns the paths in ``files/``."""
        return self._life.saver.save(glob_str, base_path, policy, glob)

    def watch(
        self,
        models: Any,
        criterion: Any = None,
        log: Optional[str] = "gradients",
        log_freq: int = 1000,
        idx: Optional[int] = None,
        log_graph: bool = False,
    ) -> None:
        """``turbotrack.watch`` for this run."""
        from .watch import check_args, watch_run

        check_args(log, log_freq, log_graph)
        watch_run(self, self._core.hush, models, log, log_freq)

    @property
    def name(self) -> str:
        """The run's display name; setting it saves it in run.json (read back as ``Api().run(...).name``)."""
        return self._files.name

    @name.setter
    def name(self, value: str) -> None:
        self._files.set_shown(name=value)

    @property
    def tags(self) -> tuple[str, ...]:
        """The run's tags; setting them (a list or tuple of strings) saves them in run.json."""
        return self._files.tags

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        self._files.set_shown(tags=value)

    @property
    def notes(self) -> Optional[str]:
        """The run's notes; setting them saves them in run.json."""
        return self._files.notes

    @notes.setter
    def notes(self, value: Optional[str]) -> None:
        self._files.set_shown(notes=value)

    @property
    def resumed(self) -> bool:
        """Whether this run continues an earlier one (``resume=`` found it)."""
        return self._files.resumed

    @property
    def offline(self) -> bool:
        """True unless the run streams to a server (``mode="online"`` with a server to send to)."""
        upload = self._life.upload
        return upload is None or upload.uploader is None

    @property
    def disabled(self) -> bool:
        return False

    @property
    def url(self) -> Optional[str]:
        """The run's page on the server; ``None`` for a run kept on local disk only."""
        return self.get_url()

    def get_url(self) -> Optional[str]:
        """The run's page on the server; ``None`` for a run kept on local disk only."""
        base = self.settings.base_url
        return None if self.offline or not base else RunPath(None, self.entity, self.project, self.id).page_url(base)

    def get_project_url(self) -> Optional[str]:
        base = self.settings.base_url
        return None if self.offline or not base else f"{base.rstrip('/')}/{self.entity}/{self.project}"

    def project_name(self) -> str:
        """The project's name (wandb's method form)."""
        return self.project

    def _label(
        self, code: Optional[str] = None, repo: Optional[str] = None, code_version: Optional[str] = None, **kw: Any
    ) -> None:
        """Which framework drives this run (wandb's telemetry label): kept in run.json as ``labels``."""
        labels = {k: v for k, v in {"code": code, "repo": repo, "code_version": code_version, **kw}.items() if v}
        if labels:
            self._files.update_info(labels={**self._files.info.get("labels", {}), **labels})

    def mark_preempting(self) -> None:
        """Say that this run's process is about to be preempted: recorded in run.json (``preempting``)."""
        self._files.update_info(preempting=True)

    def alert(self, title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
        """Record an alert in the run's ``alerts.json`` and show it on stderr (no server to notify here).
        ``level``: ``INFO`` (the default), ``WARN`` or ``ERROR`` (or an ``AlertLevel``), else ValueError;
        ``wait_duration`` (seconds, or a ``timedelta``; a minute by default): another alert with this
        title within it is dropped, as wandb's server drops it."""
        self._records.alert(title, text, level, wait_duration)

    def log_code(
        self, root: Optional[str] = ".", name: Optional[str] = None, include_fn: Any = None, exclude_fn: Any = None
    ) -> Any:
        """Save the source files under ``root`` (``*.py`` unless ``include_fn(path)`` says otherwise) as an
        artifact of type ``code``; returns it (``None`` when there was nothing to save)."""
        return self._records.log_code(self, root or ".", name, include_fn, exclude_fn)

    def log_artifact(
        self,
        artifact_or_path: Any,
        name: Optional[str] = None,
        type: Optional[str] = None,
        aliases: Optional[Sequence[str]] = None,
        tags: Optional[Sequence[str]] = None,
    ) -> Any:
        """Store an :class:`turbotrack.Artifact` (or a file or folder path, made into one) as the next version of
        its name in this run's project, with ``aliases`` and ``latest``; returns it (now ``name:vN``).
        Artifacts here have no tags: ``tags=`` (non-empty) is ``turbotrack.errors.UnsupportedError``."""
        return self._records.log_artifact(artifact_or_path, name, type, aliases, tags)

    def use_artifact(
        self,
        artifact_or_name: Any,
        type: Optional[str] = None,
        aliases: Optional[Sequence[str]] = None,
        use_as: Optional[str] = None,
    ) -> Any:
        """An artifact as this run's input: ``"name:alias"`` (also ``project/`` or ``entity/project/`` before
        it; alias ``latest`` by default) from the storage root, or an Artifact object (logged first if new).
        ``use_as`` is deprecated in wandb and does nothing (a warning says so)."""
        return self._records.use_artifact(artifact_or_name, type, aliases, use_as)

    def link_model(
        self, path: str, registered_model_name: str, name: Optional[str] = None, aliases: Optional[Sequence[str]] = None
    ) -> Any:
        """Log the model at ``path`` as an artifact of type ``model`` named ``registered_model_name``."""
        return self.log_artifact(path, name=name or registered_model_name, type="model", aliases=aliases)

    def unwatch(self, models: Any = None) -> None:
        """Stop watching ``models`` (every watched model when ``None``)."""
        from .watch import unwatch

        unwatch(models)
