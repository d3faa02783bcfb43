"""The module-level API: ``init`` and the functions that act on the current run.

Also ``turbotrack.sdk.wandb_run.Run``, ``.wandb_settings.Settings``, ``.lib.RunDisabled`` and
``.lib.config_util.ConfigError``: the places wandb keeps those names (``wandb.sdk...``)."""

from __future__ import annotations

import os
import re
from typing import Any, Optional, Sequence, Union

from .. import _state, errors
from .._config import _as_dict as as_config_dict
from .._config import load_file
from .._disabled import DisabledRun
from .._metric import Metric
from .._run import Run
from ..compat import term
from ..settings import RunSettings, Settings, default_entity, default_project
from ..store.layout import storage_root

AnyRun = Union[Run, DisabledRun]


def init(
    project: Optional[str] = None,
    entity: Optional[str] = None,
    name: Optional[str] = None,
    id: Optional[str] = None,
    config: Any = None,
    dir: Optional[Union[str, os.PathLike[str]]] = None,
    mode: Optional[str] = None,
    group: Optional[str] = None,
    job_type: Optional[str] = None,
    tags: Optional[Sequence[str]] = None,
    notes: Optional[str] = None,
    resume: Any = None,
    settings: Any = None,
    reinit: Any = None,
    config_exclude_keys: Optional[Sequence[str]] = None,
    config_include_keys: Optional[Sequence[str]] = None,
    allow_val_change: Optional[bool] = None,
    force: Optional[bool] = None,
    resume_from: Optional[str] = None,
    fork_from: Optional[str] = None,
    save_code: Optional[bool] = None,
    tensorboard: Optional[bool] = None,
    sync_tensorboard: Optional[bool] = None,
    monitor_gym: Optional[bool] = None,
    anonymous: Any = None,
) -> AnyRun:
    """Start a run and make it the current one (``turbotrack.run``); takes every argument of wandb's ``init``.

    Runs live under ``<dir>/turbotrack/<entity>/<project>/<id>/``. ``mode``: "offline" (local files
    only), "online" (also stream to a server), "disabled" (nothing happens, nothing is written).
    ``settings``: a dict or a :class:`turbotrack.Settings` (wandb's fields and turbotrack's). Each
    argument not given comes from ``settings``, else ``$TURBOTRACK_<X>``, else ``$WANDB_<X>``.
    ``config``: a dict, ``argparse.Namespace``, dataclass, or the path of a JSON/YAML file.
    ``reinit``, when a run is live: "return_previous" (the default, also False) returns it,
    "finish_previous" (also True) finishes it first, "create_new" starts another and leaves
    ``turbotrack.run`` as it is. ``allow_val_change``: config keys may change later.
    ``config_include_keys`` / ``config_exclude_keys``: keep only / drop these top-level keys.
    ``save_code=True`` (or ``$WANDB_SAVE_CODE``; off with ``$WANDB_DISABLE_CODE``): the main script is copied
    to ``files/code/<its path from the git root, else the current folder>``, as wandb.
    ``force`` and ``anonymous`` act on wandb's login, which has no counterpart here: no effect (as in
    wandb's offline mode). ``fork_from``, ``resume_from`` (wandb's server rewinds and forks runs),
    ``tensorboard``/``sync_tensorboard`` and ``monitor_gym`` (wandb patches TensorBoard and gym) are
    :class:`turbotrack.errors.UnsupportedError` when set, after wandb's own checks of their values.
    """
    _refuse_unsupported(resume, fork_from, resume_from, tensorboard, sync_tensorboard, monitor_gym)
    s = RunSettings.resolve(
        settings,
        mode,
        global_settings=_state.setup_settings,
        project=project,
        entity=entity,
        name=name,
        id=id,
        group=group,
        job_type=job_type,
        tags=list(tags) if tags is not None else None,
        notes=notes,
        dir=os.fspath(dir) if dir is not None else None,
        resume=resume,
        reinit=reinit,
        allow_val_change=allow_val_change,
    )
    policy = {None: "return_previous", "default": "return_previous", True: "finish_previous", False: "return_previous"}
    chosen = policy.get(s.reinit, s.reinit)  # type: ignore[call-overload]
    previous = _state.current()
    if previous is not None and not isinstance(previous, DisabledRun):
        if chosen == "return_previous":
            term.termwarn("init() called while a run is active: returning that run (pass reinit= to change this)")
            return previous
        if chosen == "finish_previous":
            previous.finish()
    if save_code is not None:
        s.wandb["save_code"] = bool(save_code)
    term.silence(s.silent)
    items = _load_config(config, s.config_paths)
    items = _filter_config(items, config_include_keys, config_exclude_keys)
    run: AnyRun
    if s.mode == "disabled":
        run = DisabledRun(s, items, s.name, s.id, s.project, s.entity, s.group, s.job_type, s.tags, s.notes)
    else:
        run = Run(
            settings=s,
            root=storage_root(s.dir),
            entity=default_entity(s.entity),
            project=default_project(s.project),
            id=s.id,
            name=s.name,
            config=items,
            group=s.group,
            job_type=s.job_type,
            tags=s.tags,
            notes=s.notes,
            resume=s.resume,
        )
    if chosen != "create_new" or _state.current() is None:
        _state.set_current(run)
    return run


_RUN_MOMENT = re.compile(r"^([^?]+)\?_step=(-?[0-9]+(?:\.[0-9]*)?)$")


def _refuse_unsupported(
    resume: Any, fork_from: Any, resume_from: Any, tensorboard: Any, sync_tensorboard: Any, monitor_gym: Any
) -> None:
    """init()'s arguments for wandb features turbotrack does not have: checked as wandb checks them (a
    ValueError for a value wandb refuses too), then refused with ``UnsupportedError`` naming the argument."""
    given = [(n, v) for n, v in (("fork_from", fork_from), ("resume_from", resume_from)) if v is not None]
    for arg, value in given:
        if not isinstance(value, str) or not _RUN_MOMENT.match(value):
            raise ValueError(
                f"init({arg}={value!r}): expected '<run>?_step=<number>' (e.g. 'ans3bsax?_step=123'), "
                "as wandb; only the metric '_step' is supported"
            )
    if len(given) + (resume is not None) > 1:
        raise ValueError("init(): fork_from, resume and resume_from are mutually exclusive; give only one of them")
    if given:
        arg, value = given[0]
        raise errors.UnsupportedError(
            f"init({arg}={value!r}): rewinding or forking a run at a step is done by wandb's server, which "
            "turbotrack does not have; start a new run, or continue the whole run with resume='allow' and its id"
        )
    for arg, value in (("tensorboard", tensorboard), ("sync_tensorboard", sync_tensorboard)):
        if value:
            raise errors.UnsupportedError(
                f"init({arg}=True): turbotrack does not patch TensorBoard to copy its event files; log the "
                "values with run.log(), or import the event files afterwards: turbotrack import tensorboard LOGDIR"
            )
    if monitor_gym:
        raise errors.UnsupportedError(
            "init(monitor_gym=True): turbotrack does not patch gym's video recorder; log the videos with "
            "run.log({'video': turbotrack.Video(path)})"
        )


def _load_config(config: Any, paths: Optional[Sequence[str]]) -> Any:
    """``config`` with the files of ``config_paths`` under it; a string ``config`` is a file to read."""
    if isinstance(config, (str, os.PathLike)):
        config = load_file(config)
    if not paths:
        return config
    merged: dict[str, Any] = {}
    for path in paths:
        merged.update(load_file(path))
    return {**merged, **as_config_dict(config)}


def _filter_config(config: Any, include: Optional[Sequence[str]], exclude: Optional[Sequence[str]]) -> Any:
    """``config`` with only the ``include`` keys, or without the ``exclude`` keys (as wandb's
    ``parse_config``); ``config`` itself when neither is given."""
    if include and exclude:
        raise ValueError("init(): give config_include_keys or config_exclude_keys, not both")
    if not include and not exclude:
        return config
    for arg, keys in (("config_include_keys", include), ("config_exclude_keys", exclude)):
        if isinstance(keys, (str, bytes)):
            raise TypeError(f"init(): {arg} must be a list of keys, got the string {keys!r}")
    items = as_config_dict(config)
    if include:
        return {k: v for k, v in items.items() if k in set(include)}
    return {k: v for k, v in items.items() if k not in set(exclude or ())}


def log(data: dict[str, Any], step: Optional[int] = None, commit: Optional[bool] = None) -> None:
    """Log a dict of metrics to the current run.

    ``data`` is merged into the pending step, which is then committed and becomes the next
    integer. ``commit=False`` merges without committing. ``step=N`` (N > pending) commits the
    pending row and makes N pending; a smaller N warns and records nothing. Nested dicts are
    flattened with ".". Values: numbers, bools, strings, None, lists, NumPy arrays and tensors,
    ``Histogram``, ``Table``, ``Image``, plots; anything else: TypeError.
    """
    _state.need("log").log(data, step, commit)


def define_metric(name: str, *args: Any, **kwargs: Any) -> Metric:
    """``define_metric`` on the current run (see :meth:`Run.define_metric`); returns the definition."""
    result: Metric = _state.need("define_metric").define_metric(name, *args, **kwargs)
    return result


def finish(exit_code: Optional[int] = None, quiet: Optional[bool] = None) -> None:
    """Finish the current run, if there is one."""
    run = _state.current()
    if run is not None:
        run.finish(exit_code=exit_code, quiet=quiet)


def save(glob_str: str, base_path: Optional[str] = None, policy: str = "live", glob: bool = True) -> Any:
    """``save`` on the current run (see :meth:`Run.save`)."""
    return _state.need("save").save(glob_str, base_path, policy, glob)


def setup(settings: Any = None) -> Any:
    """``wandb.setup``: settings under every later ``init()``'s (a dict or :class:`turbotrack.Settings`);
    wandb starts its service process here, turbotrack needs none. Returns an object whose ``settings``
    are those given."""
    if settings is not None:
        Settings().update(settings)  # checks the names now
    _state.setup_settings = settings
    return _Setup(settings)


class _Setup:
    """What :func:`setup` returns: the settings it was given."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings


from . import lib, wandb_run, wandb_settings  # noqa: E402  (wandb's submodules of wandb.sdk)

__all__ = [
    "DisabledRun",
    "Metric",
    "Run",
    "Settings",
    "define_metric",
    "finish",
    "init",
    "lib",
    "log",
    "save",
    "setup",
    "wandb_run",
    "wandb_settings",
]
