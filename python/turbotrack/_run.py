"""``Run``: one run's files, its native core, and its lifecycle (init → log → finish)."""

from __future__ import annotations

import glob
import os
import random
import shutil
import string
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Optional, Sequence

from . import _core, _hooks, _state
from ._config import Config
from ._fs import atomic_write_json, read_json
from ._summary import Summary
from .data_types import Converter
from .data_types.base import _tag as _media_tag
from .data_types.deferred import Resolver
from .settings import Settings
from .store import layout, runinfo

_ADJECTIVES = (
    "amber brisk calm daring eager fuzzy gentle hazy icy jolly keen lively misty noble proud quiet rapid silent tidy "
    "vivid witty"
).split()
_NOUNS = (
    "river falcon meadow comet breeze canyon ember forest glacier harbor island lagoon mountain nebula ocean pine "
    "quartz ridge summit tundra"
).split()


def generate_id(length: int = 8) -> str:
    """A random run id: lowercase letters and digits."""
    alphabet = string.ascii_lowercase + string.digits
    return "".join(random.SystemRandom().choice(alphabet) for _ in range(length))


def _check_path_part(what: str, value: str) -> str:
    if not layout.is_folder_name(value):
        raise ValueError(
            f"{what} {value!r} cannot be used as a folder name: it must be non-empty and hold no '/', '\\' or NUL"
        )
    return value


class Run:
    """A run: what ``turbotrack.init()`` returns.

    Attributes: ``id``, ``name``, ``project``, ``entity``, ``path`` ("entity/project/id"), ``dir``
    (the folder with this run's files), ``config``, ``summary``, ``step`` (the pending step).
    Use it as a context manager to finish it (as failed when an exception escapes).
    """

    def __init__(
        self,
        *,
        settings: Settings,
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
        self.entity = _check_path_part("entity", entity)
        self.project = _check_path_part("project", project)
        self.id = _check_path_part("id", id) if id else generate_id()
        self.group = group
        self.job_type = job_type
        self._tags = _check_tags(tags or ())
        self._notes = notes
        run_dir = root / self.entity / self.project / self.id
        self.shared = bool(settings.shared)
        if self.shared and not id:
            raise ValueError(
                'settings={"shared": True} needs id=: every process of a shared run passes the same id '
                "(e.g. one made by rank 0 and broadcast, or a name of the job)"
            )
        self.rank = int(settings.rank) if self.shared else 0
        previous = runinfo.read(run_dir) if run_dir.exists() else {}
        resuming = False if self.shared else self._check_resume(resume, run_dir, previous)
        self._resumed = resuming
        self._name = (
            name or previous.get("name") or f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}-{self.id[:4]}"
        )
        made = not run_dir.exists()
        run_dir.mkdir(parents=True, exist_ok=True)
        self._core: Any = None
        self._system: Optional[Any] = None
        self._capture: Optional[Any] = None
        try:
            self._start(settings, run_dir, resuming, previous, config)
        except BaseException:
            self._undo_start(run_dir, made, resuming)
            raise
        _hooks.track(self)

    def _start(self, settings: Settings, run_dir: Path, resuming: bool, previous: dict[str, Any], config: Any) -> None:
        """The part of ``__init__`` that writes files (undone by :meth:`_undo_start` if it fails)."""
        group, job_type, notes = self.group, self.job_type, self._notes
        self.dir = str(run_dir)
        self._dir = run_dir
        self._start_time = time.time()
        self._finished = False
        self._forked = False
        self._lock = threading.Lock()
        self._defs: list[tuple[Optional[str], ...]] = []  # metrics.json: name, summary, objective, step_metric
        self._config_warned: set[str] = set()
        initial_step = 0
        if resuming:
            last = (read_json(run_dir / layout.SUMMARY) or {}).get("_step")
            initial_step = int(last) + 1 if isinstance(last, int) else 0
            self._start_time = float(previous.get("start_time", self._start_time))
            self._defs = [tuple(d) for d in read_json(run_dir / layout.METRICS) or []]  # type: ignore[misc]
        self._resolver = Resolver(lambda: self._core)
        self._core = _core.Core(
            run_dir / self._file(layout.HISTORY),
            summary_path=run_dir / self._file(layout.SUMMARY),
            start_time=self._start_time,
            flush_interval=settings.flush_interval,
            metric_names=settings.metric_names,
            queue_capacity=settings.queue_capacity,
            meta=self._meta("history"),
            initial_step=initial_step,
            converter=_TaggedConverter(run_dir, self._resolver, self._media_tag()),
            quiet=bool(getattr(settings, "silent", False)),
        )
        # The fast path: run.log is the native method itself, no Python frame in between.
        self.log = self._core.log  # type: ignore[method-assign]
        old_config = read_json(run_dir / layout.CONFIG) if resuming else None
        self.config = Config(run_dir / self._file(layout.CONFIG), old_config or {}, on_change=self._check_config)
        if config is not None:
            self.config.update(config)
        self.summary = Summary(self)
        self._info: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "project": self.project,
            "entity": self.entity,
            "group": group,
            "job_type": job_type,
            "tags": list(self.tags),
            "notes": notes,
            "state": "running",
            "start_time": self._start_time,
            "end_time": None,
            "exit_code": None,
            "shared": self.shared,
            "rank": self.rank,
            "local_rank": _env_int("LOCAL_RANK"),
            "world_size": _env_int("WORLD_SIZE"),
            **runinfo.this_process(),
        }
        runinfo.write(run_dir, self._info, self._file(layout.RUN))
        self._uploader = None
        if settings.mode == "online":  # background upload to settings.base_url (sync/uploader.py)
            from .sync.uploader import for_run

            self._uploader = for_run(settings, run_dir, self._core)
        self._start_capture()

    def _undo_start(self, run_dir: Path, made: bool, resuming: bool) -> None:
        """A failed init(): stop what was started and remove what it made (the run's folder if
        this init made it, else its new history), so that a retry with the same id starts afresh
        instead of finding a half-made run. A shared run's folder holds other ranks' files: kept."""
        for stop in (
            getattr(self._capture, "stop", None),
            getattr(self._system, "finish", None),
            getattr(self._core, "finish", None),
        ):
            try:
                if stop is not None:
                    stop()
            except Exception:
                pass
        if self.shared or resuming:
            return
        if made:
            shutil.rmtree(run_dir, ignore_errors=True)
        else:  # the folder was there without a history (else init refused): the history is this init's
            for name in (layout.HISTORY, layout.SYSTEM):
                try:
                    (run_dir / name).unlink()
                except OSError:
                    pass

    def _media_tag(self) -> str:
        """What names this process's media files apart from other processes' in the same run."""
        if self._forked:
            return f"r{self.rank}p{os.getpid()}"
        return f"r{self.rank}" if self.shared else ""

    def _file(self, name: str) -> str:
        return layout.ranked(name, self.rank, self.shared)

    def _meta(self, stream: str) -> str:
        meta = f"stream={stream};run={self.id}"
        return f"{meta};shared=1;rank={self.rank}" if self.shared else meta

    def _check_config(self, items: dict[str, Any]) -> None:
        """A rank > 0 of a shared run warns, once per key, about config values that differ from rank 0's."""
        if not (self.shared and self.rank):
            return
        primary = read_json(self._dir / layout.CONFIG) or {}
        clashes = sorted(
            k for k, v in items.items() if k in primary and primary[k] != v and k not in self._config_warned
        )
        for k in clashes:
            self._config_warned.add(k)
            warnings.warn(
                f"config[{k!r}] = {items[k]!r} on rank {self.rank} differs from rank 0's {primary[k]!r}; "
                "the run keeps rank 0's value",
                stacklevel=4,
            )

    @staticmethod
    def _check_resume(resume: Any, run_dir: Path, previous: dict[str, Any]) -> bool:
        exists = (run_dir / layout.HISTORY).exists()
        if resume in (None, False, "never"):
            if exists:
                raise ValueError(
                    f"a run with this id already exists in {run_dir}; pass resume='allow' to continue it, or another id"
                )
            return False
        if resume in (True, "allow", "auto", "must"):
            if resume == "must" and not exists:
                raise ValueError(f"resume='must' but there is no run to resume in {run_dir}")
            return exists
        raise ValueError(f"resume must be None, True, 'allow', 'must', 'auto' or 'never', got {resume!r}")

    def _start_capture(self) -> None:
        s = self.settings
        if s.capture_system:
            self._system = _core.Core(
                self._dir / self._file(layout.SYSTEM),
                start_time=self._start_time,
                flush_interval=max(s.flush_interval or 1.0, 1.0),
                metric_names="off",
                queue_capacity=1024,
                meta=self._meta("system"),
                converter=Converter(None),
            )
        try:
            from .capture import Capture

            sink = self._system.log if self._system is not None else (lambda row: None)
            self._capture = Capture(self._dir, s, sink, dict(self._info))
            self._capture.start()
        except Exception as e:  # capture must never stop a training run
            warnings.warn(f"turbotrack could not start capturing system data: {e}", stacklevel=3)
            self._capture = None

    # ----------------------------------------------------------------------------------------
    # The contract's methods. `log` is replaced per instance by the native method (see __init__).

    def log(self, data: dict[str, Any], step: Optional[int] = None, commit: Optional[bool] = None) -> None:
        """Log a dict of metrics into the pending step and commit it (see ``turbotrack.log``)."""
        self._core.log(data, step, commit)

    @property
    def step(self) -> int:
        """The pending step: the step the next ``log()`` merges into."""
        return self._core.step

    @property
    def path(self) -> str:
        """``"entity/project/id"``."""
        return f"{self.entity}/{self.project}/{self.id}"

    @property
    def start_time(self) -> float:
        return self._start_time

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
    ) -> None:
        """Say how metric ``name`` (or a glob ending in ``*``) is summarised and plotted.

        ``summary``: comma-separated words among min, max, mean, first, last, best, none.
        ``best`` needs ``objective`` (or ``goal``) "minimize" or "maximize". ``step_metric`` makes
        another metric its x-axis; ``step_sync`` (default True with a step_metric) fills that
        metric's last value into rows that lack it.
        """
        if not isinstance(name, str):
            raise TypeError(f"define_metric name must be a string, got {type(name).__name__}")
        if step_metric == "_step":  # the default x-axis already
            step_metric = None
        if goal is not None and objective is not None and goal != objective:
            raise ValueError(f"goal={goal!r} and objective={objective!r} disagree; give one of them")
        self._core.define_metric(name, step_metric, step_sync, hidden, summary, objective or goal)
        self._defs = [d for d in self._defs if d[0] != name] + [(name, summary, objective or goal, step_metric)]
        atomic_write_json(self._dir / self._file(layout.METRICS), self._defs)

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

    def finish(self, exit_code: Optional[int] = None, quiet: Optional[bool] = None) -> None:
        """Commit the pending step, write every file, stop capture and mark the run finished
        (``failed`` with a non-zero ``exit_code``). Calling it again does nothing once it succeeded;
        if it failed (a full disk, say: ``turbotrack.Error`` says what), calling it again retries."""
        with self._lock:
            if self._finished:
                return
            self._finished = True
        try:
            self._finish(exit_code)
        except BaseException:
            with self._lock:
                self._finished = False  # still finishable: a second finish() retries what failed
            raise

    def _finish(self, exit_code: Optional[int]) -> None:
        self._resolver.drain(timeout=60)
        if self._forked:
            self._core.finish()
            _hooks.untrack(self)
            return
        failure = self._core.finish()  # every step up to the run.json write is idempotent
        if self._capture is not None:
            try:
                self._capture.stop()
            except Exception as e:
                warnings.warn(f"turbotrack: stopping capture failed: {e}", stacklevel=3)
        if self._system is not None:
            self._system.finish()
        code = int(exit_code or 0)
        info = {**self._info, "state": "failed" if code else "finished", "exit_code": code, "end_time": time.time()}
        name = self._file(layout.RUN)
        try:
            runinfo.write(self._dir, info, name)
        except OSError as e:
            raise _core.Error(
                f"turbotrack could not finish run {self.path}: writing {self._dir / name} failed ({e}); "
                "the run stays 'running' on disk. Free space (or fix the folder) and call finish() again to retry"
            ) from e
        self._info = info
        if self._uploader is not None:
            self._uploader.finish(self.settings.sync_timeout)
        _hooks.untrack(self)
        _state.forget(self)
        if failure:
            warnings.warn(f"turbotrack: some data of run {self.path} could not be written: {failure}", stacklevel=3)

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

    def _become_fork_child(self) -> None:
        """In a process forked after init(): the parent's writer thread did not survive the fork,
        so log to a file of this process's own, made on the first log() (none if it never logs)."""
        # The inherited objects are never touched again (a lock in them may be held forever).
        _hooks.keep_forever((self._core, self._system, self._capture))
        self._forked = True
        self._finished = False
        self._lock = threading.Lock()
        self._system = self._capture = None
        pid = os.getpid()
        meta = f"stream=history;run={self.id};shared=1;rank={self.rank};pid={pid}"
        path = self._dir / layout.forked_history(self.rank, pid)
        settings = self.settings

        self._resolver = Resolver(lambda: self._core)

        def make() -> Any:
            core = _core.Core(
                path,
                start_time=self._start_time,
                flush_interval=settings.flush_interval,
                metric_names=settings.metric_names,
                queue_capacity=settings.queue_capacity,
                meta=meta,
                converter=_TaggedConverter(self._dir, self._resolver, self._media_tag()),
                quiet=bool(getattr(settings, "silent", False)),
            )
            self.log = core.log  # type: ignore[method-assign]
            # multiprocessing children end with os._exit: finish from its finalizers instead of atexit
            import multiprocessing.util

            multiprocessing.util.Finalize(self, core.finish, exitpriority=100)
            return core

        self._core = _LazyCore(make)  # type: ignore[assignment]
        self.log = self._core.log  # type: ignore[method-assign]

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.finish(exit_code=0 if exc_type is None else _hooks.exit_status(exc) if isinstance(exc, SystemExit) else 1)

    def __repr__(self) -> str:
        return f"<turbotrack Run {self.path} ({self.name}) dir={self.dir!r}>"

    # ----------------------------------------------------------------------------------------
    # wandb names that frameworks and scripts use (see turbotrack.compat).

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
        self._tags = _check_tags(value)
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
        """True unless the run streams to a server (``mode="online"`` with a base_url)."""
        return not (self.settings.mode == "online" and self.settings.base_url)

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


class DisabledRun:
    """What ``init(mode="disabled")`` returns: every call is a cheap no-op and nothing is written."""

    def __init__(self, config: Any = None, name: Optional[str] = None, id: Optional[str] = None) -> None:
        self.id = id or "disabled"
        self.name = name or "disabled"
        self.entity = "local"
        self.project = "disabled"
        self.path = f"{self.entity}/{self.project}/{self.id}"
        self.dir = os.devnull
        self.group = self.job_type = self.notes = None
        self.tags: tuple[str, ...] = ()
        self.config = Config(None, config or {})
        self.summary: dict[str, Any] = {}
        self.step = 0

    def log(self, data: Any, step: Any = None, commit: Any = None) -> None:
        """Does nothing (mode="disabled")."""

    def define_metric(self, *args: Any, **kwargs: Any) -> None:
        """Does nothing (mode="disabled")."""

    def save(self, *args: Any, **kwargs: Any) -> list[str]:
        return []

    def watch(self, *args: Any, **kwargs: Any) -> None:
        """Does nothing (mode="disabled")."""

    def finish(self, exit_code: Optional[int] = None, quiet: Optional[bool] = None) -> None:
        _state.forget(self)

    def __enter__(self) -> DisabledRun:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.finish()

    # wandb names (mode="disabled": they do nothing, as in wandb's disabled mode).
    resumed = False
    offline = True
    disabled = True
    url: Optional[str] = None

    def get_url(self) -> Optional[str]:
        return None

    def project_name(self) -> str:
        return self.project

    def __getattr__(self, name: str) -> Any:
        """Any other wandb method of a disabled run does nothing and returns ``None``."""
        if name.startswith("__"):
            raise AttributeError(name)
        return _noop


def _noop(*args: Any, **kwargs: Any) -> None:
    """What a disabled run's wandb methods do."""


class _LazyCore:
    """A core made on first use (a forked child that never logs writes no file)."""

    def __init__(self, make: Any) -> None:
        self._make = make
        self._core: Any = None

    def _get(self) -> Any:
        if self._core is None:
            self._core = self._make()
        return self._core

    def log(self, data: Any, step: Optional[int] = None, commit: Optional[bool] = None) -> None:
        self._get().log(data, step, commit)

    def finish(self) -> Optional[str]:
        return None if self._core is None else self._core.finish()

    @property
    def finished(self) -> bool:
        return self._core is not None and self._core.finished

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)


def _check_tags(tags: Any) -> tuple[str, ...]:
    """``tags`` (a list or tuple of strings) as a tuple; a bare string or a non-string tag is a TypeError."""
    if isinstance(tags, (str, bytes)) or not isinstance(tags, (list, tuple, set, frozenset)):
        raise TypeError(f"tags must be a list or tuple of strings, got {type(tags).__name__}")
    bad = [t for t in tags if not isinstance(t, str)]
    if bad:
        raise TypeError(f"tags must be strings, got {bad[0]!r} ({type(bad[0]).__name__})")
    return tuple(tags)


def _env_int(name: str) -> Optional[int]:
    value = os.environ.get(name, "")
    return int(value) if value.isdigit() else None


class _TaggedConverter(Converter):
    """The run's converter: media files it writes carry this process's tag (see data_types.base)."""

    def __init__(self, run_dir: Path, resolver: Resolver, tag: str) -> None:
        super().__init__(run_dir, resolver)
        self._tag = tag

    def __call__(self, name: str, value: Any, step: int = 0) -> Any:
        if not self._tag:
            return super().__call__(name, value, step)
        token = _media_tag.set(self._tag)
        try:
            return super().__call__(name, value, step)
        finally:
            _media_tag.reset(token)
