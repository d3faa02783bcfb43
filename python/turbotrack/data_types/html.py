"""``Html``: an HTML document (a string, an open file or a path), stored as a file in the run's media."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._files import store
from .base import Media

_BASE = '<base target="_blank">'


class Html(Media):
    """HTML: ``data`` is a string of HTML, an open text file, or a path (``Path`` or a string naming an
    existing ``.html`` file). ``inject`` makes links open outside the viewer (a ``<base target="_blank">``
    in the head, as wandb adds)."""

    _type = "html-file"

    def __init__(self, data: Any, inject: bool = True, data_is_not_path: bool = False) -> None:
        if isinstance(data, Path) or (
            isinstance(data, str) and not data_is_not_path and data.endswith((".html", ".htm")) and Path(data).is_file()
        ):
            text = Path(data).read_text(encoding="utf-8")
        elif isinstance(data, str):
            text = data
        elif hasattr(data, "read"):
            text = data.read()
        else:
            raise TypeError(f"Html needs a string, a file or a path, got {type(data).__name__}")
        if inject:
            text = _inject(text)
        self.html = text

    def to_json(self, run_dir: Path | None, key: str, step: int) -> dict[str, Any]:
        out: dict[str, Any] = {"_type": self._type}
        if run_dir is not None:
            out["path"] = store(
                run_dir, "html", key, step, ".html", None, lambda p: p.write_text(self.html, encoding="utf-8")
            )
        return out


def _inject(text: str) -> str:
    if "<head>" in text:
        return text.replace("<head>", "<head>" + _BASE, 1)
    return f"<head>{_BASE}</head>{text}"


__all__ = ["Html"]
