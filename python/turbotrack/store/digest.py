"""sha256 of a file's first ``n`` bytes, kept per file so that a file that only grows (a history
stream, a console log, a blob arriving chunk by chunk) is hashed once: each later digest reads
only the bytes added since."""

from __future__ import annotations

import hashlib
import os
import threading
from typing import Any

_READ = 1 << 20


def sha256_range(fd: int, start: int, end: int, h: Any = None) -> Any:
    """``h`` (a fresh sha256 when None) updated with bytes ``start`` to ``end`` of ``fd``;
    OSError when the file is shorter."""
    h = h if h is not None else hashlib.sha256()
    pos = start
    while pos < end:
        data = os.pread(fd, min(_READ, end - pos), pos)
        if not data:
            raise OSError(f"the file ended at byte {pos}, before {end}")
        h.update(data)
        pos += len(data)
    return h


class PrefixHashes:
    """The sha256 state of one prefix per file (by key and inode): a digest of a longer prefix of
    the same file goes on from there; a shorter one, or another inode, starts again."""

    def __init__(self) -> None:
        self._items: dict[Any, tuple[int, int, Any]] = {}
        self._lock = threading.Lock()

    def digest(self, key: Any, fd: int, n: int) -> str:
        """The sha256 (hex) of the first ``n`` bytes of ``fd``, the file ``key`` names."""
        ino = os.fstat(fd).st_ino
        with self._lock:
            cached = self._items.get(key)
        if cached is not None and cached[0] == ino and cached[1] <= n:
            h = sha256_range(fd, cached[1], n, cached[2].copy())
        else:
            h = sha256_range(fd, 0, n)
        with self._lock:
            self._items[key] = (ino, n, h.copy())
        return str(h.hexdigest())

    def extend(self, key: Any, ino: int, at: int, data: Any) -> None:
        """``data`` was written at ``at`` of the file ``key`` names: go on from a kept prefix that ends there."""
        with self._lock:
            cached = self._items.get(key)
            if at == 0:
                h = hashlib.sha256()
            elif cached is not None and cached[0] == ino and cached[1] == at:
                h = cached[2].copy()
            else:
                return
            h.update(data)
            self._items[key] = (ino, at + len(data), h)

    def forget(self, key: Any) -> None:
        with self._lock:
            self._items.pop(key, None)
