"""A run's lifecycle: the parts ``init()`` starts (files, streams, capture, uploader, saved files), in
order, undone if one fails, and ``finish()`` in the reverse order. This is what ``_hooks`` holds: the
process hooks finish it at exit and give it a fork's rebirth, through :class:`Lifecycle`'s public methods."""

from __future__ import annotations

import threading
import time
import warnings
from typing import Any, Callable, Optional

from . import _hooks, _wandb_fields
from ._run_background import CaptureHandle, UploadHandle
from ._run_files import RunFiles
from ._run_save import FileSaver, save_code
from ._streams import BindLog, Streams
from .settings import RunSettings


class Lifecycle:
    """Starts a run's parts in ``__init__`` and stops them in :meth:`finish` (once; again after a failure)."""

    def __init__(
        self,
        files: RunFiles,
        settings: RunSettings,
        bind_log: BindLog,
        before_info: Callable[[Streams], None],
        group: Optional[str],
        job_type: Optional[str],
        tags: tuple[str, ...],
        notes: Optional[str],
    ) -> None:
        """Start the history stream, call ``before_info(streams)`` (the facade makes its config and
        summary there), write ``run.json``, start the uploader and capture."""
        self.files = files
        self.settings = settings
        self.capture = CaptureHandle()
        self.upload: Optional[UploadHandle] = None
        self._lock = threading.Lock()
        self._finished = False
        self.on_finished: Callable[[], None] = lambda: None
        try:
            initial_step, start_time, self.defs = files.resume_point(time.time())
            self.streams = Streams(files, settings, start_time, initial_step, bind_log)
        except BaseException:
            files.undo()
            raise
        try:
            before_info(self.streams)
            files.start_info(start_time, group, job_type, tags, notes)
            self.upload = UploadHandle(settings, files.dir, self.streams.history)
            self.saver = FileSaver(files.dir, files.id, self.upload.claim)
            self._save_code()
            self.capture.start(files.dir, settings, _log_of(self.streams.start_system()), files.info)
        except BaseException:
            self.capture.stop(quiet=True)
            self.streams.stop()
            files.undo()
            raise
        _hooks.track(self)

    def _save_code(self) -> None:
        """``save_code`` (init's, the settings', ``$WANDB_SAVE_CODE``), unless ``disable_code``."""
        s = self.settings
        wanted = s.save_code is not None and _wandb_fields.truth("save_code", s.save_code)
        if not wanted or _wandb_fields.truth("disable_code", s.disable_code):
            return
        try:
            save_code(self.files.dir)
        except OSError as e:  # the run goes on without its code
            warnings.warn(f"turbotrack: save_code: copying the program failed: {e}", stacklevel=5)

    @property
    def path(self) -> str:
        return self.files.path

    @property
    def forked(self) -> bool:
        """Whether this process is a child forked after ``init()``."""
        return self.streams.forked

    def finish(self, exit_code: Optional[int] = None) -> None:
        """Commit the pending step, write every file, stop capture and mark the run finished (``failed``
        with a non-zero ``exit_code``). Once it succeeded, again does nothing; after a failure, retries."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        try:
            self._finish(exit_code)
        except BaseException:
            with self._lock:
                self._finished = False  # still finishable: a second finish() retries what failed
            self.saver.reopen()
            raise

    def _finish(self, exit_code: Optional[int]) -> None:
        streams = self.streams
        streams.drain(timeout=60)
        if streams.forked:
            streams.finish_history()
            self.saver.finish()
            _hooks.untrack(self)
            return
        failure = streams.finish_history()  # every step up to the run.json write is idempotent
        self.capture.stop()
        streams.finish_system()
        self.saver.finish()
        self.files.finish_info(int(exit_code or 0))
        if self.upload is not None:
            self.upload.finish(self.settings.sync_timeout)
        _hooks.untrack(self)
        self.on_finished()
        if failure:
            warnings.warn(f"turbotrack: some data of run {self.path} could not be written: {failure}", stacklevel=4)

    def after_fork_in_child(self) -> None:
        """In a process forked after ``init()``: new streams of this process's own; what the parent's
        threads held is kept and never touched again."""
        inherited = (*self.streams.become_fork_child(), self.capture.forget())
        if self.upload is not None:
            inherited += (self.upload.forget(),)
        _hooks.keep_forever(inherited)
        self.saver.forget()
        self.saver.reopen()
        self._lock = threading.Lock()
        self._finished = False

    def exit_records(self, code_marker: str) -> Optional[tuple[str, dict[str, Any], dict[str, Any]]]:
        """For ``_hooks``: ``run.json``'s path and its finished and failed records (None in a forked child,
        which writes no run.json)."""
        return None if self.forked else self.files.exit_records(code_marker)


def _log_of(core: Optional[Any]) -> Optional[Callable[[Any], Any]]:
    return core.log if core is not None else None
