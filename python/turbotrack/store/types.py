"""The SDK's value types, as the readers below it hand them out.

``store/``, ``api/``, ``sync/`` and ``server/`` import nothing of the SDK (tests/test_imports.py
checks it), yet ``Api().run(p).table(key)`` answers a ``Table``, ``.logged_artifacts()`` and
``Api().artifact()`` answer ``Artifact`` objects, and ``run.summary["x"] = array`` stores an array
as a run does. The dependency is inverted here: the readers call the hooks below, and the SDK
(``turbotrack.artifacts``, ``turbotrack.data_types.table``, ``turbotrack._summary``) plugs its types
in with :func:`provide` when the package is imported (``turbotrack/_plug.py``; ``import turbotrack``
runs before any of its submodules, so a reader never finds a hook missing).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

_hooks: dict[str, Callable[..., Any]] = {}

#: The hooks a reader may call, and what each is given.
HOOKS = {
    "artifact": "(project_dir: Path, name: str, alias: str) -> Artifact  (a stored version)",
    "remote_artifact": "(name, manifest, version, aliases, entity, project, fetch: digest -> bytes) -> Artifact",
    "table": "(columns: list, data: list) -> Table",
    "summary_json": "(value, run_dir: Path, key: str) -> str  (a summary value as run.summary stores it)",
}


def provide(name: str, hook: Callable[..., Any]) -> None:
    """Plug the SDK's implementation of hook ``name`` (one of :data:`HOOKS`) in."""
    if name not in HOOKS:
        raise ValueError(f"no reader hook {name!r}; hooks: {sorted(HOOKS)}")
    _hooks[name] = hook


def _get(name: str) -> Callable[..., Any]:
    try:
        return _hooks[name]
    except KeyError:
        raise RuntimeError(f"the reader hook {name!r} is not plugged in: import turbotrack first") from None


def artifact(project_dir: Path, name: str, alias: str) -> Any:
    """The stored artifact version ``name:alias`` of a project's folder, as an ``Artifact``."""
    return _get("artifact")(project_dir, name, alias)


def remote_artifact(
    name: str,
    manifest: dict[str, Any],
    version: int,
    aliases: Sequence[str],
    entity: str,
    project: str,
    fetch: Callable[[str], bytes],
) -> Any:
    """An artifact version on a server (its manifest checked), as an ``Artifact`` whose ``download()``
    brings each file with ``fetch(digest)``."""
    return _get("remote_artifact")(name, manifest, version, aliases, entity, project, fetch)


def table(columns: list[Any], data: list[Any]) -> Any:
    """A logged table's columns and rows, as a ``Table``."""
    return _get("table")(columns, data)


def summary_json(value: Any, run_dir: Path, key: str) -> str:
    """``value`` as ``run.summary[key] = value`` stores it (arrays and media as files of the run)."""
    return str(_get("summary_json")(value, run_dir, key))


__all__ = ["HOOKS", "artifact", "provide", "remote_artifact", "summary_json", "table"]
