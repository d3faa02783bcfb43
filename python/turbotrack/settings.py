"""Run settings: init()'s arguments, ``settings={...}`` and the ``TURBOTRACK_*`` environment, in one place.

Precedence for each field: an explicit ``settings`` entry, else the environment variable, else the default.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Mapping, Optional

from .store import layout

#: Environment variables read by turbotrack, by setting name.
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
    "queue_capacity": "TURBOTRACK_QUEUE_CAPACITY",
    "api_key": "TURBOTRACK_API_KEY",
    "sync_interval": "TURBOTRACK_SYNC_INTERVAL",
    "sync_timeout": "TURBOTRACK_SYNC_TIMEOUT",
}

MODES = ("online", "offline", "disabled")
NAME_POLICIES = ("warn", "strict", "off")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclasses.dataclass
class Settings:
    """Everything a run is configured with. Build it with :meth:`Settings.resolve`."""

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
    shared: bool = False
    rank: int = 0
    queue_capacity: int = 16384
    base_url: Optional[str] = None
    api_key: Optional[str] = None
    sync_interval: float = 2.0  # online mode: seconds between uploads (and heartbeats)
    sync_timeout: float = 30.0  # online mode: how long finish() waits for the upload to catch up

    @classmethod
    def resolve(cls, settings: Optional[Mapping[str, Any]] = None, mode: Optional[str] = None) -> Settings:
        """Merge ``settings`` (a dict, or a ``Settings``) over the environment and the defaults."""
        if isinstance(settings, Settings):
            given: dict[str, Any] = dataclasses.asdict(settings)
        else:
            given = dict(settings or {})
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(given) - set(fields))
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; known settings are {sorted(fields)}")
        values: dict[str, Any] = {}
        for name, field in fields.items():
            if name in given:
                raw, source = given[name], f"settings[{name!r}]"
            elif name in ENV and ENV[name] in os.environ:
                raw, source = os.environ[ENV[name]], f"${ENV[name]}"
            else:
                continue
            values[name] = _coerce(raw, field.type, source)
        if "rank" not in given and os.environ.get("RANK", "").isdigit():
            values["rank"] = int(os.environ["RANK"])
        if mode is not None:
            values["mode"] = mode
        elif "mode" not in values:
            values["mode"] = "online" if values.get("base_url") else "offline"
        out = cls(**values)
        if out.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {out.mode!r}")
        if out.metric_names not in NAME_POLICIES:
            raise ValueError(f"settings['metric_names'] must be one of {NAME_POLICIES}, got {out.metric_names!r}")
        if (out.flush_interval is not None and out.flush_interval <= 0) or out.system_interval <= 0:
            raise ValueError("flush_interval and system_interval must be positive numbers of seconds")
        if out.sync_interval <= 0 or out.sync_timeout < 0:
            raise ValueError("sync_interval must be positive and sync_timeout not negative (seconds)")
        if out.queue_capacity < 1:
            raise ValueError("queue_capacity must be at least 1")
        return out


def _coerce(raw: Any, typ: Any, source: str) -> Any:
    typ = str(typ)
    if "bool" in typ:
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"{source} must be true or false, got {raw!r}")
    if "float" in typ or "int" in typ:
        conv = float if "float" in typ else int
        try:
            return conv(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{source} must be a number, got {raw!r}") from None
    return None if raw is None else str(raw)


# The storage root itself is ``store.layout.storage_root``.
storage_root = layout.storage_root


def default_entity(entity: Optional[str] = None) -> str:
    return entity or os.environ.get(ENV["entity"]) or "local"


def default_project(project: Optional[str] = None) -> str:
    return project or os.environ.get(ENV["project"]) or "uncategorized"
