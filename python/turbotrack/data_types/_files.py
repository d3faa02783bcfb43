"""Where a media value's file goes in the run's folder: ``media/<kind>/<name>``, named by
:func:`base.media_name` (escaped key, landing step, process tag, content hash) so files never collide."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Optional

from ..store.layout import MEDIA_DIR
from .base import media_name


def store(
    run_dir: Path, kind: str, key: str, step: int, suffix: str, source: Optional[Path], write: Callable[[Path], Any]
) -> str:
    """Copy ``source`` (or call ``write(target)``) into the run's media; return the path relative to the run."""
    folder = run_dir / MEDIA_DIR / kind
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".media-", suffix=suffix, dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if source is not None:
            shutil.copyfile(source, tmp)
        else:
            write(tmp)
        target = folder / media_name(key, step, tmp.read_bytes(), suffix)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target.relative_to(run_dir).as_posix()


def existing_file(what: str, path: str | Path) -> Path:
    """``path`` as a Path, or a ValueError naming ``what`` when no such file exists."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{what}: no such file {str(p)!r}")
    return p
