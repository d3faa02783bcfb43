"""``WANDB_*`` environment variables read as their ``TURBOTRACK_*`` counterparts (a ``TURBOTRACK_*`` one wins).

``turbotrack run`` copies every ``WANDB_<X>`` into ``TURBOTRACK_<X>`` for the command it starts; the wandb
shim's ``init()`` reads both at call time, so a script that sets ``os.environ["WANDB_PROJECT"]`` itself
is heard too.
"""

from __future__ import annotations

import os
from typing import Mapping, MutableMapping, Optional

#: wandb's mode words in turbotrack's terms ("dryrun" and "run" are wandb's old names).
_MODES = {"dryrun": "offline", "offline": "offline", "run": "online", "online": "online", "disabled": "disabled"}
_TRUE = {"1", "true", "yes", "on"}


def get(name: str, environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """``$TURBOTRACK_<name>``, else ``$WANDB_<name>``, else ``None``; empty values count as unset."""
    env = os.environ if environ is None else environ
    return env.get(f"TURBOTRACK_{name}") or env.get(f"WANDB_{name}") or None


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
