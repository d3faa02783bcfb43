"""``Run``: what ``turbotrack.init()`` returns, a thin wandb facade over the run's parts.

Each job is an object of its own (docs/design.md, "The SDK's run"): :class:`~._run_files.RunFiles`
(identity, folder, resume, run.json), :class:`~._streams.Streams` (the native cores, the converter,
fork rebirth), :class:`~._run_background.CaptureHandle` and ``UploadHandle``, :class:`~._run_save.FileSaver`,
:class:`~._run_records.RunRecords` (alerts, artifacts), :class:`~._metric.MetricDefs`, and
:class:`~._run_life.Lifecycle`, which starts and finishes them. ``run.log`` is the history core's own
native method, bound on the instance: no Python frame between the caller and the core."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from . import _hooks, _state
from ._config import Config
from ._metric import MetricDefs
from ._run_files import RunFiles, check_tags
from ._run_life import Lifecycle
from ._run_records import RunRecords
from ._run_wandb import RunWandb
from ._streams import Streams
from ._summary import Summary
from .compat import term
from .settings import RunSettings
from .store import layout


class Run(RunWandb):
    """A run: what ``turbotrack.init()`` returns.

    Attributes: ``id``, ``name``, ``project``, ``entity``, ``path`` ("entity/project/id"), ``dir``
    (the folder with this run's files), ``config``, ``summary``, ``step`` (the pending step).
    Use it as a context manager to finish it (as failed when an exception escapes).
    """

    config: Config
    summary: Summary

    def __init__(
        self,
        *,
        settings: RunSettings,
        root: Path,
        entity: str,
        project: str,
        id: Optional[str],
        name: Optional[str],
        config: Any,
        group: Optional[str],
        job_type: Optional[str],
        tags: Optional[Sequence[str]],
        notes: Optional[str],
        resume: Any,
    ) -> None:
        self.settings = settings
        checked_tags = check_tags(tags or ())
        files = RunFiles(root, entity, project, id, name, bool(settings.shared), settings.rank or 0, resume)
        self._files = files
        self.entity, self.project, self.id = files.entity, files.project, files.id
        self.group, self.job_type = group, job_type
        self.shared, self.rank = files.shared, files.rank
        self.dir = str(files.dir)

        def config_and_summary(streams: Streams) -> None:
            self.config = Config(
                files.path_of(layout.CONFIG),
                files.old_config(),
                on_change=files.check_config,
                allow_val_change=settings.allow_val_change,
            )
            if config is not None:
                self.config.update(config, allow_val_change=True)  # a resumed run takes init's values
            self.summary = Summary(streams, files)

        self._life = Lifecycle(
            files, settings, self._bind_log, config_and_summary, group, job_type, checked_tags, notes
        )
        self._life.on_finished = lambda: _state.forget(self)
        life = self._life
        self._metric_defs = MetricDefs(files.path_of(layout.METRICS), lambda: life.streams.history, life.defs)
        self._records = RunRecords(files)

    def _bind_log(self, log: Callable[..., None]) -> None:
        """The fast path: ``run.log`` is the history core's native method itself (set again after a fork)."""
        self.log = log  # type: ignore[method-assign]

    # ----------------------------------------------------------------------------------------
    # The contract's methods. `log` is replaced per instance by the native method (see _bind_log).

    def log(self, data: dict[str, Any], step: Optional[int] = None, commit: Optional[bool] = None) -> None:
        """Log a dict of metrics into the pending step and commit it (see ``turbotrack.log``)."""
        self._life.streams.history.log(data, step, commit)

    @property
    def _core(self) -> Any:
        """The history core (``turbotrack._core.Core``): tests and benches flush it."""
        return self._life.streams.history

    @property
    def step(self) -> int:
        """The pending step: the step the next ``log()`` merges into."""
        step: int = self._core.step
        return step

    @property
    def start_time(self) -> float:
        return self._life.streams.start_time

    def finish(self, exit_code: Optional[int] = None, quiet: Optional[bool] = None) -> None:
        """Commit the pending step, write every file, stop capture and mark the run finished
        (``failed`` with a non-zero ``exit_code``). Calling it again does nothing once it succeeded;
        if it failed (a full disk, say: ``turbotrack.Error`` says what), calling it again retries.
        ``quiet=True`` (older wandb's): no ``turbotrack:`` lines on stderr while it finishes (a failure
        is still a warning)."""
        if quiet is not None and not isinstance(quiet, bool):
            raise TypeError(f"finish(quiet=): must be a bool or None, got {type(quiet).__name__}")
        with term.silenced(bool(quiet)):
            self._life.finish(exit_code)

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.finish(exit_code=0 if exc_type is None else _hooks.exit_status(exc) if isinstance(exc, SystemExit) else 1)

    def __repr__(self) -> str:
        return f"<turbotrack Run {self.path} ({self.name}) dir={self.dir!r}>"
