"""The wandb module-level names that scripts and frameworks call and turbotrack's own API lacks:
``init`` that hears ``WANDB_*``, ``login``, ``setup``, ``require``, ``termlog``/``termwarn``/``termerror``,
``alert``, ``log_artifact``/``use_artifact``, ``mark_preempting``, ``plot_table``."""

from __future__ import annotations

import enum
import json
import os
from typing import Any, Optional, Sequence

from .. import _state, sdk
from ..settings import ENV
from . import env
from .settings import as_turbotrack
from .term import termerror, termlog, termwarn


def init(
    project: Optional[str] = None,
    entity: Optional[str] = None,
    name: Optional[str] = None,
    id: Optional[str] = None,
    config: Any = None,
    dir: Any = None,
    mode: Optional[str] = None,
    group: Optional[str] = None,
    job_type: Optional[str] = None,
    tags: Optional[Sequence[str]] = None,
    notes: Optional[str] = None,
    resume: Any = None,
    settings: Any = None,
    reinit: Any = None,
    **wandb_only: Any,
) -> Any:
    """``wandb.init``: ``turbotrack.init`` with each argument not given taken from ``$TURBOTRACK_<X>``, else
    ``$WANDB_<X>`` (PROJECT, ENTITY, NAME, RUN_ID, DIR, MODE/DISABLED, RUN_GROUP, JOB_TYPE, TAGS, NOTES,
    RESUME), read now; wandb settings objects and wandb-only settings keys are accepted."""
    given_mode = mode if mode is None else env._MODES.get(mode, mode)
    turbotrack_settings = as_turbotrack(settings)
    if given_mode is None and isinstance(turbotrack_settings, dict):
        given_mode = turbotrack_settings.pop("mode", None)
    if turbotrack_settings is None or isinstance(turbotrack_settings, dict):
        # turbotrack settings read from $TURBOTRACK_<X> (base_url, flush_interval, ...): also from $WANDB_<X>
        from_wandb = {
            field: os.environ[f"WANDB_{var[len('TURBOTRACK_') :]}"]
            for field, var in ENV.items()
            if field not in ("mode", "dir", "entity", "project")
            and var not in os.environ
            and os.environ.get(f"WANDB_{var[len('TURBOTRACK_') :]}")
        }
        turbotrack_settings = {**from_wandb, **(turbotrack_settings or {})}
    return sdk.init(
        project=project or env.get("PROJECT"),
        entity=entity or env.get("ENTITY"),
        name=name or env.get("NAME"),
        id=id or env.get("RUN_ID"),
        config=config,
        dir=dir or env.get("DIR"),
        mode=given_mode or env.mode(),
        group=group or env.get("RUN_GROUP"),
        job_type=job_type or env.get("JOB_TYPE"),
        tags=tags if tags is not None else env.tags(),
        notes=notes or env.get("NOTES"),
        resume=resume if resume is not None else env.get("RESUME"),
        settings=turbotrack_settings,
        reinit=reinit,
        **wandb_only,
    )


def login(
    key: Optional[str] = None,
    relogin: Optional[bool] = None,
    host: Optional[str] = None,
    anonymous: Optional[str] = None,
    timeout: Optional[int] = None,
    verify: bool = False,
    **_: Any,
) -> bool:
    """``wandb.login``: set ``$TURBOTRACK_API_KEY`` for this process and, for a server (``host``, else
    ``$TURBOTRACK_BASE_URL``/``$WANDB_BASE_URL``), store the key as ``turbotrack login`` does (in
    ``~/.config/turbotrack/credentials``, mode 0600). Without ``key``: True when a key is known for the host."""
    from ..sync import client

    host = host or env.get("BASE_URL")
    if key:
        if host and (relogin or client.resolve_key(host) != key):
            client.save_key(host, key)
        os.environ["TURBOTRACK_API_KEY"] = key
        return True
    return bool(env.get("API_KEY") or (host and client.resolve_key(host)))


def api_key(host: Optional[str] = None) -> Optional[str]:
    """The API key for ``host``: ``$TURBOTRACK_API_KEY``/``$WANDB_API_KEY``, else the one stored for it."""
    from ..sync import client

    host = host or env.get("BASE_URL")
    return env.get("API_KEY") or (client.resolve_key(host) if host else None)


def require(requirement: Optional[str] = None, experiment: Optional[str] = None) -> None:
    """``wandb.require("core")`` and the like opt into wandb internals; turbotrack has one implementation,
    so every requirement is met. A non-string is a TypeError, as in wandb."""
    for r in (requirement, experiment):
        if r is not None and not isinstance(r, (str, list, tuple)):
            raise TypeError(f"require() takes a string or a list of strings, got {type(r).__name__}")


class _Setup:
    """What ``wandb.setup()`` returns: the settings it was given."""

    def __init__(self, settings: Any) -> None:
        self.settings = settings


def setup(settings: Any = None) -> _Setup:
    """``wandb.setup``: wandb starts its service process here; turbotrack needs none. Returns the settings."""
    return _Setup(settings)


def teardown(exit_code: Optional[int] = None) -> None:
    """``wandb.teardown``: finish the current run."""
    sdk.finish(exit_code=exit_code)


class AlertLevel(str, enum.Enum):
    """``wandb.AlertLevel``."""

    INFO = "INFO"
    WARN = "WARN"
    ERROR = "ERROR"


def alert(title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
    """``wandb.alert`` on the current run."""
    _state.need("alert").alert(title, text, level, wait_duration)


def log_artifact(
    artifact_or_path: Any, name: Optional[str] = None, type: Optional[str] = None, aliases: Any = None, tags: Any = None
) -> Any:
    """``wandb.log_artifact`` on the current run."""
    return _state.need("log_artifact").log_artifact(artifact_or_path, name, type, aliases, tags)


def use_artifact(
    artifact_or_name: Any, type: Optional[str] = None, aliases: Any = None, use_as: Optional[str] = None
) -> Any:
    """``wandb.use_artifact`` on the current run."""
    return _state.need("use_artifact").use_artifact(artifact_or_name, type, aliases, use_as)


def mark_preempting() -> None:
    """``wandb.mark_preempting`` on the current run."""
    _state.need("mark_preempting").mark_preempting()


def plot_table(
    vega_spec_name: str,
    data_table: Any,
    fields: dict[str, str],
    string_fields: Optional[dict[str, Any]] = None,
    split_table: bool = False,
) -> Any:
    """``wandb.plot_table``: a custom chart over a Table, stored with its spec name, fields and strings."""
    from ..plot import Plot

    return Plot(
        "custom",
        data_table,
        dict(fields),
        title=(string_fields or {}).get("title", ""),
        spec=vega_spec_name,
        strings=string_fields,
    )


def json_dumps_safer(obj: Any, **kwargs: Any) -> str:
    """``wandb.util.json_dumps_safer``: JSON where values JSON lacks become strings."""
    return json.dumps(obj, default=str, **kwargs)


__all__ = [
    "AlertLevel",
    "alert",
    "api_key",
    "init",
    "json_dumps_safer",
    "log_artifact",
    "login",
    "mark_preempting",
    "plot_table",
    "require",
    "setup",
    "teardown",
    "termerror",
    "termlog",
    "termwarn",
    "use_artifact",
]
