"""Ingest: files arrive as the bytes they are on disk, addressed by (run, file, offset).

STREAM and APPEND files grow only at the server's current length (else 409 with that length);
a STREAM body must be whole valid blocks (and the file header first, at offset 0), each
decompressed within its declared length and decoded (a block that inflates past what it declares,
or declares more than a block may hold, is refused). Each file has a lock, held across threads and
across server processes on one machine (``--workers N``: ``flock`` on a lock file in the root's
hidden ``.locks/`` folder), so two uploaders cannot interleave, and every write is fsynced before
the answer. REPLACE and BLOB files are written whole, atomically. A STREAM file's length is that
of its whole valid blocks: a torn tail a killed server left is cut at the next append.

Nothing is written through a symbolic link: every folder from the root down is opened without
following one (``O_NOFOLLOW``, one folder at a time), and so is the file itself."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import stat
import threading
from pathlib import Path
from types import TracebackType
from typing import Optional

from ..store import artifacts, layout
from ..store.blocks import check_upload, valid_prefix
from .errors import ApiError


class IngestError(ApiError):
    """A refused upload: ``status`` is the HTTP status, ``size`` the server's length for a 409."""

    def __init__(self, status: int, message: str, size: Optional[int] = None) -> None:
        super().__init__(status, message, **({"size": size} if size is not None else {}))
        self.size = size


#: The lock files (``<root>/.locks/<n>.lock``): each path locks one of these, by its hash.
LOCK_DIR = ".locks"
LOCK_STRIPES = 256


class FileLock:
    """The lock of one file: a re-entrant thread lock, then (outermost only) ``flock`` on its lock
    file, so that server processes sharing the root take turns too. Use it as ``with``."""

    def __init__(self, lock_file: Path) -> None:
        self._thread = threading.RLock()
        self._lock_file = lock_file
        self._depth = 0
        self._fd = -1

    def __enter__(self) -> FileLock:
        self._thread.acquire()
        if self._depth == 0:
            try:
                self._lock_file.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self._lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except BaseException:
                    os.close(fd)
                    raise
            except BaseException:
                self._thread.release()
                raise
            self._fd = fd
        self._depth += 1
        return self

    def __exit__(
        self, kind: Optional[type[BaseException]], err: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            fd, self._fd = self._fd, -1
            os.close(fd)  # releases the flock
        self._thread.release()


class Ingest:
    """Writes uploads into the storage root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[Path, FileLock] = {}
        self._locks_lock = threading.Lock()
        # path -> (inode, size, valid length) of its last scan: bytes up to the valid length never
        # change (the file only grows past them), whichever process appends.
        self._valid: dict[Path, tuple[int, int, int]] = {}
        self._sha: dict[Path, tuple[int, int, str]] = {}

    def lock(self, path: Path) -> FileLock:
        """The lock of ``path``, shared by this process's threads and by other processes on this root."""
        with self._locks_lock:
            lock = self._locks.get(path)
            if lock is None:
                stripe = int.from_bytes(hashlib.sha1(os.fsencode(path)).digest()[:4], "big") % LOCK_STRIPES
                lock = self._locks[path] = FileLock(self.root / LOCK_DIR / f"{stripe}.lock")
            return lock

    # ---- opening without following a symbolic link ----

    def _parent_fd(self, path: Path, create: bool) -> int:
        """An open descriptor of ``path``'s folder, reached from the root one folder at a time without
        following a symbolic link (made when ``create``). IngestError 400 on a link or a non-folder;
        FileNotFoundError when missing and not ``create``."""
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            raise IngestError(400, f"{path} is not under the storage root") from None
        parts = rel.parts
        if not parts or any(p in ("", ".", "..") for p in parts):
            raise IngestError(400, f"{rel}: not a file name under the storage root")
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for part in parts[:-1]:
                try:
                    nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    try:
                        os.mkdir(part, 0o755, dir_fd=fd)
                    except FileExistsError:
                        pass
                    nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                except OSError as e:
                    if e.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise IngestError(400, f"{rel}: {part} is not a folder of the storage root (a link?)") from None
                    raise
                os.close(fd)
                fd = nxt
        except BaseException:
            os.close(fd)
            raise
        return fd

    def _open(self, path: Path, flags: int, create: bool) -> int:
        """``path`` opened with ``flags``, never through a symbolic link (see :meth:`_parent_fd`)."""
        dfd = self._parent_fd(path, create)
        try:
            fd = os.open(path.name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=dfd)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise IngestError(400, f"{path.name}: a symbolic link is never written through") from None
            raise
        finally:
            os.close(dfd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise IngestError(400, f"{path.name}: not a regular file")
        return fd

    # ---- lengths ----

    def _stream_size(self, path: Path) -> int:
        """The length of the file's whole valid blocks (under the file's lock). Cached per inode; a
        scan starts again from the last valid length found, since what lies before it never changes."""
        try:
            fd = self._open(path, os.O_RDONLY, create=False)
        except FileNotFoundError:
            self._valid.pop(path, None)
            return 0
        try:
            st = os.fstat(fd)
            cached = self._valid.get(path)
            if cached and cached[0] == st.st_ino and cached[1] == cached[2] == st.st_size:
                return cached[2]  # all whole blocks, and no other process appended since
            start = cached[2] if cached and cached[0] == st.st_ino and st.st_size >= cached[2] else 0
            data = bytearray()
            while True:
                chunk = os.pread(fd, 1 << 22, start + len(data))
                if not chunk:
                    break
                data += chunk
        finally:
            os.close(fd)
        try:
            good, _, _ = valid_prefix(memoryview(data), start == 0)
        except ValueError:
            good = 0
        valid = start + good
        self._valid[path] = (st.st_ino, start + len(data), valid)
        return valid

    def size(self, path: Path, kind: str) -> int:
        """What the server holds of a STREAM/APPEND file (for a STREAM: up to its last whole block)."""
        if kind == layout.STREAM:
            with self.lock(path):
                return self._stream_size(path)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return 0
        return st.st_size if stat.S_ISREG(st.st_mode) else 0

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

    # ---- writes ----

    def append(self, path: Path, kind: str, offset: int, body: bytes) -> int:
        """Append ``body`` at ``offset`` (which must be the current length); the new length."""
        view = memoryview(body)
        with self.lock(path):
            size = self._stream_size(path) if kind == layout.STREAM else self.size(path, kind)
            if offset != size:
                raise IngestError(409, f"offset {offset} is not the server's length {size}", size)
            if kind == layout.STREAM and body:
                try:
                    good, _, why = check_upload(bytes(body), offset == 0)
                except ValueError as e:
                    raise IngestError(400, f"{path.name}: {e}") from None
                if why is not None or good != len(body):
                    raise IngestError(400, f"{path.name}: the body is not whole valid blocks ({why})")
            fd = self._open(path, os.O_WRONLY | os.O_CREAT, create=True)
            try:
                if os.fstat(fd).st_size != offset:  # a torn tail a killed server left
                    os.ftruncate(fd, offset)
                written = 0
                while written < len(view):
                    written += os.pwrite(fd, view[written:], offset + written)
                os.fsync(fd)
            finally:
                os.close(fd)
            if kind == layout.STREAM:
                self._valid[path] = (os.lstat(path).st_ino, offset + len(body), offset + len(body))
            return offset + len(body)

    def replace(self, path: Path, body: bytes) -> int:
        """Write a REPLACE/BLOB file whole, atomically (a temporary file, fsync, rename), never
        through a symbolic link: one in its place is refused (400)."""
        with self.lock(path):
            dfd = self._parent_fd(path, create=True)
            try:
                try:
                    st: Optional[os.stat_result] = os.stat(path.name, dir_fd=dfd, follow_symlinks=False)
                except FileNotFoundError:
                    st = None
                if st is not None and not stat.S_ISREG(st.st_mode):
                    raise IngestError(400, f"{path.name}: not a regular file (a link?): never replaced")
                tmp = f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp"
                flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
                fd = os.open(tmp, flags, 0o644, dir_fd=dfd)
                try:
                    try:
                        view = memoryview(body)
                        written = 0
                        while written < len(view):
                            written += os.write(fd, view[written:])
                        os.fsync(fd)
                    finally:
                        os.close(fd)
                    os.rename(tmp, path.name, src_dir_fd=dfd, dst_dir_fd=dfd)
                except BaseException:
                    try:
                        os.unlink(tmp, dir_fd=dfd)
                    except OSError:
                        pass
                    raise
                os.fsync(dfd)
            finally:
                os.close(dfd)
        return len(body)
