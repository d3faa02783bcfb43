"""What a run's wandb extras record: alerts (``alerts.json``) and source code (a ``code`` artifact)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable, Optional

from .._fs import atomic_write_json, read_json
from .term import termwarn


def alert_record(path: Path, title: str, text: str, level: Any, wait_duration: Optional[float] = None) -> None:
    """Append an alert to ``path`` (a JSON list) and print it on stderr. ``wait_duration``: seconds in which
    another alert of this title is dropped (kept in the record)."""
    level_name = str(getattr(level, "value", level) or "INFO")
    items = read_json(path, []) or []
    item: dict[str, Any] = {"title": title, "text": text, "level": level_name, "time": time.time()}
    if wait_duration is not None:
        item["wait_duration"] = wait_duration
    items.append(item)
    atomic_write_json(path, items)
    termwarn(f"alert [{level_name}] {title}: {text}")


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
