"""The settings the environment gives: every ``WANDB_*`` variable wandb reads, as its ``TURBOTRACK_*``
counterpart too (a ``TURBOTRACK_*`` one wins), plus turbotrack's own ``TURBOTRACK_*`` variables.

wandb's rule, followed here: ``WANDB_<X>`` sets the setting ``<x>`` (lowercased) when that is a field of
its Settings, ``WANDB__<X>`` sets ``x_<x>``, and a few are named apart (``WANDB_DIR`` is ``root_dir``,
``WANDB_NAME`` ``run_name``, ``WANDB_NOTES``, ``WANDB_TAGS``, ``WANDB_JOB_TYPE``). ``WANDB_DISABLED=true``
(read by HF Transformers) means ``mode="disabled"``. Values are read when ``init()`` is called.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional

from ._wandb_fields import DEFAULTS

PREFIXES = ("WANDB_", "TURBOTRACK_")  # in order of precedence: the later wins
#: Variables whose setting is not their lowercased name (wandb's ``special_env_var_names``).
SPECIAL = {
    "APP_URL": "app_url_override",
    "SERVICE_TRANSPORT": "x_service_transport",
    "DIR": "root_dir",
    "NAME": "run_name",
    "NOTES": "run_notes",
    "TAGS": "run_tags",
    "JOB_TYPE": "run_job_type",
    "HTTP_TIMEOUT": "x_graphql_timeout_seconds",
    "FILE_PUSHER_TIMEOUT": "x_file_transfer_timeout_seconds",
    "USER_EMAIL": "email",
}
_TRUE = {"1", "true", "yes", "on"}


def field_of(suffix: str) -> Optional[str]:
    """The wandb setting that ``WANDB_<suffix>`` (or ``TURBOTRACK_<suffix>``) sets, or None."""
    if suffix in SPECIAL:
        return SPECIAL[suffix]
    name = "x_" + suffix[1:].lower() if suffix.startswith("_") else suffix.lower()
    return name if name in DEFAULTS else None


def wandb_settings(environ: Optional[Mapping[str, str]] = None) -> dict[str, Any]:
    """The wandb settings the environment sets (by wandb field name), ``TURBOTRACK_*`` over ``WANDB_*``;
    empty values count as unset."""
    env = os.environ if environ is None else environ
    out: dict[str, Any] = {}
    for prefix in PREFIXES:
        for key, value in env.items():
            if key.startswith(prefix) and value:
                name = field_of(key[len(prefix) :])
                if name is not None:
                    out[name] = value
    disabled = get("DISABLED", env)
    if disabled is not None and disabled.strip().lower() in _TRUE and not env.get("TURBOTRACK_MODE"):
        out["mode"] = "disabled"
    return out


def own(env_names: Mapping[str, str], environ: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """turbotrack's own settings from ``env_names`` (setting → ``TURBOTRACK_<X>``), each also read as
    ``WANDB_<X>`` (a ``TURBOTRACK_*`` one wins)."""
    env = os.environ if environ is None else environ
    out = {}
    for setting, var in env_names.items():
        value = get(var[len("TURBOTRACK_") :], env)
        if value is not None:
            out[setting] = value
    return out


def get(name: str, environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """``$TURBOTRACK_<name>``, else ``$WANDB_<name>``, else ``None``; empty values count as unset."""
    env = os.environ if environ is None else environ
    return env.get(f"TURBOTRACK_{name}") or env.get(f"WANDB_{name}") or None
