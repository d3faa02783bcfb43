"""wandb's module-level names beyond init/log/finish, exported by ``turbotrack`` (and so by the ``wandb``
that ``turbotrack run`` serves): ``login``, ``setup``, ``require``, ``teardown``, ``termlog``/``termwarn``/
``termerror``, ``AlertLevel``, ``alert``, ``log_artifact``/``use_artifact``, ``mark_preempting``,
``plot_table``."""

from __future__ import annotations

import enum
import os
from typing import Any, Optional

from .. import _envvars as env
from .. import _state, sdk
from ..sdk import setup
from ..util import json_dumps_safer
from .term import termerror, termlog, termwarn


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
    from ..store import client

    host = host or env.get("BASE_URL")
    if key:
        if host and (relogin or client.resolve_key(host) != key):
            client.save_key(host, key)
        os.environ["TURBOTRACK_API_KEY"] = key
        return True
    return bool(env.get("API_KEY") or (host and client.resolve_key(host)))


def api_key(host: Optional[str] = None) -> Optional[str]:
    """The API key for ``host``: ``$TURBOTRACK_API_KEY``/``$WANDB_API_KEY``, else the one stored for it."""
    from ..store import client

    host = host or env.get("BASE_URL")
    return env.get("API_KEY") or (client.resolve_key(host) if host else None)


def require(requirement: Optional[str] = None, experiment: Optional[str] = None) -> None:
    """``wandb.require("core")`` and the like opt into wandb internals; turbotrack has one implementation,
    so every requirement is met. A non-string is a TypeError, as in wandb."""
    for r in (requirement, experiment):
        if r is not None and not isinstance(r, (str, list, tuple)):
            raise TypeError(f"require() takes a string or a list of strings, got {type(r).__name__}")


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


__all__ = [
    "AlertLevel",
    "alert",
    "api_key",
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
