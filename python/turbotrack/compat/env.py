"""``WANDB_*`` environment variables read as their ``TURBOTRACK_*`` counterparts (a ``TURBOTRACK_*`` one wins).

``turbotrack run`` copies every ``WANDB_<X>`` into ``TURBOTRACK_<X>`` for the command it starts;
``turbotrack.init()`` reads both at call time (see ``turbotrack._envvars``), so a script that sets
``os.environ["WANDB_PROJECT"]`` itself is heard too, on the direct import as under ``turbotrack run``.
"""

from __future__ import annotations

from typing import Mapping, MutableMapping, Optional

from .._envvars import get
from .._wandb_fields import MODES as _MODES

_TRUE = {"1", "true", "yes", "on"}


def mode(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The run mode the environment asks for: ``WANDB_DISABLED=true`` or a (wandb or turbotrack) mode word."""
    disabled = get("DISABLED", environ)
    if disabled is not None and disabled.strip().lower() in _TRUE:
        return "disabled"
    word = get("MODE", environ)
    if word is None:
        return None
    word = word.strip().lower()
    if word not in _MODES:
        raise ValueError(f"$WANDB_MODE / $TURBOTRACK_MODE must be one of {sorted(_MODES)}, got {word!r}")
    return _MODES[word]


def tags(environ: Optional[Mapping[str, str]] = None) -> Optional[list[str]]:
    """``$WANDB_TAGS`` (comma-separated) as a list."""
    raw = get("TAGS", environ)
    return None if raw is None else [t.strip() for t in raw.split(",") if t.strip()]


def copy_wandb_vars(environ: MutableMapping[str, str]) -> dict[str, str]:
    """Set ``TURBOTRACK_<X>`` from every ``WANDB_<X>`` in ``environ`` that has no ``TURBOTRACK_<X>`` yet
    (modes translated to turbotrack's words). Returns what was set."""
    added: dict[str, str] = {}
    for key, value in list(environ.items()):
        if not key.startswith("WANDB_") or not value:
            continue
        target = "TURBOTRACK_" + key[len("WANDB_") :]
        if target in environ:
            continue
        if key == "WANDB_MODE":
            value = _MODES.get(value.strip().lower(), value)
        environ[target] = added[target] = value
    if "TURBOTRACK_MODE" not in environ and mode(environ) == "disabled":
        environ["TURBOTRACK_MODE"] = added["TURBOTRACK_MODE"] = "disabled"
    return added


__all__ = ["copy_wandb_vars", "get", "mode", "tags"]
