"""What a run records beside its metrics: alerts (``alerts.json``), artifacts it logs and uses
(``artifacts.json``, the versions beside the project's runs), and its source code (a ``code`` artifact)."""

from __future__ import annotations

import datetime
import time
from typing import Any, Optional, Sequence

from . import errors
from ._fs import read_json
from ._run_files import RunFiles
from .store import layout

ALERT_LEVELS = ("INFO", "WARN", "ERROR")


def alert_wait(wait_duration: Any) -> float:
    """``alert(wait_duration=)`` in seconds, as wandb reads it: None (or 0) is a minute; an int, a float or a
    ``timedelta``; anything else is a TypeError."""
    wait = wait_duration or datetime.timedelta(minutes=1)
    if isinstance(wait, (int, float)):
        return float(wait)
    if not callable(getattr(wait, "total_seconds", None)):
        raise TypeError(f"alert(wait_duration=): must be an int, float, or datetime.timedelta, got {wait!r}")
    return float(wait.total_seconds())


class RunRecords:
    """Alerts, artifacts and code of one run (``Run`` delegates its wandb methods of these here)."""

    def __init__(self, files: RunFiles) -> None:
        self._files = files

    def alert(self, title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
        """Record an alert and show it on stderr, unless an alert of the same ``title`` was recorded less
        than ``wait_duration`` seconds ago (wandb's server drops those): see :meth:`turbotrack.Run.alert`."""
        from .compat import records

        name = str(getattr(level, "value", level) or "INFO")
        if name not in ALERT_LEVELS:
            raise ValueError(f"alert(level=): level must be one of 'INFO', 'WARN', or 'ERROR', got {level!r}")
        wait = alert_wait(wait_duration)
        path = self._files.path_of(layout.ALERTS)
        now = time.time()
        earlier = [a for a in read_json(path, []) or [] if isinstance(a, dict) and a.get("title") == title]
        if earlier and now - float(earlier[-1].get("time") or 0) < float(earlier[-1].get("wait_duration", wait)):
            return
        records.alert_record(path, title, text, name, wait)

    def log_code(self, run: Any, root: str, name: Optional[str], include_fn: Any, exclude_fn: Any) -> Any:
        from .compat import records

        return records.log_code(run, root, name, include_fn, exclude_fn)

    def log_artifact(
        self,
        artifact_or_path: Any,
        name: Optional[str],
        type: Optional[str],
        aliases: Optional[Sequence[str]],
        tags: Optional[Sequence[str]],
    ) -> Any:
        from . import artifacts

        if tags:
            raise errors.UnsupportedError(
                f"log_artifact(tags={list(tags)!r}): turbotrack's artifacts have no tags; "
                "use aliases= (or the artifact's metadata) instead"
            )
        files = self._files
        art = artifacts.as_artifact(artifact_or_path, name, type, files.id)
        artifacts.save(art, files.dir.parent, list(aliases or []), files.path)
        artifacts.record(files.dir, "logged", art, files.file(layout.ARTIFACTS))
        return art

    def use_artifact(
        self, artifact_or_name: Any, type: Optional[str], aliases: Optional[Sequence[str]], use_as: Optional[str]
    ) -> Any:
        from . import artifacts
        from .compat.term import termwarn

        if use_as is not None:  # wandb: deprecated, and does nothing
            termwarn("use_artifact(use_as=) is deprecated and does nothing (as in wandb)", repeat=False)
        files = self._files
        if isinstance(artifact_or_name, artifacts.Artifact):
            art = artifact_or_name
            if art.version is None:
                artifacts.save(art, files.dir.parent, list(aliases or []), files.path)
        else:
            entity, project, name, alias = artifacts.parse_name(str(artifact_or_name), files.entity, files.project)
            art = artifacts.load(files.dir.parents[2] / entity / project, name, alias)
        if type is not None and art.type != type:
            raise ValueError(f"artifact {art.name} has type {art.type!r}, not {type!r}")
        artifacts.record(files.dir, "used", art, files.file(layout.ARTIFACTS))
        return art
