"""The one rule for the names of a run's path: entity, project and run id.

What wandb's SDK accepts, so a script written for wandb runs here unchanged (checked against the
installed ``wandb`` package by tests/test_names.py):

* a project holds none of ``/ \\ # ? % :`` and is at most 128 characters (wandb's
  ``Settings.validate_project``); an entity follows the project's rule (wandb's SDK does not check
  it; its server is stricter);
* a run id holds none of ``: ; , # ? / '``, and does not start or end with whitespace
  (``Settings.validate_run_id``).

Each name is also one folder of the storage root (``<entity>/<project>/<run_id>``), so every name
must also be non-empty, at most 255 bytes of UTF-8, hold no ``\\``, no NUL and no
other control character, and not start with ``.`` (a hidden folder: temporaries and markers). Spaces
and any other printable character are fine: URLs quote them (``quote(name, safe="")``).
"""

from __future__ import annotations

from typing import Literal

#: The kinds of names, as a message names them.
Kind = Literal["entity", "project", "run id"]

MAX_CHARS = 128
MAX_BYTES = 255  # one path component on Linux, macOS and Windows
#: Characters wandb refuses in a project name (and this project in an entity's).
PROJECT_FORBIDDEN = "/\\#?%:"
#: Characters wandb refuses in a run id (``\\`` added: a folder name).
RUN_ID_FORBIDDEN = ":;,#?/'\\"


def name_problem(kind: str, value: object) -> str:
    """Why ``value`` cannot be the ``kind`` (``"entity"``, ``"project"`` or ``"run id"``) of a run
    path, or ``""`` when it can."""
    if not isinstance(value, str):
        return f"it must be a string, not {type(value).__name__}"
    if not value:
        return "it is empty"
    if kind != "run id" and len(value) > MAX_CHARS:
        return f"it is longer than {MAX_CHARS} characters"
    try:
        if len(value.encode("utf-8")) > MAX_BYTES:
            return f"it is longer than {MAX_BYTES} bytes in UTF-8"
    except UnicodeEncodeError:
        return "it is not valid Unicode text (a lone surrogate)"
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in value):
        return "it holds a control character"
    if value.startswith("."):
        return "it starts with '.' (a hidden folder)"
    forbidden = RUN_ID_FORBIDDEN if kind == "run id" else PROJECT_FORBIDDEN
    found = sorted({c for c in value if c in forbidden})
    if found:
        return f"it holds {' '.join(repr(c) for c in found)} (a {kind} cannot hold any of {' '.join(forbidden)})"
    if kind == "run id" and value != value.strip():
        return "it starts or ends with whitespace"
    return ""


def is_valid_name(kind: str, value: object) -> bool:
    """Whether ``value`` can be the ``kind`` of a run path (see the module's rule)."""
    return not name_problem(kind, value)


def check_name(kind: str, value: object) -> str:
    """``value`` when it can be the ``kind`` of a run path, else a ``ValueError`` naming the
    argument, the value and why."""
    problem = name_problem(kind, value)
    if problem:
        raise ValueError(f"{kind} {value!r} is not a valid name: {problem}")
    return value  # type: ignore[return-value]


def suggest_name(kind: str, value: str, fallback: str = "my-team") -> str:
    """A name the rule accepts that is close to ``value``: each run of refused characters (and
    control characters) becomes ``-``, leading dots and whitespace go; ``fallback`` when nothing is left."""
    forbidden = RUN_ID_FORBIDDEN if kind == "run id" else PROJECT_FORBIDDEN
    out, dash = [], False
    for c in str(value):
        bad = c in forbidden or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0
        if bad and not dash:
            out.append("-")
        elif not bad:
            out.append(c)
        dash = bad
    better = "".join(out).strip().lstrip(".").strip("-")[:MAX_CHARS]
    return better if is_valid_name(kind, better) else fallback


__all__ = ["check_name", "is_valid_name", "name_problem", "suggest_name"]
