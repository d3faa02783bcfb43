"""The base class of rich values: each knows how to turn itself into JSON for the history."""

from __future__ import annotations

from pathlib import Path
from typing import Any


class Media:
    """A rich value. ``to_json(run_dir, key, step)`` returns the JSON-able dict stored in history;
    objects that need files write them under ``run_dir / "media"``."""

    _type = "media"

    def to_json(self, run_dir: Path | None, key: str, step: int) -> dict[str, Any]:
        raise NotImplementedError
