"""The module-level API: ``init`` and the functions that act on the current run."""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence, Union

from . import _core, _state
from ._config import _as_dict as as_config_dict
from ._run import DisabledRun, Run
from .settings import Settings, default_entity, default_project
from .store.layout import storage_root

AnyRun = Union[Run, DisabledRun]

#: wandb.init() arguments that scripts pass and that have no effect here; anything else is a typo.
WANDB_ONLY_ARGS = frozenset(
    {
        "allow_val_change",
        "anonymous",
        "force",
        "fork_from",
        "magic",
        "monitor_gym",
        "resume_from",
        "save_code",
        "sync_tensorboard",
        "tensorboard",
    }
)


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
    **wandb_only: Any,
) -> AnyRun:
    """Start a run and make it the current one (``turbotrack.run``).

    Runs live under ``<dir>/turbotrack/<entity>/<project>/<id>/``. ``mode``: "offline" (local
    files only), "online" (also stream to a server), "disabled" (nothing happens). ``settings``:
    a dict of :class:`turbotrack.settings.Settings` fields, e.g. ``{"flush_interval": 0.5}``.
    ``reinit``: what to do with a current run — "finish_previous" (default, also True),
    "return_previous" (also False), "create_new". ``config_include_keys`` / ``config_exclude_keys``
    (wandb's, at most one of them): keep only / drop these top-level keys of ``config``.
    """
    unknown = sorted(set(wandb_only) - WANDB_ONLY_ARGS)
    if unknown:
        raise TypeError(
            f"init() got unexpected keyword argument(s) {unknown}; it takes project, entity, name, id, config, dir, "
            "mode, group, job_type, tags, notes, resume, settings, reinit, config_include_keys, config_exclude_keys "
            "(and ignores wandb's "
            f"{', '.join(sorted(WANDB_ONLY_ARGS))})"
        )
    config = _filter_config(config, config_include_keys, config_exclude_keys)
    s = Settings.resolve(settings, mode)
    policy = {None: "finish_previous", True: "finish_previous", False: "return_previous"}.get(reinit, reinit)
    if policy not in ("finish_previous", "return_previous", "create_new", "default"):
        raise ValueError(f"reinit must be 'finish_previous', 'return_previous' or 'create_new', got {reinit!r}")
    previous = _state.current()
    if previous is not None:
        if policy == "return_previous":
            return previous
        if policy in ("finish_previous", "default"):
            previous.finish()
    if s.mode == "disabled":
        run: AnyRun = DisabledRun(config, name, id)
    else:
        run = Run(
            settings=s,
            root=storage_root(dir),
            entity=default_entity(entity),
            project=default_project(project),
            id=id,
            name=name,
            config=config,
            group=group,
            job_type=job_type,
            tags=tags,
            notes=notes,
            resume=resume,
        )
    _state.set_current(run)
    return run


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
    flattened with ".". Values: numbers, bools, strings, NumPy arrays and tensors (more than one
    element: a histogram), ``Histogram``, ``Table``, ``Image``, plots; anything else: TypeError.
    """
    run = _state.current()
    if run is None:
        raise _core.Error("call turbotrack.init() before turbotrack.log()")
    run.log(data, step, commit)


def define_metric(name: str, *args: Any, **kwargs: Any) -> None:
    """``define_metric`` on the current run (see :meth:`Run.define_metric`)."""
    _state.need("define_metric").define_metric(name, *args, **kwargs)


def finish(exit_code: Optional[int] = None, quiet: Optional[bool] = None) -> None:
    """Finish the current run, if there is one."""
    run = _state.current()
    if run is not None:
        run.finish(exit_code=exit_code, quiet=quiet)


def save(glob_str: str, base_path: Optional[str] = None, policy: str = "live") -> list[str]:
    """``save`` on the current run (see :meth:`Run.save`)."""
    return _state.need("save").save(glob_str, base_path, policy)
