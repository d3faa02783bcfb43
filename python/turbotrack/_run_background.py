"""What a run keeps going beside the program: capture (console, system metrics, git, requirements) and,
online, the uploader. Each is a handle with a start and a stop that never stops a training run."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from .settings import RunSettings


class CaptureHandle:
    """Starts and stops ``turbotrack.capture.Capture`` for one run; a capture that fails to start is
    a warning (the run goes on without it)."""

    def __init__(self) -> None:
        self.capture: Optional[Any] = None

    def start(
        self, run_dir: Path, settings: RunSettings, sink: Optional[Callable[[Any], Any]], info: dict[str, Any]
    ) -> None:
        """Start capturing into ``run_dir``; system rows go to ``sink`` (dropped when it is None)."""
        try:
            from .capture import Capture

            self.capture = Capture(run_dir, settings, sink or (lambda row: None), dict(info))
            self.capture.start()
        except Exception as e:  # capture must never stop a training run
            warnings.warn(f"turbotrack could not start capturing system data: {e}", stacklevel=4)
            self.capture = None

    def stop(self, quiet: bool = False) -> None:
        """Stop capturing (idempotent); a failure is a warning, or nothing when ``quiet``."""
        if self.capture is None:
            return
        try:
            self.capture.stop()
        except Exception as e:
            if not quiet:
                warnings.warn(f"turbotrack: stopping capture failed: {e}", stacklevel=4)

    def forget(self) -> Optional[Any]:
        """In a forked child: drop the parent's capture (its threads did not survive); returns it."""
        inherited, self.capture = self.capture, None
        return inherited


class UploadHandle:
    """The uploader of a run in online mode (``sync/uploader.py``), or nothing offline."""

    def __init__(self, settings: RunSettings, run_dir: Path, history: Any) -> None:
        self.uploader: Optional[Any] = None
        if settings.mode == "online":
            from .sync.uploader import for_run

            self.uploader = for_run(settings, run_dir, history)

    def claim(self, rels: Iterable[str]) -> None:
        """Send these files too (names relative to the run folder): ``files/`` this process saved."""
        if self.uploader is not None:
            self.uploader.claim(rels)

    def finish(self, timeout: float) -> None:
        """A last pass, waiting at most ``timeout`` seconds."""
        if self.uploader is not None:
            self.uploader.finish(timeout)

    def forget(self) -> Optional[Any]:
        """In a forked child: the parent's uploader is the parent's (its thread did not survive); returns it."""
        inherited, self.uploader = self.uploader, None
        return inherited
