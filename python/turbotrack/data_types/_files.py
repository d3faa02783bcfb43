"""Where a media value's file goes in the run's folder: ``media/<kind>/<key>_<step><suffix>``."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable, Optional

from .table import _safe


def media_target(run_dir: Path, kind: str, key: str, step: int, suffix: str) -> Path:
    """The path for ``key``'s value at ``step`` (its folder made)."""
    folder = run_dir / "media" / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{_safe(key)}_{step}{suffix}"


def store(
    run_dir: Path, kind: str, key: str, step: int, suffix: str, source: Optional[Path], write: Callable[[Path], Any]
) -> str:
    """Copy ``source`` (or call ``write(target)``) into the run's media; return the path relative to the run."""
    target = media_target(run_dir, kind, key, step, suffix)
    if source is not None:
        shutil.copyfile(source, target)
    else:
        write(target)
    return target.relative_to(run_dir).as_posix()


def existing_file(what: str, path: str | Path) -> Path:
    """``path`` as a Path, or a ValueError naming ``what`` when no such file exists."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{what}: no such file {str(p)!r}")
    return p
