"""Ingest: files arrive as the bytes they are on disk, addressed by (run, file, offset).

STREAM and APPEND files grow only at the server's current length (else 409 with that length);
a STREAM body must be whole CRC-valid blocks (and the file header first, at offset 0). Each file
has a lock so two uploaders cannot interleave, and every write is fsynced before the answer.
REPLACE and BLOB files are written whole, atomically. A STREAM file's length is that of its whole
valid blocks: a torn tail a killed server left is cut at the next append."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Optional

from .. import artifacts
from .._fs import atomic_write_bytes
from ..store import layout
from ..store.blocks import valid_prefix


class IngestError(Exception):
    """A refused upload: ``status`` is the HTTP status, ``size`` the server's length for a 409."""

    def __init__(self, status: int, message: str, size: Optional[int] = None) -> None:
        super().__init__(message)
        self.status = status
        self.size = size


class Ingest:
    """Writes uploads into the storage root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[Path, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self._valid: dict[Path, tuple[int, int, int]] = {}
        self._sha: dict[Path, tuple[int, int, str]] = {}

    def lock(self, path: Path) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(path, threading.Lock())

    def _stream_size(self, path: Path) -> int:
        """The length of the file's whole valid blocks (cached; re-scanned only from where the last
        scan stopped, since the file only grows)."""
        try:
            st = path.stat()
        except FileNotFoundError:
            self._valid.pop(path, None)
            return 0
        cached = self._valid.get(path)
        if cached and cached[0] == st.st_size and cached[1] == st.st_mtime_ns:
            return cached[2]
        start = cached[2] if cached and st.st_size >= cached[0] else 0
        with open(path, "rb") as fh:
            fh.seek(start)
            data = memoryview(fh.read())
        try:
            good, _, _ = valid_prefix(data, start == 0)
        except ValueError:
            good = 0
        valid = start + good
        self._valid[path] = (st.st_size, st.st_mtime_ns, valid)
        return valid

    def size(self, path: Path, kind: str) -> int:
        """What the server holds of a STREAM/APPEND file (for a STREAM: up to its last whole block)."""
        if kind == layout.STREAM:
            with self.lock(path):
                return self._stream_size(path)
        try:
            return path.stat().st_size
        except FileNotFoundError:
            return 0

    def sha256(self, path: Path) -> Optional[str]:
        """The sha256 of a file (cached by size and mtime)."""
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        cached = self._sha.get(path)
        if cached and cached[:2] == (st.st_size, st.st_mtime_ns):
            return cached[2]
        digest = artifacts.sha256_file(path)
        self._sha[path] = (st.st_size, st.st_mtime_ns, digest)
        return digest

    def append(self, path: Path, kind: str, offset: int, body: bytes) -> int:
        """Append ``body`` at ``offset`` (which must be the current length); the new length."""
        view = memoryview(body)
        with self.lock(path):
            size = self._stream_size(path) if kind == layout.STREAM else self.size(path, kind)
            if offset != size:
                raise IngestError(409, f"offset {offset} is not the server's length {size}", size)
            if kind == layout.STREAM and body:
                try:
                    good, _, why = valid_prefix(view, offset == 0)
                except ValueError as e:
                    raise IngestError(400, f"{path.name}: {e}") from None
                if why is not None or good != len(body):
                    raise IngestError(400, f"{path.name}: the body is not whole valid blocks ({why})")
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                if os.fstat(fd).st_size != offset:  # a torn tail a killed server left
                    os.ftruncate(fd, offset)
                written = 0
                while written < len(view):
                    written += os.pwrite(fd, view[written:], offset + written)
                os.fsync(fd)
            finally:
                os.close(fd)
            return offset + len(body)

    def replace(self, path: Path, body: bytes) -> int:
        """Write a REPLACE/BLOB file whole, atomically."""
        with self.lock(path):
            atomic_write_bytes(path, body)
        return len(body)
