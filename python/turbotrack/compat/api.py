"""The wandb module-level names that scripts and frameworks call and turbotrack's own API lacks:
``init`` that hears ``WANDB_*``, ``login``, ``setup``, ``require``, ``termlog``/``termwarn``/``termerror``,
``alert``, ``log_artifact``/``use_artifact``, ``mark_preempting``, ``plot_table``."""

from __future__ import annotations

import enum
import json
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from .. import sdk
from .._fs import atomic_write_json, read_json
from ..settings import ENV
from . import env
from .settings import as_turbotrack

_said: set[str] = set()


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


def _credentials_file() -> Path:
    base = os.environ.get("TURBOTRACK_CONFIG_DIR") or os.path.join(
        os.environ.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "turbotrack"
    )
    return Path(base) / "credentials.json"


def login(
    key: Optional[str] = None,
    relogin: Optional[bool] = None,
    host: Optional[str] = None,
    anonymous: Optional[str] = None,
    timeout: Optional[int] = None,
    verify: bool = False,
    **_: Any,
) -> bool:
    """``wandb.login``: store ``key`` for ``host`` (default ``$TURBOTRACK_BASE_URL``/``$WANDB_BASE_URL``, else
    ``local``) in ``~/.config/turbotrack/credentials.json`` (mode 600) and set ``$TURBOTRACK_API_KEY`` for this
    process. Without ``key``: True when a key is known (environment or stored) for the host."""
    host = host or env.get("BASE_URL") or "local"
    path = _credentials_file()
    stored: dict[str, str] = read_json(path, {}) or {}
    if key:
        if stored.get(host) != key or relogin:
            stored[host] = key
            atomic_write_json(path, stored)
            os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        os.environ["TURBOTRACK_API_KEY"] = key
        return True
    return bool(env.get("API_KEY") or stored.get(host))


def api_key(host: Optional[str] = None) -> Optional[str]:
    """The API key for ``host``: ``$TURBOTRACK_API_KEY``/``$WANDB_API_KEY``, else the one ``login`` stored."""
    stored = read_json(_credentials_file(), {}) or {}
    return env.get("API_KEY") or stored.get(host or env.get("BASE_URL") or "local")


def _say(prefix: str, string: str, newline: bool, repeat: bool) -> None:
    if not repeat:
        if string in _said:
            return
        _said.add(string)
    if os.environ.get("TURBOTRACK_SILENT", os.environ.get("WANDB_SILENT", "")).lower() in ("1", "true"):
        return
    print(f"{prefix}{string}", end="\n" if newline else "", file=sys.stderr, flush=True)


def termlog(string: str = "", newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """Print ``string`` on stderr (``repeat=False``: only the first time)."""
    _say("turbotrack: " if prefix else "", string, newline, repeat)


def termwarn(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """Print a warning on stderr (``repeat=False``: only the first time)."""
    _say("turbotrack: WARNING " if prefix else "", string, newline, repeat)


def termerror(string: str, newline: bool = True, repeat: bool = True, prefix: bool = True) -> None:
    """Print an error on stderr (``repeat=False``: only the first time)."""
    _say("turbotrack: ERROR " if prefix else "", string, newline, repeat)


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


def alert_record(path: Path, title: str, text: str, level: Any) -> None:
    """Append an alert to ``path`` (a JSON list) and print it on stderr."""
    level_name = str(getattr(level, "value", level) or "INFO")
    items = read_json(path, []) or []
    items.append({"title": title, "text": text, "level": level_name, "time": time.time()})
    atomic_write_json(path, items)
    termwarn(f"alert [{level_name}] {title}: {text}")


def alert(title: str, text: str, level: Any = None, wait_duration: Any = None) -> None:
    """``wandb.alert`` on the current run."""
    sdk._need_run("alert").alert(title, text, level, wait_duration)


def log_artifact(
    artifact_or_path: Any, name: Optional[str] = None, type: Optional[str] = None, aliases: Any = None, tags: Any = None
) -> Any:
    """``wandb.log_artifact`` on the current run."""
    return sdk._need_run("log_artifact").log_artifact(artifact_or_path, name, type, aliases, tags)


def use_artifact(
    artifact_or_name: Any, type: Optional[str] = None, aliases: Any = None, use_as: Optional[str] = None
) -> Any:
    """``wandb.use_artifact`` on the current run."""
    return sdk._need_run("use_artifact").use_artifact(artifact_or_name, type, aliases, use_as)


def mark_preempting() -> None:
    """``wandb.mark_preempting`` on the current run."""
    sdk._need_run("mark_preempting").mark_preempting()


def log_code(
    run: Any,
    root: str,
    name: Optional[str],
    include_fn: Optional[Callable[..., bool]],
    exclude_fn: Optional[Callable[..., bool]],
) -> Any:
    """Save source files under ``root`` as a ``code`` artifact of ``run`` (see ``Run.log_code``)."""
    from ..artifacts import Artifact

    base = Path(root).resolve()
    art = Artifact(name or f"source-{run.project}-{run.id}", "code")
    skip = {".git", "__pycache__", ".venv", "venv", "node_modules", "turbotrack", "wandb", "artifacts"}
    for dirpath, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if d not in skip and not d.startswith("."))
        for f in sorted(files):
            path = os.path.join(dirpath, f)
            wanted = _call(include_fn, path, base) if include_fn is not None else f.endswith(".py")
            if wanted and not (exclude_fn is not None and _call(exclude_fn, path, base)):
                art.add_file(path, name=os.path.relpath(path, base))
    if not art.files():
        return None
    return run.log_artifact(art)


def _call(fn: Callable[..., bool], path: str, root: Path) -> bool:
    try:
        return bool(fn(path, str(root)))
    except TypeError:
        return bool(fn(path))


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
