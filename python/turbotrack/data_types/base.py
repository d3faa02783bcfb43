"""The base class of rich values, and the names of the files they write.

A media file's name is ``<key>_<step>[_<tag>]_<hash>.<ext>``: the key escaped so that two keys never
give one name (``val/img`` and ``val_img`` differ), cut to a bounded length with a hash of the whole
key when long (any valid key works, however long), the step the row lands on, the writing
process's tag in a shared run or a forked child (``r2``, ``r0p1234``: ranks never overwrite each
other), and a hash of the content.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import string
from pathlib import Path
from typing import Any, Iterator

#: Characters kept as they are in file names; any other is written ``~XX`` per UTF-8 byte.
_SAFE = frozenset(string.ascii_letters + string.digits + "-_.")
#: The longest escaped key kept whole in a file name (file names are limited to 255 bytes).
MAX_KEY_CHARS = 120
_tag: contextvars.ContextVar[str] = contextvars.ContextVar("turbotrack_media_tag", default="")


def escape_key(key: str) -> str:
    """``key`` as a file-name part: injective (``~`` escapes itself), bounded in length (a long key
    is cut and ends in ``~~`` and a hash of the whole key, which no uncut escape can contain)."""
    out = []
    for ch in key:
        if ch in _SAFE:
            out.append(ch)
        else:
            out.extend(f"~{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    name = "".join(out)
    if len(name) > MAX_KEY_CHARS:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        name = f"{name[: MAX_KEY_CHARS - 18]}~~{digest}"
    return name


@contextlib.contextmanager
def media_tag(tag: str) -> Iterator[None]:
    """Within the block, media files are named with the writing process's ``tag`` (see the module doc)."""
    token = _tag.set(tag)
    try:
        yield
    finally:
        _tag.reset(token)


def media_name(key: str, step: int, content: bytes, ext: str) -> str:
    """The file name of media ``content`` logged under ``key`` at ``step`` (``ext`` with its dot)."""
    tag = _tag.get()
    digest = hashlib.sha256(content).hexdigest()[:12]
    return f"{escape_key(key)}_{step}{'_' + tag if tag else ''}_{digest}{ext}"


class Media:
    """A rich value. ``to_json(run_dir, key, step)`` returns the JSON-able dict stored in history;
    objects that need files write them under ``run_dir / "media"``, named by :func:`media_name`."""

    _type = "media"

    def to_json(self, run_dir: Path | None, key: str, step: int) -> dict[str, Any]:
        raise NotImplementedError
