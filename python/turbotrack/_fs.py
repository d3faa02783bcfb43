"""File writes that must never be seen half-done: temporary file, fsync, rename."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Optional, Union

PathLike = Union[str, "os.PathLike[str]"]


def atomic_write_bytes(path: PathLike, data: bytes, durable: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically: readers see the old file or the new one, never a mix
    (and a link at ``path`` is replaced, never written through). ``durable``: the bytes are on disk
    (fsync) before the file is replaced; not for a cache a power cut may lose (one fsync under a
    busy disk takes milliseconds)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # the name cut short: a temporary file beside a 255-byte name must still be a legal name
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:32]}.", suffix=".tmp", dir=target.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_copy(src: PathLike, path: PathLike, mode: int = 0o644) -> None:
    """Replace ``path`` with a copy of ``src`` (file mode ``mode``) atomically, as
    :func:`atomic_write_bytes` does."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:32]}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def atomic_write_json(path: PathLike, obj: Any) -> None:
    """Write ``obj`` as JSON (non-JSON values become strings) through :func:`atomic_write_bytes`."""
    data = json.dumps(obj, indent=2, sort_keys=False, default=str, allow_nan=True)
    atomic_write_bytes(path, data.encode("utf-8"))


class DamagedFile(ValueError):
    """A run's JSON file that cannot be read as what it should hold; the message names the file."""

    def __init__(self, path: PathLike, problem: str) -> None:
        super().__init__(f"{path} is damaged: {problem}")
        self.path = Path(path)


def read_json(path: PathLike, default: Any = None, expect: Optional[type] = None) -> Any:
    """Read a JSON file; ``default`` when it does not exist. ``DamagedFile`` (naming the file) when it
    is not JSON, or (with ``expect``) holds another type than ``expect``."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return default
    try:
        value = json.loads(data)
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise DamagedFile(path, f"not valid JSON ({e})") from None
    if expect is not None and not isinstance(value, expect):
        raise DamagedFile(path, f"holds a {type(value).__name__} where a {expect.__name__} belongs")
    return value
