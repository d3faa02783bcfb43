"""Run settings: ``turbotrack.Settings`` (wandb's fields and turbotrack's), ``settings={...}``, init()'s
arguments and the environment, resolved in one place.

Precedence for each setting: an ``init()`` argument, else ``settings=`` (a dict or a :class:`Settings`),
else ``turbotrack.setup(settings=)``, else the environment (``TURBOTRACK_*``, else ``WANDB_*``: see
``_envvars``), else the default. wandb's fields and what they mean here: ``_wandb_fields``.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping, Optional

from . import _envvars, _wandb_fields
from .store import layout

#: Environment variables of turbotrack's own settings (each also read as ``WANDB_<X>``), by setting name.
ENV = {
    "mode": "TURBOTRACK_MODE",
    "dir": "TURBOTRACK_DIR",
    "entity": "TURBOTRACK_ENTITY",
    "project": "TURBOTRACK_PROJECT",
    "base_url": "TURBOTRACK_BASE_URL",
    "flush_interval": "TURBOTRACK_FLUSH_INTERVAL",
    "metric_names": "TURBOTRACK_METRIC_NAMES",
    "system_interval": "TURBOTRACK_SYSTEM_INTERVAL",
    "capture_stdout": "TURBOTRACK_CAPTURE_STDOUT",
    "capture_system": "TURBOTRACK_CAPTURE_SYSTEM",
    "capture_git": "TURBOTRACK_CAPTURE_GIT",
    "capture_requirements": "TURBOTRACK_CAPTURE_REQUIREMENTS",
    "capture_metadata": "TURBOTRACK_CAPTURE_METADATA",
    "queue_capacity": "TURBOTRACK_QUEUE_CAPACITY",
    "api_key": "TURBOTRACK_API_KEY",
    "sync_interval": "TURBOTRACK_SYNC_INTERVAL",
    "sync_timeout": "TURBOTRACK_SYNC_TIMEOUT",
}

MODES = ("online", "offline", "disabled")
NAME_POLICIES = ("warn", "strict", "off")
REINIT = ("default", "return_previous", "finish_previous", "create_new")


@dataclasses.dataclass
class RunSettings:
    """Everything a run is configured with, resolved (:meth:`resolve`). Any wandb field reads as the
    value it was given (``run.settings.console``), else wandb's default."""

    mode: str = "offline"
    #: Seconds between seals of the history (the durability bound). None: the core's batching preset
    #: (``$TURBOTRACK_BATCHING``: default 1 s, always, never; see docs/design.md).
    flush_interval: Optional[float] = None
    metric_names: str = "warn"
    system_interval: float = 10.0
    capture_stdout: bool = True
    capture_system: bool = True
    capture_git: bool = True
    capture_requirements: bool = True
    capture_metadata: bool = True
    shared: bool = False
    rank: int = 0
    queue_capacity: int = 16384
    base_url: Optional[str] = None
    api_key: Optional[str] = None
    sync_interval: float = 2.0  # online mode: seconds between uploads (and heartbeats)
    sync_timeout: float = 30.0  # online mode: how long finish() waits for the upload to catch up
    # The run's identity and init's choices (init()'s arguments win over these).
    project: Optional[str] = None
    entity: Optional[str] = None
    name: Optional[str] = None
    id: Optional[str] = None
    group: Optional[str] = None
    job_type: Optional[str] = None
    tags: Optional[list] = None
    notes: Optional[str] = None
    dir: Optional[str] = None
    resume: Optional[str] = None
    reinit: Optional[str] = None
    allow_val_change: bool = False
    config_paths: Optional[list] = None
    silent: bool = False
    init_timeout: float = 90.0  # accepted as wandb's; init() here never waits for a service
    #: The wandb fields given, by name (what attribute reads of wandb fields return).
    wandb: dict = dataclasses.field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name == "wandb":
            raise AttributeError(name)
        name = _wandb_fields.canonical(name)
        if name in _wandb_fields.DEFAULTS:
            return self.wandb.get(name, _wandb_fields.DEFAULTS[name])
        raise AttributeError(f"turbotrack has no setting {name!r}")

    @classmethod
    def resolve(
        cls, settings: Any = None, mode: Optional[str] = None, global_settings: Any = None, **init_args: Any
    ) -> RunSettings:
        """Merge ``init_args`` (init()'s arguments that are not None), ``settings``, ``global_settings``
        (``setup()``'s) and the environment over the defaults, and check the result."""
        env_wandb = _envvars.wandb_settings()
        given = {**_as_given(global_settings), **_as_given(settings)}
        own_env = {k: v for k, v in ENV.items() if k not in ("mode", "dir", "entity", "project")}
        layers = [_translate_all(env_wandb), _envvars.own(own_env), _translate_all(given)]
        values: dict[str, Any] = {}
        for layer in layers:
            values.update(layer)
        values.update({k: v for k, v in init_args.items() if v is not None})
        if mode is not None:
            values.update(_wandb_fields.translate("mode", mode))
        fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "wandb"}
        out = {name: _coerce(v, fields[name].type, name) for name, v in values.items()}
        if "rank" not in out and os.environ.get("RANK", "").isdigit():
            out["rank"] = int(os.environ["RANK"])
        out.setdefault("mode", "online" if out.get("base_url") else "offline")
        return cls(**out, wandb={**env_wandb, **{k: v for k, v in given.items() if k in _wandb_fields.DEFAULTS}})

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.metric_names not in NAME_POLICIES:
            raise ValueError(f"settings['metric_names'] must be one of {NAME_POLICIES}, got {self.metric_names!r}")
        if (self.flush_interval is not None and self.flush_interval <= 0) or self.system_interval <= 0:
            raise ValueError("flush_interval and system_interval must be positive numbers of seconds")
        if self.sync_interval <= 0 or self.sync_timeout < 0:
            raise ValueError("sync_interval must be positive and sync_timeout not negative (seconds)")
        if self.queue_capacity < 1:
            raise ValueError("queue_capacity must be at least 1")
        if isinstance(self.reinit, str) and self.reinit not in REINIT:
            raise ValueError(f"reinit must be True, False or one of {REINIT}, got {self.reinit!r}")


_RUN_FIELDS = {f.name for f in dataclasses.fields(RunSettings)} - {"wandb"}


class Settings:
    """Settings for ``turbotrack.init(settings=...)``, as ``wandb.Settings``: every field of wandb 0.31's
    Settings (``console="off"``, ``disable_git=True``, ``x_disable_stats`` or its old name
    ``_disable_stats``, ``silent``, ``mode``, ``project``, ``run_name``, ...) and every turbotrack setting
    (``flush_interval``, ``capture_system``, ``metric_names``, ...). Fields read as attributes: the value
    given, else the default. A name neither knows is a ``ValueError`` naming it."""

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_given", {})
        self.update(kwargs)

    def update(self, settings: Any = None, **kwargs: Any) -> None:
        """Set several settings at once (a dict, another Settings, or keywords); each is checked."""
        items = {**_as_given(settings), **{_wandb_fields.canonical(k): v for k, v in kwargs.items()}}
        _translate_all(items)  # checks names and values before anything changes
        self._given.update(items)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        name = _wandb_fields.canonical(name)
        if name in self._given:
            return self._given[name]
        if name in _wandb_fields.DEFAULTS:
            return _wandb_fields.DEFAULTS[name]
        if name in _RUN_FIELDS:
            translated = _translate_all(self._given)
            if name in translated:
                return translated[name]
            field = RunSettings.__dataclass_fields__[name]
            return field.default
        raise AttributeError(f"Settings has no field {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        self.update({name: value})

    def to_dict(self) -> dict[str, Any]:
        """The settings given, by name."""
        return dict(self._given)

    @classmethod
    def resolve(cls, settings: Any = None, mode: Optional[str] = None, **init_args: Any) -> RunSettings:
        """The settings a run starts with (see :meth:`RunSettings.resolve`)."""
        return RunSettings.resolve(settings, mode, **init_args)

    def __repr__(self) -> str:
        return f"Settings({', '.join(f'{k}={v!r}' for k, v in self._given.items())})"


def _as_given(settings: Any) -> dict[str, Any]:
    """``settings`` (None, a dict, a :class:`Settings`, a resolved one or a real ``wandb.Settings``) as a
    dict by canonical name."""
    if settings is None:
        return {}
    if isinstance(settings, Settings):
        return settings.to_dict()
    if isinstance(settings, RunSettings):
        return {k: v for k, v in dataclasses.asdict(settings).items() if k != "wandb"}
    if hasattr(settings, "model_fields_set"):  # a real wandb.Settings (pydantic): the fields set on it
        return {k: getattr(settings, k) for k in settings.model_fields_set}
    if isinstance(settings, Mapping):
        return {_wandb_fields.canonical(str(k)): v for k, v in settings.items()}
    raise TypeError(f"settings must be a dict or a turbotrack.Settings, got {type(settings).__name__}")


def _translate_all(given: Mapping[str, Any]) -> dict[str, Any]:
    """The run settings ``given`` (wandb and turbotrack names) stand for; ValueError for an unknown name."""
    unknown = sorted(
        k for k in given if k not in _RUN_FIELDS and k not in _wandb_fields.DEFAULTS and k not in _wandb_fields.REMOVED
    )
    if unknown:
        raise ValueError(
            f"unknown setting(s) {unknown}: neither wandb's Settings nor turbotrack's "
            f"({', '.join(sorted(_RUN_FIELDS))}) have them"
        )
    out: dict[str, Any] = {}
    for name, value in given.items():
        if name in _wandb_fields.MEANING:
            out.update(_wandb_fields.translate(name, value))
        elif name in _RUN_FIELDS:
            if value is not None:
                out[name] = value
    return out


def _coerce(raw: Any, typ: Any, name: str) -> Any:
    typ = str(typ)
    if raw is None:
        return None
    if "bool" in typ:
        return _wandb_fields.truth(name, raw)
    if "float" in typ or "int" in typ:
        if name == "reinit" or isinstance(raw, bool):
            return raw
        conv = float if "float" in typ else int
        try:
            return conv(raw)
        except (TypeError, ValueError):
            raise ValueError(f"setting {name!r} must be a number, got {raw!r}") from None
    if "list" in typ:
        return [t.strip() for t in raw.split(",") if t.strip()] if isinstance(raw, str) else list(raw)
    if name in ("reinit", "resume") and isinstance(raw, bool):
        return raw
    return str(raw)


# The storage root itself is ``store.layout.storage_root``.
storage_root = layout.storage_root


def default_entity(entity: Optional[str] = None) -> str:
    """``entity``, else ``$TURBOTRACK_ENTITY`` / ``$WANDB_ENTITY``, else ``"local"`` (the rule is
    :func:`turbotrack.store.layout.default_entity`, which readers below the SDK use)."""
    return layout.default_entity(entity)


def default_project(project: Optional[str] = None) -> str:
    """``project``, else ``$TURBOTRACK_PROJECT`` / ``$WANDB_PROJECT``, else ``"uncategorized"``."""
    return layout.default_project(project)
