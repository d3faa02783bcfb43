"""What ``init(mode="disabled")`` (or ``$WANDB_MODE=disabled``) returns: a run whose every call is a cheap
no-op that writes nothing, with the surface of wandb's disabled run (``id``, ``name``, ``path``,
``config``, ``summary``, ``define_metric``, ``alert``, ``save``, artifacts, ``watch``, ``finish``, ``with``)."""

from __future__ import annotations

import tempfile
from typing import Any, Optional

from . import _state
from ._config import Config
from ._metric import Metric
from .settings import RunSettings
from .store.summary_view import Nested
from .util import generate_id


class DisabledSummary(Nested):
    """A disabled run's summary: a dict that reads and writes by attribute too; ``log()`` keeps its last values."""

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(key) from None


class DisabledRun:
    """A run in ``mode="disabled"``: every call does nothing (nothing is written, no thread is started)
    and returns what wandb's disabled run returns."""

    disabled = True
    offline = False
    resumed = False
    url: Optional[str] = None
    step = 0

    def __init__(
        self,
        settings: Optional[RunSettings] = None,
        config: Any = None,
        name: Optional[str] = None,
        id: Optional[str] = None,
        project: Optional[str] = None,
        entity: Optional[str] = None,
        group: Optional[str] = None,
        job_type: Optional[str] = None,
        tags: Any = None,
        notes: Optional[str] = None,
    ) -> None:
        self.settings = settings or RunSettings(mode="disabled")
        self.id = id or generate_id()
        self.name = name or f"disabled-{self.id}"
        self.entity = entity or "local"
        self.project = project or "uncategorized"
        self.path = f"{self.entity}/{self.project}/{self.id}"
        self.dir = tempfile.gettempdir()
        self.group, self.job_type, self.notes = group, job_type, notes
        self.tags: tuple[str, ...] = tuple(tags or ())
        self.config = Config(None, config or {}, allow_val_change=True)
        self.summary = DisabledSummary()
        self.start_time = 0.0

    def log(self, data: Any, step: Any = None, commit: Any = None) -> None:
        """Keeps ``data``'s values in ``summary`` (as wandb's disabled run); records nothing."""
        if isinstance(data, dict):
            self.summary.update(data)

    def define_metric(
        self,
        name: str,
        step_metric: Any = None,
        step_sync: Any = None,
        hidden: Any = None,
        summary: Optional[str] = None,
        goal: Optional[str] = None,
        objective: Optional[str] = None,
        overwrite: Any = None,
    ) -> Metric:
        """The metric's definition; nothing is recorded."""
        return Metric(name, getattr(step_metric, "name", step_metric), step_sync, hidden, summary, objective or goal)

    def save(self, *args: Any, **kwargs: Any) -> bool:
        """Saves nothing; False, as wandb's disabled run."""
        return False

    def log_artifact(self, artifact_or_path: Any, *args: Any, **kwargs: Any) -> Any:
        """Stores nothing; returns the artifact given (None for a path)."""
        return artifact_or_path if hasattr(artifact_or_path, "add_file") else None

    def finish(self, exit_code: Optional[int] = None, quiet: Optional[bool] = None) -> None:
        """No longer the current run."""
        _state.forget(self)

    def __enter__(self) -> DisabledRun:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish()

    def get_url(self) -> Optional[str]:
        return None

    def get_project_url(self) -> Optional[str]:
        return None

    def project_name(self) -> str:
        return self.project

    def __getattr__(self, name: str) -> Any:
        """Every other wandb method of a disabled run (alert, use_artifact, watch, ...) does nothing, returns None."""
        if name.startswith("__"):
            raise AttributeError(name)
        return _noop

    def __repr__(self) -> str:
        return f"<turbotrack DisabledRun {self.path}>"


def _noop(*args: Any, **kwargs: Any) -> None:
    """What a disabled run's wandb methods do."""
