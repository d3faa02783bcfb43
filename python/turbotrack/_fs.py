"""File writes that must never be seen half-done: temporary file, fsync, rename."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import stat
import sys
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
        if durable:
            os.replace(tmp, target)
        else:
            replace_unsynced(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


_RENAME_EXCHANGE = 2  # renameat2(2)'s flag
_AT_FDCWD = -100
_renameat2: Any = None  # libc's renameat2; None: not looked up yet, False: this system has none


def _exchange(src: str, dst: str, dir_fd: Optional[int]) -> bool:
    """Swap ``src`` and ``dst`` atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False when this
    system or file system cannot (no such call, or the file system refuses the flag); OSError
    otherwise (``dst`` missing: FileNotFoundError)."""
    global _renameat2
    if _renameat2 is None:
        call = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None) if sys.platform == "linux" else None
        if call is not None:
            call.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            call.restype = ctypes.c_int
        _renameat2 = call or False
    if _renameat2 is False:
        return False
    fd = _AT_FDCWD if dir_fd is None else dir_fd
    if _renameat2(fd, os.fsencode(src), fd, os.fsencode(dst), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), dst)


def replace_unsynced(src: PathLike, dst: PathLike, dir_fd: Optional[int] = None) -> None:
    """``os.replace(src, dst)`` (names relative to ``dir_fd`` when given) for a file that was not
    fsynced: a cache, a marker, whatever a power cut may cost. ext4 flushes a file renamed over
    another (its ``auto_da_alloc``: 250-400 µs a rename under load here, the caller waiting); where
    Linux can, the two files are exchanged instead (``renameat2(RENAME_EXCHANGE)``, no flush; readers
    still see the old file or the new one) and the old one, now at ``src``, is unlinked. Never puts
    anything but a regular file out of the way (a link or folder at ``dst``: as ``os.replace``)."""
    s, d = os.fspath(src), os.fspath(dst)
    try:
        swapped = _exchange(s, d, dir_fd)
    except FileNotFoundError:  # nothing at dst: a plain rename onto a free name flushes nothing
        swapped = False
    if not swapped:
        os.replace(s, d, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return
    if not stat.S_ISREG(os.stat(s, dir_fd=dir_fd, follow_symlinks=False).st_mode):
        _exchange(s, d, dir_fd)  # not a file that was put aside: put it back, and do what os.replace does
        os.replace(s, d, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        return
    os.unlink(s, dir_fd=dir_fd)


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
