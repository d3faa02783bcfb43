"""The wandb methods of a :class:`turbotrack.Run` beyond its lifecycle: define_metric, save, watch, the
name/tags/notes it shows, URLs, alerts, code and artifacts (``Run`` inherits them from :class:`RunWandb`)."""

from __future__ import annotations

import glob
import os
import shutil
import threading
from pathlib import Path
from typing import Any, Optional, Sequence

from ._fs import atomic_write_json
from ._metric import Metric
from .settings import RunSettings
from .store import layout, runinfo


class RunWandb:
    """wandb's Run methods that act through a run's files (mixed into :class:`turbotrack.Run`)."""

    # Set by Run.__init__.
    settings: RunSettings
    id: str
    entity: str
    project: str
    _dir: Path
    _core: Any
    _lock: threading.Lock
    _info: dict[str, Any]
    _defs: list[tuple[Optional[str], ...]]
    _metrics: dict[str, Metric]
    _name: str
    _tags: tuple[str, ...]
    _notes: Optional[str]
    _uploader: Any
    _forked: bool

    def _file(self, name: str) -> str:
        raise NotImplementedError

    @property
    def path(self) -> str:
        """``"entity/project/id"``."""
        return f"{self.entity}/{self.project}/{self.id}"

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
        (summary words are joined), as wandb does; ``overwrite=True`` replaces it.
        """
        if not isinstance(name, str):
            raise TypeError(f"define_metric name must be a string, got {type(name).__name__}")
        if hasattr(step_metric, "name"):  # wandb takes a Metric as the step metric too
            step_metric = step_metric.name  # type: ignore[union-attr]
        if step_metric == "_step":  # the default x-axis already
            step_metric = None
        if goal is not None and objective is not None and goal != objective:
            raise ValueError(f"goal={goal!r} and objective={objective!r} disagree; give one of them")
        metric = Metric(name, step_metric, step_sync, hidden, summary, objective or goal)
        previous = self._metrics.get(name)
        if previous is not None and not overwrite:
            metric = previous.merged(metric)
        summary_words = ",".join(metric.summary) if metric.summary else None
        self._core.define_metric(
            name,
            metric.step_metric,
            step_sync if step_sync is not None else None,
            metric.hidden,
            summary_words,
            metric.goal,
        )
        self._metrics[name] = metric
        self._defs = [d for d in self._defs if d[0] != name] + [(name, summary_words, metric.goal, metric.step_metric)]
        atomic_write_json(self._dir / self._file(layout.METRICS), self._defs)
        return metric

    def save(self, glob_str: str, base_path: Optional[str] = None, policy: str = "live") -> list[str]:
        """Copy the files matching ``glob_str`` (``*``, ``?``, ``[...]``, ``**``) into the run's
        ``files/`` folder, keeping their paths relative to ``base_path``: by default the current
        folder for a relative glob, the glob's folder for an absolute one (as wandb). ``ValueError``
        when ``base_path`` is not an ancestor of the glob; nothing is ever written outside
        ``files/``. Returns the paths written."""
        if policy not in ("live", "now", "end"):
            raise ValueError(f"policy must be 'live', 'now' or 'end', got {policy!r}")
        pattern = os.path.abspath(os.fspath(glob_str))
        if base_path is not None:
            base = os.path.abspath(os.fspath(base_path))
        elif os.path.isabs(os.fspath(glob_str)):
            base = os.path.dirname(pattern)
            while glob.has_magic(base):  # wildcards in folder parts: keep those folders under files/
                base = os.path.dirname(base)
        else:
            base = os.getcwd()
        if os.path.commonpath([base, pattern]) != base:
            raise ValueError(
                f"save({glob_str!r}, base_path={base_path!r}): the base path {base} is not a folder above the "
                "files; pass a base_path that is an ancestor of the glob (paths under files/ are relative to it)"
            )
        files = (self._dir / layout.FILES_DIR).resolve()
        out = []
        for match in sorted(glob.glob(pattern, recursive=True)):
            src = os.path.abspath(match)
            if not os.path.isfile(src):
                continue
            rel = os.path.relpath(src, base)
            dest = files / rel
            if rel.split(os.sep, 1)[0] == os.pardir or files not in dest.resolve().parents:
                raise ValueError(f"save({glob_str!r}): {src} would land outside the run's files/ folder; refused")
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dest)
            out.append(str(dest))
        if self._uploader is not None and not self._forked:  # a rank > 0 sends the files it saved itself
            self._uploader.claim(f"{layout.FILES_DIR}/{Path(os.path.relpath(p, files)).as_posix()}" for p in out)
        return out

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
        from .watch import watch

        watch(models, criterion, log, log_freq, idx, log_graph, run=self)

    @property
    def name(self) -> str:
        """The run's display name; setting it saves it in run.json (read back as ``Api().run(...).name``)."""
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"run.name must be a string, got {type(value).__name__}")
        self._name = value
        self._save_info(name=value)

    @property
    def tags(self) -> tuple[str, ...]:
        """The run's tags; setting them (a list or tuple of strings) saves them in run.json."""
        return self._tags

    @tags.setter
    def tags(self, value: Sequence[str]) -> None:
        self._tags = check_tags(value)
        self._save_info(tags=list(self._tags))

    @property
    def notes(self) -> Optional[str]:
        """The run's notes; setting them saves them in run.json."""
        return self._notes

    @notes.setter
    def notes(self, value: Optional[str]) -> None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"run.notes must be a string or None, got {type(value).__name__}")
        self._notes = value
        self._save_info(notes=value)

    def _save_info(self, **items: Any) -> None:
        """Update this process's run.json with ``items`` (what a rank of a shared run writes is its own file)."""
        with self._lock:
            self._info.update(items)
            runinfo.write(self._dir, self._info, self._file(layout.RUN))

    @property
    def resumed(self) -> bool:
        """Whether this run continues an earlier one (``resume=`` found it)."""
        return bool(getattr(self, "_resumed", False))

    @property
    def offline(self) -> bool:
        """True unless the run streams to a server (``mode="online"`` with a server to send to)."""
        return getattr(self, "_uploader", None) is None

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
        return None if self.offline or not base else f"{base.rstrip('/')}/{self.entity}/{self.project}/runs/{self.id}"

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
            self._save_info(labels={**self._info.get("labels", {}), **labels})

    def mark_preempting(self) -> None:
        """Say that this run's process is about to be preempted: recorded in run.json (``preempting``)."""
        self._save_info(preempting=True)

    def alert(self, title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
        """Record an alert in the run's ``alerts.json`` and show it on stderr (no server to notify here)."""
        from .compat import records

        records.alert_record(self._dir / self._file(layout.ALERTS), title, text, level)

    def log_code(
        self, root: Optional[str] = ".", name: Optional[str] = None, include_fn: Any = None, exclude_fn: Any = None
    ) -> Any:
        """Save the source files under ``root`` (``*.py`` unless ``include_fn(path)`` says otherwise) as an
        artifact of type ``code``; returns it (``None`` when there was nothing to save)."""
        from .compat import records

        return records.log_code(self, root or ".", name, include_fn, exclude_fn)

    def log_artifact(
        self,
        artifact_or_path: Any,
        name: Optional[str] = None,
        type: Optional[str] = None,
        aliases: Optional[Sequence[str]] = None,
        tags: Optional[Sequence[str]] = None,
    ) -> Any:
        """Store an :class:`turbotrack.Artifact` (or a file or folder path, made into one) as the next version of
        its name in this run's project, with ``aliases`` and ``latest``; returns it (now ``name:vN``)."""
        from . import artifacts

        art = artifacts.as_artifact(artifact_or_path, name, type, self.id)
        artifacts.save(art, self._dir.parent, list(aliases or []), self.path)
        artifacts.record(self._dir, "logged", art, self._file(layout.ARTIFACTS))
        return art

    def use_artifact(
        self,
        artifact_or_name: Any,
        type: Optional[str] = None,
        aliases: Optional[Sequence[str]] = None,
        use_as: Optional[str] = None,
    ) -> Any:
        """An artifact as this run's input: ``"name:alias"`` (also ``project/`` or ``entity/project/`` before
        it; alias ``latest`` by default) from the storage root, or an Artifact object (logged first if new)."""
        from . import artifacts

        if isinstance(artifact_or_name, artifacts.Artifact):
            art = artifact_or_name
            if art.version is None:
                artifacts.save(art, self._dir.parent, list(aliases or []), self.path)
        else:
            entity, project, name, alias = artifacts.parse_name(str(artifact_or_name), self.entity, self.project)
            art = artifacts.load(self._dir.parents[2] / entity / project, name, alias)
        if type is not None and art.type != type:
            raise ValueError(f"artifact {art.name} has type {art.type!r}, not {type!r}")
        artifacts.record(self._dir, "used", art, self._file(layout.ARTIFACTS))
        return art

    def link_model(
        self, path: str, registered_model_name: str, name: Optional[str] = None, aliases: Optional[Sequence[str]] = None
    ) -> Any:
        """Log the model at ``path`` as an artifact of type ``model`` named ``registered_model_name``."""
        return self.log_artifact(path, name=name or registered_model_name, type="model", aliases=aliases)

    def unwatch(self, models: Any = None) -> None:
        """Stop watching ``models`` (every watched model when ``None``)."""
        from .watch import unwatch

        unwatch(models)


def check_tags(tags: Any) -> tuple[str, ...]:
    """``tags`` (a list or tuple of strings) as a tuple; a bare string or a non-string tag is a TypeError."""
    if isinstance(tags, (str, bytes)) or not isinstance(tags, (list, tuple, set, frozenset)):
        raise TypeError(f"tags must be a list or tuple of strings, got {type(tags).__name__}")
    bad = [t for t in tags if not isinstance(t, str)]
    if bad:
        raise TypeError(f"tags must be strings, got {bad[0]!r} ({type(bad[0]).__name__})")
    return tuple(tags)
